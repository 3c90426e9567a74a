package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// safeMessageReader reads the messages of an Arrow IPC stream for
// arrow-go's ipc.Reader, first checking each message's flatbuffer
// metadata: every vector and string must lie inside the message. arrow-go
// trusts the lengths in the metadata and allocates them up front (a
// 40-byte schema message can ask for a 300 GB slice, which no recover
// catches), so state files are checked before it sees them. After the
// check, every count arrow-go allocates by is bounded by the message size.
type safeMessageReader struct {
	r       io.Reader
	mem     memory.Allocator
	maxMeta int
	maxBody int64
	refs    atomic.Int64
	cur     *ipc.Message
}

func newSafeMessageReader(r io.Reader, mem memory.Allocator, maxMeta int, maxBody int64) *safeMessageReader {
	m := &safeMessageReader{r: r, mem: mem, maxMeta: maxMeta, maxBody: maxBody}
	m.refs.Store(1)
	return m
}

func (m *safeMessageReader) Retain() { m.refs.Add(1) }

func (m *safeMessageReader) Release() {
	if m.refs.Add(-1) == 0 && m.cur != nil {
		m.cur.Release()
		m.cur = nil
	}
}

const ipcContinuation = 0xFFFFFFFF

func (m *safeMessageReader) Message() (*ipc.Message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(m.r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read message: %w", noEOF(err))
	}
	cid := binary.LittleEndian.Uint32(hdr[:])
	if cid == 0 {
		return nil, io.EOF
	}
	if cid != ipcContinuation {
		return nil, fmt.Errorf("message without a continuation marker (%08x)", cid)
	}
	if _, err := io.ReadFull(m.r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read message length: %w", noEOF(err))
	}
	n := int64(int32(binary.LittleEndian.Uint32(hdr[:])))
	if n == 0 {
		return nil, io.EOF
	}
	if n < 8 || n > int64(m.maxMeta) {
		return nil, fmt.Errorf("message metadata length %d out of range 8..%d", n, m.maxMeta)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(m.r, meta); err != nil {
		return nil, fmt.Errorf("read message metadata: %w", noEOF(err))
	}
	bodyLen, err := checkMessageFB(meta)
	if err != nil {
		return nil, fmt.Errorf("message metadata: %w", err)
	}
	if bodyLen < 0 || bodyLen > m.maxBody {
		return nil, fmt.Errorf("message body length %d out of range 0..%d", bodyLen, m.maxBody)
	}
	body := memory.NewResizableBuffer(m.mem)
	defer body.Release()
	body.Resize(int(bodyLen))
	if _, err := io.ReadFull(m.r, body.Bytes()); err != nil {
		return nil, fmt.Errorf("read message body: %w", noEOF(err))
	}
	metaBuf := memory.NewBufferBytes(meta)
	msg := ipc.NewMessage(metaBuf, body)
	metaBuf.Release()
	if m.cur != nil {
		m.cur.Release()
	}
	m.cur = msg
	return msg, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fbuf walks a flatbuffer, checking bounds. Table positions and slots
// follow the Arrow format's Message.fbs and Schema.fbs.
type fbuf struct {
	b      []byte
	budget int // tables left to visit: shared subtables cannot blow up the walk
}

var errFB = errors.New("malformed flatbuffer")

func (f *fbuf) u32(p int) (uint32, error) {
	if p < 0 || p+4 > len(f.b) {
		return 0, errFB
	}
	return binary.LittleEndian.Uint32(f.b[p:]), nil
}

func (f *fbuf) u16(p int) (uint16, error) {
	if p < 0 || p+2 > len(f.b) {
		return 0, errFB
	}
	return binary.LittleEndian.Uint16(f.b[p:]), nil
}

// table checks the table at pos and returns it.
func (f *fbuf) table(pos int) (fbTable, error) {
	if f.budget--; f.budget < 0 {
		return fbTable{}, fmt.Errorf("%w: too many tables", errFB)
	}
	so, err := f.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(so))
	vsize, err := f.u16(vt)
	if err != nil || vsize < 4 || vt+int(vsize) > len(f.b) {
		return fbTable{}, errFB
	}
	tsize, err := f.u16(vt + 2)
	if err != nil || pos+int(tsize) > len(f.b) {
		return fbTable{}, errFB
	}
	return fbTable{f: f, pos: pos, vt: vt, vsize: int(vsize), tsize: int(tsize)}, nil
}

type fbTable struct {
	f                     *fbuf
	pos, vt, vsize, tsize int
}

// field returns the position of a slot's value, 0 when absent.
func (t fbTable) field(slot int, size int) (int, error) {
	o := 4 + 2*slot
	if o >= t.vsize { // the flatbuffers runtime's test, to read what it reads
		return 0, nil
	}
	off, err := t.f.u16(t.vt + o)
	if err != nil {
		return 0, err
	}
	if off == 0 {
		return 0, nil
	}
	if int(off)+size > t.tsize {
		return 0, errFB
	}
	return t.pos + int(off), nil
}

func (t fbTable) u8(slot int) (uint8, error) {
	p, err := t.field(slot, 1)
	if err != nil || p == 0 {
		return 0, err
	}
	return t.f.b[p], nil
}

func (t fbTable) i64(slot int) (int64, error) {
	p, err := t.field(slot, 8)
	if err != nil || p == 0 {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(t.f.b[p:])), nil
}

// ref follows an offset field to its target, 0 when absent.
func (t fbTable) ref(slot int) (int, error) {
	p, err := t.field(slot, 4)
	if err != nil || p == 0 {
		return 0, err
	}
	o, err := t.f.u32(p)
	if err != nil {
		return 0, err
	}
	target := p + int(o)
	if target >= len(t.f.b) {
		return 0, errFB
	}
	return target, nil
}

// vector checks a vector of n elements of elem bytes and returns where
// its elements start and n (0, 0 when absent).
func (t fbTable) vector(slot, elem int) (start, n int, err error) {
	p, err := t.ref(slot)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	l, err := t.f.u32(p)
	if err != nil {
		return 0, 0, err
	}
	start = p + 4
	if int64(l)*int64(elem) > int64(len(t.f.b)-start) {
		return 0, 0, fmt.Errorf("%w: a vector of %d elements runs past the message", errFB, l)
	}
	return start, int(l), nil
}

// tables checks a vector of tables with check.
func (t fbTable) tables(slot int, check func(fbTable) error) error {
	start, n, err := t.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		e := start + 4*i
		o, err := t.f.u32(e)
		if err != nil {
			return err
		}
		sub, err := t.f.table(e + int(o))
		if err != nil {
			return err
		}
		if err := check(sub); err != nil {
			return err
		}
	}
	return nil
}

func (t fbTable) sub(slot int) (fbTable, bool, error) {
	p, err := t.ref(slot)
	if err != nil || p == 0 {
		return fbTable{}, false, err
	}
	s, err := t.f.table(p)
	return s, err == nil, err
}

// Message header types (Message.fbs MessageHeader).
const (
	fbSchema          = 1
	fbDictionaryBatch = 2
	fbRecordBatch     = 3
	fbUnion           = 14 // Schema.fbs Type
)

// checkMessageFB checks a message's metadata and returns its body length.
func checkMessageFB(meta []byte) (int64, error) {
	f := &fbuf{b: meta, budget: 1 << 16}
	root, err := f.u32(0)
	if err != nil {
		return 0, err
	}
	msg, err := f.table(int(root))
	if err != nil {
		return 0, err
	}
	htype, err := msg.u8(1)
	if err != nil {
		return 0, err
	}
	hdr, ok, err := msg.sub(2)
	if err != nil || !ok {
		return 0, fmt.Errorf("%w: message without a header", errFB)
	}
	switch htype {
	case fbSchema:
		err = checkSchemaFB(hdr)
	case fbRecordBatch:
		err = checkRecordBatchFB(hdr)
	case fbDictionaryBatch:
		var data fbTable
		if data, ok, err = hdr.sub(1); err == nil && ok {
			err = checkRecordBatchFB(data)
		}
	default:
		err = fmt.Errorf("unexpected message type %d", htype)
	}
	if err != nil {
		return 0, err
	}
	if err := msg.tables(4, checkKeyValueFB); err != nil {
		return 0, err
	}
	return msg.i64(3)
}

func checkSchemaFB(s fbTable) error {
	if err := s.tables(1, func(f fbTable) error { return checkFieldFB(f, 0) }); err != nil {
		return err
	}
	if err := s.tables(2, checkKeyValueFB); err != nil {
		return err
	}
	_, _, err := s.vector(3, 8)
	return err
}

// Field: name, nullable, type_type, type, dictionary, children,
// custom_metadata.
func checkFieldFB(f fbTable, depth int) error {
	if depth > 64 {
		return fmt.Errorf("%w: fields nested too deep", errFB)
	}
	if _, _, err := f.vector(0, 1); err != nil {
		return err
	}
	if typ, ok, err := f.sub(3); err != nil {
		return err
	} else if tt, _ := f.u8(2); ok && tt == fbUnion {
		if _, _, err := typ.vector(1, 4); err != nil { // typeIds
			return err
		}
	}
	if dict, ok, err := f.sub(4); err != nil {
		return err
	} else if ok {
		if _, _, err := dict.sub(1); err != nil {
			return err
		}
	}
	if err := f.tables(5, func(c fbTable) error { return checkFieldFB(c, depth+1) }); err != nil {
		return err
	}
	return f.tables(6, checkKeyValueFB)
}

func checkKeyValueFB(kv fbTable) error {
	if _, _, err := kv.vector(0, 1); err != nil {
		return err
	}
	_, _, err := kv.vector(1, 1)
	return err
}

// RecordBatch: length, nodes (16-byte structs), buffers (16-byte
// structs), compression, variadicBufferCounts (longs, each at most the
// number of buffers).
func checkRecordBatchFB(rb fbTable) error {
	if _, _, err := rb.vector(1, 16); err != nil {
		return err
	}
	_, nbufs, err := rb.vector(2, 16)
	if err != nil {
		return err
	}
	if _, _, err := rb.sub(3); err != nil {
		return err
	}
	start, n, err := rb.vector(4, 8)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		c := int64(binary.LittleEndian.Uint64(rb.f.b[start+8*i:]))
		if c < 0 || c > int64(nbufs) {
			return fmt.Errorf("%w: %d variadic buffers, the batch has %d buffers", errFB, c, nbufs)
		}
	}
	return nil
}
