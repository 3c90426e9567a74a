package kafka

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/protobuf"
	"github.com/sluicehq/sluice/sources"
)

// protoValues decodes Protobuf values: raw messages of protobufSchema, or
// values framed by a schema registry (magic byte 0, 4-byte schema id, the
// message index), decoded by field number into the reader schema's
// message. A value must be of that message (same full name) in its
// writer schema; a different message fails the batch.
type protoValues struct {
	d   *protobuf.Decoder
	reg *registry // nil: raw values
	// writers caches the check of a (schema id, message index) header,
	// keyed by its bytes: nil when the value is the reader's message.
	writers map[string]error
}

func (p *protoValues) Append(v []byte) error {
	if v == nil {
		p.d.AppendNull()
		return nil
	}
	if p.reg == nil {
		if err := p.d.Append(v); err != nil {
			return fmt.Errorf("value is not Protobuf of protobufSchema's %s: %w", p.d.Message().FullName, err)
		}
		return nil
	}
	hlen, err := confluentHeaderLen(v)
	if err != nil {
		return err
	}
	werr, ok := p.writers[string(v[1:hlen])]
	if !ok {
		werr = p.checkWriter(v[:hlen])
		p.writers[string(v[1:hlen])] = werr
	}
	if werr != nil {
		return werr
	}
	if err := p.d.Append(v[hlen:]); err != nil {
		return fmt.Errorf("value of schema %d: %w", binary.BigEndian.Uint32(v[1:5]), err)
	}
	return nil
}

// confluentHeaderLen is the length of the header: magic byte, schema id
// and the message index (zigzag varints: a count, then that many
// indexes; a single 0 stands for [0]).
func confluentHeaderLen(v []byte) (int, error) {
	bad := fmt.Errorf("value is not framed by a schema registry (magic byte 0, a schema id and a Protobuf message index): %w", sr.ErrBadHeader)
	if len(v) < 6 || v[0] != 0 {
		return 0, bad
	}
	pos := 5
	n, k := binary.Varint(v[pos:])
	if k <= 0 || n < 0 || n > 64 {
		return 0, bad
	}
	pos += k
	for i := int64(0); i < n; i++ {
		if _, k = binary.Varint(v[pos:]); k <= 0 {
			return 0, bad
		}
		pos += k
	}
	return pos, nil
}

// checkWriter fetches the writer schema of a header and checks that its
// message is the reader's.
func (p *protoValues) checkWriter(h []byte) error {
	var ch sr.ConfluentHeader
	id, rest, err := ch.DecodeID(h)
	if err != nil {
		return err
	}
	index, _, err := ch.DecodeIndex(rest, 64)
	if err != nil {
		return fmt.Errorf("bad Protobuf message index after schema id %d: %w", id, err)
	}
	ws, err := p.reg.protoSchema(id)
	if err != nil {
		return err
	}
	m, err := ws.MessageAt(index)
	if err != nil {
		return fmt.Errorf("schema %d: %w", id, err)
	}
	if want := p.d.Message().FullName; m.FullName != want {
		return fmt.Errorf("value of schema %d is message %s, but the source reads %s (subject %s); set protobufMessage, or read the topics separately", id, m.FullName, want, p.reg.subject)
	}
	return nil
}

func (p *protoValues) Len() int                    { return p.d.Len() }
func (p *protoValues) NewBatch() arrow.RecordBatch { return p.d.NewBatch() }
func (p *protoValues) Release()                    { p.d.Release() }

// latestProto reads the subject's latest schema and returns its message
// name (default the first): the reader message.
func (r *registry) latestProto(name string) (*protobuf.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	ss, err := r.cl.SchemaByVersion(ctx, r.subject, -1)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema registry %s: latest schema of subject %q: %w", sources.ErrSource, r.url, r.subject, err)
	}
	s, err := r.parseProto(ctx, ss.Schema, ss.ID)
	if err != nil {
		return nil, err
	}
	m, err := s.Message(name)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: option protobufMessage: %w", sources.ErrSource, ss.ID, r.subject, err)
	}
	r.readerID = ss.ID
	return m, nil
}

// protoSchema returns writer schema id, from the cache or the registry.
func (r *registry) protoSchema(id int) (*protobuf.Schema, error) {
	r.mu.Lock()
	s, ok := r.protos[id]
	r.mu.Unlock()
	if ok {
		return s, nil
	}
	sch, err := r.fetch(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	return r.parseProto(ctx, sch, id) // its references take their own requests
}

// parseProto parses a Protobuf schema with its references (other
// subjects' schemas, imported by the reference's name), fetched
// recursively.
func (r *registry) parseProto(ctx context.Context, s sr.Schema, id int) (*protobuf.Schema, error) {
	if s.Type != sr.TypeProtobuf {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q is %s, not Protobuf; valueFormat protobuf reads Protobuf only", sources.ErrSource, id, r.subject, s.Type)
	}
	root, err := protobuf.ParseFile("", s.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, id, r.subject, err)
	}
	imports := map[string]*protobuf.File{}
	if err := r.references(ctx, s.References, imports, 0); err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, id, r.subject, err)
	}
	ps, err := protobuf.Compile(root, imports)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka source: schema %d of subject %q: %w", sources.ErrSource, id, r.subject, err)
	}
	r.mu.Lock()
	r.protos[id] = ps
	r.mu.Unlock()
	return ps, nil
}

func (r *registry) references(ctx context.Context, refs []sr.SchemaReference, into map[string]*protobuf.File, depth int) error {
	if depth > 32 {
		return fmt.Errorf("schema references nested more than 32 deep")
	}
	for _, ref := range refs {
		if _, done := into[ref.Name]; done {
			continue
		}
		ss, err := r.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return fmt.Errorf("reference %q (subject %q version %d) at schema registry %s: %w", ref.Name, ref.Subject, ref.Version, r.url, err)
		}
		f, err := protobuf.ParseFile(ref.Name, ss.Schema.Schema)
		if err != nil {
			return fmt.Errorf("reference %q (subject %q version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
		into[ref.Name] = f
		if err := r.references(ctx, ss.Schema.References, into, depth+1); err != nil {
			return err
		}
	}
	return nil
}
