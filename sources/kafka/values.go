package kafka

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/avro"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/protobuf"
	"github.com/sluicehq/sluice/sources"
)

// valueDecoder turns record values into the columns of the value struct
// (valueFormat json or avro), one or more rows per value.
type valueDecoder interface {
	// Append decodes one value; nil is a NULL value (a tombstone), which
	// adds a row the caller marks NULL.
	Append(value []byte) error
	Len() int
	NewBatch() arrow.RecordBatch
	Release()
}

// jsonValues decodes JSON values with the JSON file format's scanner.
type jsonValues struct{ *fileformat.JSONDecoder }

var emptyObject = []byte("{}")

func (j jsonValues) Append(v []byte) error {
	if v == nil {
		v = emptyObject // a row of NULL fields under the NULL struct
	}
	if err := j.JSONDecoder.Append(v); err != nil {
		return fmt.Errorf("value does not match valueSchema: %w", err)
	}
	return nil
}

// avroValues decodes Avro values: raw datums of the reader schema, or
// values framed by a schema registry (magic byte 0, 4-byte schema id),
// each read with its writer schema resolved against the reader's.
type avroValues struct {
	d     *avro.Decoder
	reg   *registry // nil: raw values
	progs map[int]*avro.Program
}

func (a *avroValues) Append(v []byte) error {
	if v == nil {
		a.d.AppendNull()
		return nil
	}
	if a.reg == nil {
		if err := a.d.Append(v); err != nil {
			return fmt.Errorf("value is not Avro of avroSchema: %w", err)
		}
		return nil
	}
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(v)
	if err != nil {
		return fmt.Errorf("value is not framed by a schema registry (magic byte 0 and a schema id): %w", err)
	}
	p, ok := a.progs[id]
	if !ok {
		ws, err := a.reg.schema(id)
		if err != nil {
			return err
		}
		if p, err = a.d.Program(ws); err != nil {
			return fmt.Errorf("writer schema %d cannot be read as subject %s's schema %d: %w", id, a.reg.subject, a.reg.readerID, err)
		}
		a.progs[id] = p
	}
	if err := p.Append(rest); err != nil {
		return fmt.Errorf("value of schema %d: %w", id, err)
	}
	return nil
}

func (a *avroValues) Len() int                    { return a.d.Len() }
func (a *avroValues) NewBatch() arrow.RecordBatch { return a.d.NewBatch() }
func (a *avroValues) Release()                    { a.d.Release() }

// registry is a schema registry client with a cache of parsed schemas
// by id, shared by the source's readers.
type registry struct {
	cl       *sr.Client
	url      string // redacted, for messages
	subject  string
	readerID int
	timeout  time.Duration

	mu      sync.Mutex
	schemas map[int]*avro.Schema
	protos  map[int]*protobuf.Schema
}

func newRegistry(o *Options, subject string, timeout time.Duration) (*registry, error) {
	opts := []sr.ClientOpt{sr.URLs(o.SchemaRegistryURL), sr.UserAgent("sluice")}
	if user, pass, ok := strings.Cut(o.SchemaRegistryUserInfo, ":"); ok {
		opts = append(opts, sr.BasicAuth(user, pass))
	}
	shown := o.SchemaRegistryURL
	if u, err := url.Parse(shown); err == nil {
		shown = u.Redacted()
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema registry %s: %w", sources.ErrSource, shown, err)
	}
	return &registry{cl: cl, url: shown, subject: subject, timeout: timeout, schemas: map[int]*avro.Schema{}, protos: map[int]*protobuf.Schema{}}, nil
}

// latest fetches the subject's latest schema: the reader schema.
func (r *registry) latest() (*avro.Schema, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	ss, err := r.cl.SchemaByVersion(ctx, r.subject, -1)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema registry %s: latest schema of subject %q: %w", sources.ErrSource, r.url, r.subject, err)
	}
	s, err := r.parse(ss.Schema, ss.ID)
	if err != nil {
		return nil, err
	}
	r.readerID = ss.ID
	return s, nil
}

func (r *registry) parse(s sr.Schema, id int) (*avro.Schema, error) {
	if s.Type != sr.TypeAvro && s.Type != 0 {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q is %s, not Avro; valueFormat avro reads Avro only", sources.ErrSource, id, r.subject, s.Type)
	}
	if len(s.References) > 0 {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q references other schemas, which is not supported yet", sources.ErrSource, id, r.subject)
	}
	as, err := avro.Parse(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, id, r.subject, err)
	}
	r.mu.Lock()
	r.schemas[id] = as
	r.mu.Unlock()
	return as, nil
}

// schema returns writer schema id, from the cache or the registry.
func (r *registry) schema(id int) (*avro.Schema, error) {
	r.mu.Lock()
	s, ok := r.schemas[id]
	r.mu.Unlock()
	if ok {
		return s, nil
	}
	sch, err := r.fetch(id)
	if err != nil {
		return nil, err
	}
	return r.parse(sch, id)
}

// fetch asks the registry for schema id (Avro or Protobuf): "has no
// schema" when the registry answers so, the transport's error otherwise.
func (r *registry) fetch(id int) (sr.Schema, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	sch, err := r.cl.SchemaByID(ctx, id)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) {
			return sch, fmt.Errorf("schema registry %s has no schema %d: %w", r.url, id, err)
		}
		return sch, fmt.Errorf("schema registry %s: schema %d: %w", r.url, id, err)
	}
	return sch, nil
}

// setupValues fills r.valueSchema for valueFormat avro with a registry
// (the latest schema of the subject, fetched now) and returns the factory
// of the readers' value decoders (nil for binary values).
func (s *Source) setupValues() (func(memory.Allocator) (valueDecoder, error), error) {
	switch strings.ToLower(s.o.ValueFormat) {
	case "json":
		opts := s.o.ValueOptions
		schema := s.r.valueSchema
		return func(mem memory.Allocator) (valueDecoder, error) {
			dec, err := fileformat.NewJSONDecoder(schema, mem, opts)
			if err != nil {
				return nil, fmt.Errorf("%w: kafka source: valueSchema/valueOptions: %w", sources.ErrSource, err)
			}
			return jsonValues{dec}, nil
		}, nil
	case "avro":
		reader := s.r.avroSchema
		var reg *registry
		if s.r.subject != "" {
			var err error
			if reg, err = newRegistry(&s.o, s.r.subject, min(s.r.pollTimeout, 30*time.Second)); err != nil {
				return nil, err
			}
			if reader, err = reg.latest(); err != nil {
				return nil, err
			}
			if s.r.valueSchema, err = reader.ArrowSchema(); err != nil {
				return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, reg.readerID, reg.subject, err)
			}
		}
		return func(mem memory.Allocator) (valueDecoder, error) {
			d, err := avro.NewDecoder(reader, mem)
			if err != nil {
				return nil, fmt.Errorf("%w: kafka source: %w", sources.ErrSource, err)
			}
			return &avroValues{d: d, reg: reg, progs: map[int]*avro.Program{}}, nil
		}, nil
	case "protobuf":
		msg := s.r.protoMsg
		var reg *registry
		if s.r.subject != "" {
			var err error
			if reg, err = newRegistry(&s.o, s.r.subject, min(s.r.pollTimeout, 30*time.Second)); err != nil {
				return nil, err
			}
			if msg, err = reg.latestProto(s.o.ProtobufMessage); err != nil {
				return nil, err
			}
			if s.r.valueSchema, err = msg.ArrowSchema(); err != nil {
				return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, reg.readerID, reg.subject, err)
			}
		}
		return func(mem memory.Allocator) (valueDecoder, error) {
			d, err := protobuf.NewDecoder(msg, mem)
			if err != nil {
				return nil, fmt.Errorf("%w: kafka source: %w", sources.ErrSource, err)
			}
			return &protoValues{d: d, reg: reg, writers: map[string]error{}}, nil
		}, nil
	}
	return nil, nil
}
