package state

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// metadataFile is state/<op>/_metadata, JSON:
//
//	{"version":1,"operatorId":0,"operatorName":"aggregate","numPartitions":4,
//	 "stores":[{"name":"","keyColumns":["user_id: int64",...],"valueColumns":[...],
//	            "keySchema":"<base64 Arrow IPC schema>","valueSchema":"..."}]}
//
// The *Columns lists are for people; the schemas are the exact types,
// serialised as Arrow IPC streams holding only a schema.
type metadataFile struct {
	Version       int         `json:"version"`
	OperatorID    int         `json:"operatorId"`
	OperatorName  string      `json:"operatorName,omitempty"`
	NumPartitions int         `json:"numPartitions"`
	Stores        []storeMeta `json:"stores"`
}

type storeMeta struct {
	Name         string   `json:"name"`
	KeyColumns   []string `json:"keyColumns"`
	ValueColumns []string `json:"valueColumns"`
	KeySchema    string   `json:"keySchema"`
	ValueSchema  string   `json:"valueSchema"`
}

const metadataVersion = 1

func metadataPath(stateDir string, op int) string {
	return path.Join(stateDir, fmt.Sprint(op), "_metadata")
}

// EncodeMetadata renders the _metadata file of an operator's state.
func EncodeMetadata(spec OperatorSpec) ([]byte, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := metadataFile{Version: metadataVersion, OperatorID: spec.ID, OperatorName: spec.Name, NumPartitions: spec.NumPartitions}
	for _, st := range spec.Stores {
		ks, err := encodeSchema(st.Key)
		if err != nil {
			return nil, err
		}
		vs, err := encodeSchema(st.Value)
		if err != nil {
			return nil, err
		}
		m.Stores = append(m.Stores, storeMeta{Name: st.Name, KeyColumns: describe(st.Key), ValueColumns: describe(st.Value), KeySchema: ks, ValueSchema: vs})
	}
	return json.MarshalIndent(m, "", "  ")
}

// DecodeMetadata parses a _metadata file; name is the file, for errors.
func DecodeMetadata(name string, data []byte) (OperatorSpec, error) {
	var m metadataFile
	if err := json.Unmarshal(data, &m); err != nil {
		return OperatorSpec{}, corruptf(name, "not the JSON of a state metadata file: %v", err)
	}
	if m.Version != metadataVersion {
		return OperatorSpec{}, corruptf(name, "metadata version %d; this build reads version %d", m.Version, metadataVersion)
	}
	spec := OperatorSpec{ID: m.OperatorID, Name: m.OperatorName, NumPartitions: m.NumPartitions}
	for i, st := range m.Stores {
		k, err := decodeSchema(st.KeySchema)
		if err != nil {
			return OperatorSpec{}, corruptf(name, "store %d key schema: %v", i, err)
		}
		v, err := decodeSchema(st.ValueSchema)
		if err != nil {
			return OperatorSpec{}, corruptf(name, "store %d value schema: %v", i, err)
		}
		spec.Stores = append(spec.Stores, StoreSpec{Name: st.Name, Key: k, Value: v})
	}
	if err := spec.Validate(); err != nil {
		return OperatorSpec{}, corruptf(name, "%v", err)
	}
	return spec, nil
}

func describe(s *arrow.Schema) []string {
	out := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		out = append(out, f.Name+": "+f.Type.String())
	}
	return out
}

func encodeSchema(s *arrow.Schema) (string, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func decodeSchema(b64 string) (*arrow.Schema, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	if len(raw) > 1<<20 {
		return nil, fmt.Errorf("schema of %d bytes is implausibly large", len(raw))
	}
	var s *arrow.Schema
	err = guard(func() error {
		mem := &limitAllocator{mem: memory.DefaultAllocator, max: 1 << 20}
		mr := newSafeMessageReader(bytes.NewReader(raw), mem, 1<<20, 1<<20)
		r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(mem))
		if err != nil {
			return err
		}
		defer r.Release()
		s = r.Schema()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("no schema")
	}
	return s, nil
}

// checkCompatible reports how spec (the query) differs from stored (the
// checkpoint), or nil when the state can be used. Names of columns may
// differ (as in Spark); counts and types may not.
func checkCompatible(stored, spec *OperatorSpec) error {
	op := spec.label()
	if stored.NumPartitions != spec.NumPartitions {
		return fmt.Errorf("%w: operator %s: the checkpoint's state has %d shuffle partitions and the query asks for %d; "+
			"the partition count is fixed for the life of a checkpoint (state is split by key hash): "+
			"set the shuffle partitions back to %d, or start the query with a new checkpoint location",
			ErrPartitionsChanged, op, stored.NumPartitions, spec.NumPartitions, stored.NumPartitions)
	}
	var problems []string
	for _, st := range spec.Stores {
		old, ok := stored.store(st.Name)
		if !ok {
			problems = append(problems, fmt.Sprintf("store %q is not in the checkpoint (it has %s)", st.Name, storeNames(stored)))
			continue
		}
		problems = append(problems, diffColumns(st.Name, "key", old.Key, st.Key)...)
		problems = append(problems, diffColumns(st.Name, "value", old.Value, st.Value)...)
	}
	for _, st := range stored.Stores {
		if _, ok := spec.store(st.Name); !ok {
			problems = append(problems, fmt.Sprintf("store %q of the checkpoint is not in the query", st.Name))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: operator %s: %s; a checkpoint's state cannot change shape: "+
		"restore the query's previous grouping keys and aggregates, or start it with a new checkpoint location",
		ErrSchemaChanged, op, strings.Join(problems, "; "))
}

func storeNames(s *OperatorSpec) string {
	var names []string
	for _, st := range s.Stores {
		names = append(names, fmt.Sprintf("%q", st.Name))
	}
	return strings.Join(names, ", ")
}

func diffColumns(store, what string, old, cur *arrow.Schema) []string {
	prefix := what
	if store != "" {
		prefix = fmt.Sprintf("store %q %s", store, what)
	}
	var out []string
	n := min(old.NumFields(), cur.NumFields())
	for i := 0; i < n; i++ {
		of, cf := old.Field(i), cur.Field(i)
		if !arrow.TypeEqual(of.Type, cf.Type) {
			out = append(out, fmt.Sprintf("%s column %d %q was %s in the checkpoint and is %s in the query", prefix, i, cf.Name, of.Type, cf.Type))
		}
	}
	for i := n; i < cur.NumFields(); i++ {
		out = append(out, fmt.Sprintf("%s column %d %q (%s) was added (the checkpoint has %d %s columns)", prefix, i, cur.Field(i).Name, cur.Field(i).Type, old.NumFields(), what))
	}
	for i := n; i < old.NumFields(); i++ {
		out = append(out, fmt.Sprintf("%s column %d %q (%s) of the checkpoint was dropped (the query has %d %s columns)", prefix, i, old.Field(i).Name, old.Field(i).Type, cur.NumFields(), what))
	}
	return out
}

// loadOrCreateMetadata reads the operator's _metadata, creating it from
// spec if absent, and checks that spec fits it.
func loadOrCreateMetadata(ctx context.Context, fsys storage.FS, stateDir string, spec *OperatorSpec) error {
	p := metadataPath(stateDir, spec.ID)
	for attempt := 0; ; attempt++ {
		data, err := fsys.ReadFile(ctx, p)
		if err == nil {
			stored, err := DecodeMetadata(p, data)
			if err != nil {
				return err
			}
			if stored.ID != spec.ID {
				return corruptf(p, "describes operator %d, expected %d (a misplaced file?)", stored.ID, spec.ID)
			}
			return checkCompatible(&stored, spec)
		}
		if !errors.Is(err, storage.ErrNotExist) || attempt > 0 {
			return fmt.Errorf("state: operator %s: read %s: %w", spec.label(), p, err)
		}
		data, err = EncodeMetadata(*spec)
		if err != nil {
			return err
		}
		err = fsys.WriteFile(ctx, p, data, storage.WriteOptions{CreateIfAbsent: true})
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrExist) {
			return fmt.Errorf("state: operator %s: write %s: %w", spec.label(), p, err)
		}
		// another starter created it: check against theirs
	}
}
