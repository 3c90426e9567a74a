package files

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// world is an in-memory storage whose file modification times the test
// sets: put writes a file stamped at the given second.
type world struct {
	t   *testing.T
	fs  *storage.Mem
	mu  sync.Mutex
	now time.Time
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, fs: storage.NewMem(), now: time.Unix(1_700_000_000, 0)}
	w.fs.SetClock(func() time.Time {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.now
	})
	return w
}

func (w *world) put(name string, sec int, data string) {
	w.t.Helper()
	w.mu.Lock()
	w.now = time.Unix(1_700_000_000+int64(sec), 0)
	w.mu.Unlock()
	if err := w.fs.WriteFile(context.Background(), name, []byte(data), storage.WriteOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) exists(name string) bool {
	_, err := w.fs.Stat(context.Background(), name)
	return err == nil
}

// engine drives a source the way the micro-batch loop does.
type engine struct {
	t         *testing.T
	s         *Source
	mem       memory.Allocator
	committed sources.Offset
}

// step runs one trigger: LatestOffset, Commit of the previous batch,
// GetBatch, Commit. It returns the end offset and the rows read (nil if
// there was no new data).
func (e *engine) step() (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	end, err := e.s.LatestOffset(ctx, e.committed, e.s.DefaultReadLimit())
	if err != nil {
		e.t.Fatal(err)
	}
	if string(end) == string(e.committed) {
		return string(end), nil
	}
	rows := readAll(e.t, e.s, e.committed, end)
	if err := e.s.Commit(ctx, end); err != nil {
		e.t.Fatal(err)
	}
	e.committed = end
	return string(end), rows
}

func readAll(t *testing.T, s *Source, start, end sources.Offset) []string {
	t.Helper()
	rows, err := tryReadAll(s, start, end)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func tryReadAll(s *Source, start, end sources.Offset) ([]string, error) {
	rr, err := s.GetBatch(context.Background(), start, end)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out []string
	for rr.Next() {
		b := rr.RecordBatch()
		if !b.Schema().Equal(s.Schema()) {
			return nil, &schemaErr{got: b.Schema().String(), want: s.Schema().String()}
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var cells []string
			for c := 0; c < int(b.NumCols()); c++ {
				cells = append(cells, expr.FormatValue(expr.ValueAt(b.Column(c), i), b.Schema().Field(c).Type, false))
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	return out, rr.Err()
}

type schemaErr struct{ got, want string }

func (e *schemaErr) Error() string { return "batch schema " + e.got + " != source schema " + e.want }

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

var pqSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// pqBatch makes rows lo..hi-1: id=i, x=i/2, s="s<i>".
func pqBatch(mem memory.Allocator, lo, hi int) arrow.RecordBatch {
	ib := array.NewInt64Builder(mem)
	fb := array.NewFloat64Builder(mem)
	sb := array.NewStringBuilder(mem)
	defer ib.Release()
	defer fb.Release()
	defer sb.Release()
	for i := lo; i < hi; i++ {
		ib.Append(int64(i))
		fb.Append(float64(i) / 2)
		sb.Append(fmt.Sprintf("s%d", i))
	}
	cols := []arrow.Array{ib.NewArray(), fb.NewArray(), sb.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(pqSchema, cols, int64(hi-lo))
}

func writeParquet(t testing.TB, mem memory.Allocator, fsys storage.FS, name string, lo, hi int) {
	t.Helper()
	ctx := context.Background()
	w, err := fsys.Create(ctx, name, storage.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := fileformat.Parquet{}.NewWriter(w, pqSchema, fileformat.WriteOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	b := pqBatch(mem, lo, hi)
	defer b.Release()
	if err := pw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
