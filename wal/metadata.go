package wal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
)

// Metadata is the checkpoint's metadata file, {"id":"<uuid>"}: the query's
// identity, fixed when the checkpoint is created and kept across restarts
// (Spark's query id). Unknown fields are ignored.
type Metadata struct {
	ID string `json:"id"`
}

// EncodeMetadata renders m.
func EncodeMetadata(m Metadata) ([]byte, error) {
	if m.ID == "" {
		return nil, errors.New("wal: encode metadata: empty query id")
	}
	return json.Marshal(m)
}

// DecodeMetadata parses the metadata file; name is the file, for error
// messages.
func DecodeMetadata(name string, data []byte) (Metadata, error) {
	if !isObject(data) {
		return Metadata{}, corrupt(name, "want a JSON object like {\"id\":\"<uuid>\"}, got "+clip(data))
	}
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return Metadata{}, corrupt(name, err.Error())
	}
	if m.ID == "" {
		return Metadata{}, corrupt(name, "the query id is missing or empty")
	}
	return m, nil
}

// LoadOrCreateMetadata reads the metadata file p, creating it with a new
// id (from newID, or a random UUID when nil) if it does not exist. Two
// starters racing agree on the id: the loser reads the winner's file.
func LoadOrCreateMetadata(ctx context.Context, fsys storage.FS, p string, newID func() string) (Metadata, error) {
	for attempt := 0; ; attempt++ {
		data, err := fsys.ReadFile(ctx, p)
		if err == nil {
			return DecodeMetadata(p, data)
		}
		if !errors.Is(err, storage.ErrNotExist) || attempt > 0 {
			return Metadata{}, fmt.Errorf("wal: read checkpoint metadata: %w", err)
		}
		if newID == nil {
			newID = NewUUID
		}
		data, err = EncodeMetadata(Metadata{ID: newID()})
		if err != nil {
			return Metadata{}, err
		}
		err = fsys.WriteFile(ctx, p, data, storage.WriteOptions{CreateIfAbsent: true})
		if err == nil {
			return DecodeMetadata(p, data)
		}
		if !errors.Is(err, storage.ErrExist) {
			return Metadata{}, fmt.Errorf("wal: create checkpoint metadata: %w", err)
		}
		// another starter won: read its id
	}
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
