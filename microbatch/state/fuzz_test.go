package state

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicehq/sluice/internal/storage"
)

// FuzzStateMetadata: decoding any _metadata content fails cleanly or gives
// a spec that encodes and decodes to itself.
func FuzzStateMetadata(f *testing.F) {
	spec := pairSpec(4)
	good, err := EncodeMetadata(spec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	spec.Stores = append(spec.Stores, StoreSpec{Name: "right",
		Key:   arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil),
		Value: arrow.NewSchema(nil, nil)})
	if b, err := EncodeMetadata(spec); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"operatorId":0,"numPartitions":1,"stores":[]}`))
	f.Add([]byte(`{"version":1,"stores":[{"keySchema":"QUJD","valueSchema":""}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := DecodeMetadata("fuzz", data)
		if err != nil {
			return
		}
		again, err := EncodeMetadata(spec)
		if err != nil {
			t.Fatalf("decoded spec does not encode: %v", err)
		}
		back, err := DecodeMetadata("fuzz", again)
		if err != nil {
			t.Fatalf("re-encoded metadata does not decode: %v", err)
		}
		if err := checkCompatible(&back, &spec); err != nil {
			t.Fatalf("round trip changed the spec: %v", err)
		}
	})
}

// FuzzDeltaFile: applying any bytes as a delta file fails with an error or
// applies cleanly; never a panic, never a leak. With wrap set the input is
// the body of a file with a valid header and checksum (codec from the low
// of codec%3), so mutations reach the zstd, unshuffle and Arrow IPC decoders.
func FuzzDeltaFile(f *testing.F) {
	defer func(m int64) { maxMessageBytes = m }(maxMessageBytes)
	maxMessageBytes = 1 << 20
	for i, b := range seedDeltas(f) {
		v := int64(i + 1)
		rows, _, _, _ := checkFrame("seed", b)
		f.Add(b, false, byte(0), uint64(0), v)
		_, codec, body, _ := checkFrame("seed", b)
		f.Add(body, true, codec, uint64(rows), v)
		if raw := unzstdBody(f, b); raw != nil {
			f.Add(raw, true, byte(codecNone), uint64(rows), v)
			z, err := encodeZstd(raw)
			must(f, err)
			f.Add(z, true, byte(codecZstd), uint64(rows), v)
		}
	}
	f.Add([]byte("SLSTATE\x00"), false, byte(0), uint64(0), int64(1))
	spec := pairSpec(1).Stores[0]
	ktypes, vtypes := schemaTypes(spec.Key), schemaTypes(spec.Value)
	dtypes := append(append(append([]arrow.DataType{}, ktypes...), vtypes...), arrow.FixedWidthTypes.Boolean)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool, codec byte, rows uint64, version int64) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		if wrap {
			data = frame(data, codec%3, rows)
		}
		tb, err := newTable(mem, ktypes, vtypes)
		if err != nil {
			t.Fatal(err)
		}
		hdr := fileHeader{kind: kindDelta, version: version, operator: 0, partition: 0}
		err = applyDelta(tb, "fuzz.delta", data, hdr, dtypes, mem)
		if err == nil {
			all := tb.liveSlots(nil, 0, tb.n)
			ks, err := tb.keys(mem, all)
			if err != nil {
				t.Fatal(err)
			}
			vs, err := tb.values(mem, all)
			if err != nil {
				t.Fatal(err)
			}
			releaseAll(ks)
			releaseAll(vs)
		}
		tb.release()
		if err == nil {
			mem.AssertSize(t, 0)
		}
	})
}

// seedDeltas writes a few real delta files.
func seedDeltas(f *testing.F) [][]byte {
	fsys := storage.NewMem()
	mem := memory.NewGoAllocator()
	op, st := openStore(f, fsys, pairSpec(1), Options{Mem: mem, SnapshotInterval: -1})
	defer op.Close()
	must(f, st.Load(ctx, 0))
	mustCommit(f, st) // empty
	k := i64s(mem, []int64{1, 2, 3}, []bool{true, false, true})
	c := i64s(mem, []int64{5, 6, 7}, []bool{true, true, false})
	must(f, st.Put([]arrow.Array{k, k}, []arrow.Array{c}))
	mustCommit(f, st)
	_, err := st.Delete([]arrow.Array{k, k})
	must(f, err)
	mustCommit(f, st)
	k.Release()
	c.Release()
	var out [][]byte
	for _, v := range []string{"1", "2", "3"} {
		b, err := fsys.ReadFile(ctx, "ckpt/state/0/0/"+v+".delta")
		must(f, err)
		out = append(out, b)
	}
	return out
}

func unzstdBody(f testing.TB, b []byte) []byte {
	_, codec, body, err := checkFrame("seed", b)
	if err != nil || (codec != codecZstd && codec != codecZstdShuffled) {
		return nil
	}
	dec := decoderPool.Get().(interface {
		DecodeAll([]byte, []byte) ([]byte, error)
	})
	raw, err := dec.DecodeAll(body, nil)
	decoderPool.Put(dec)
	if err != nil {
		return nil
	}
	if codec == codecZstdShuffled {
		plain, err := io.ReadAll(newUnshuffleReader(bytes.NewReader(raw)))
		if err != nil {
			return nil
		}
		raw = plain
	}
	return raw
}

// encodeZstd compresses a plain IPC stream as codec 1 (what earlier
// writers made).
func encodeZstd(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	zw := encoderPool.Get().(*zstd.Encoder)
	defer encoderPool.Put(zw)
	zw.Reset(&b)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func frame(body []byte, codec byte, rows uint64) []byte {
	var b bytes.Buffer
	var hdr [headerLen]byte
	copy(hdr[:], fileMagic)
	binary.LittleEndian.PutUint16(hdr[8:], fileFormat)
	hdr[10] = codec
	b.Write(hdr[:])
	b.Write(body)
	var tr [trailerLen]byte
	binary.LittleEndian.PutUint64(tr[0:], rows)
	copy(tr[12:], trailMagic)
	binary.LittleEndian.PutUint32(tr[8:], crc32.Checksum(b.Bytes(), castagnoli))
	b.Write(tr[:])
	return b.Bytes()
}
