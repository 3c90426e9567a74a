package state

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/storage"
)

// Benchmarks of the targets, one core: taskset -c 0 go test -run XXX
// -bench . ./microbatch/state/. Local disk (fsync'd writes) and Mem.

type benchFS struct {
	name string
	fs   func(b *testing.B) (storage.FS, string)
}

var benchFSs = []benchFS{
	{"mem", func(b *testing.B) (storage.FS, string) { return storage.NewMem(), "/ckpt/state" }},
	{"local", func(b *testing.B) (storage.FS, string) { return storage.Local{}, filepath.Join(b.TempDir(), "state") }},
}

// fillPairs puts n distinct (i, i%97) -> i keys, 65536 per call.
func fillPairs(tb testing.TB, st *Store, mem memory.Allocator, n int) {
	const chunk = 1 << 16
	a := make([]int64, chunk)
	w := make([]int64, chunk)
	for lo := 0; lo < n; lo += chunk {
		m := min(chunk, n-lo)
		for i := range m {
			a[i] = int64(lo + i)
			w[i] = int64((lo + i) % 97 * 300_000)
		}
		ka := i64s(mem, a[:m], nil)
		kw := i64s(mem, w[:m], nil)
		must(tb, st.Put([]arrow.Array{ka, kw}, []arrow.Array{ka}))
		ka.Release()
		kw.Release()
	}
}

// BenchmarkRestore1M: restoring 1M keys of count state: (int64, int64)
// keys and the clicks store's (window, user_id) keys with their event
// times, from a snapshot, from one delta, and from a snapshot plus 9
// deltas of 100K changes each (updates, new keys, removals: what a
// restart after a crash reads). Target: under 1 s.
func BenchmarkRestore1M(b *testing.B) {
	shapes := []struct {
		name string
		spec OperatorSpec
		opts Options
		keys func(mem memory.Allocator, lo, hi int) []arrow.Array
	}{
		{"pair", pairSpec(1), Options{}, pairKeys},
		{"window", windowSpec(), Options{EventTime: windowEnd}, windowKeys},
	}
	for _, bf := range benchFSs {
		for _, sh := range shapes {
			for _, from := range []string{"snapshot", "delta", "snapshot+9deltas"} {
				b.Run(bf.name+"/"+sh.name+"/"+from, func(b *testing.B) {
					mem := memory.NewGoAllocator()
					fsys, dir := bf.fs(b)
					opts := sh.opts
					opts.Mem = mem
					opts.SnapshotInterval = 1
					if from == "delta" {
						opts.SnapshotInterval = -1
					}
					op, err := OpenOperator(ctx, fsys, dir, sh.spec, opts)
					must(b, err)
					st, _ := op.Store(0, "")
					must(b, st.Load(ctx, 0))
					putCounts(b, st, mem, sh.keys, 0, 1_000_000)
					v := mustCommit(b, st)
					must(b, st.Flush(ctx))
					var fileBytes int64 = st.Metrics().CommitBytes
					if from == "snapshot" {
						fileBytes = st.Metrics().SnapshotBytes
					}
					op.Close()
					if from == "snapshot+9deltas" {
						opts.SnapshotInterval = -1
						op, err = OpenOperator(ctx, fsys, dir, sh.spec, opts)
						must(b, err)
						st, _ = op.Store(0, "")
						must(b, st.Load(ctx, v))
						for d := range 9 {
							// 90K updates, 10K new keys, 10K removals.
							lo := d * 100_000
							putCounts(b, st, mem, sh.keys, lo, lo+90_000)
							putCounts(b, st, mem, sh.keys, 1_000_000+d*10_000, 1_000_000+(d+1)*10_000)
							keys := sh.keys(mem, lo+90_000, lo+100_000)
							_, err := st.Delete(keys)
							releaseAll(keys)
							must(b, err)
							v = mustCommit(b, st)
							fileBytes += st.Metrics().CommitBytes
						}
						op.Close()
					}
					b.ResetTimer()
					c0 := cpuTime()
					for b.Loop() {
						op, err := OpenOperator(ctx, fsys, dir, sh.spec, Options{Mem: mem, EventTime: opts.EventTime})
						must(b, err)
						st, _ := op.Store(0, "")
						must(b, st.Load(ctx, v))
						if st.Len() != 1_000_000 {
							b.Fatalf("restored %d keys", st.Len())
						}
						op.Close()
					}
					b.ReportMetric(float64((cpuTime()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
					b.ReportMetric(float64(fileBytes), "file-bytes")
				})
			}
		}
	}
}

// pairKeys builds keys lo..hi of fillPairs' sequence: (i, i%97 windows).
func pairKeys(mem memory.Allocator, lo, hi int) []arrow.Array {
	a := make([]int64, hi-lo)
	w := make([]int64, hi-lo)
	for i := range a {
		a[i] = int64(lo + i)
		w[i] = int64((lo + i) % 97 * 300_000)
	}
	return []arrow.Array{i64s(mem, a, nil), i64s(mem, w, nil)}
}

// putCounts adds one to the count of keys lo..hi, 64K at a time.
func putCounts(tb testing.TB, st *Store, mem memory.Allocator, keysOf func(memory.Allocator, int, int) []arrow.Array, lo, hi int) {
	const chunk = 1 << 16
	slots := make([]uint32, chunk)
	for l := lo; l < hi; l += chunk {
		h := min(l+chunk, hi)
		keys := keysOf(mem, l, h)
		_, err := st.Insert(keys, slots[:h-l], nil)
		must(tb, err)
		old, err := st.Values(mem, slots[:h-l])
		must(tb, err)
		cnt := addOne(mem, old[0].(*array.Int64))
		must(tb, st.Set(slots[:h-l], []arrow.Array{cnt}))
		releaseAll(append(append(keys, old...), cnt))
	}
}

// BenchmarkCommit1k: a batch updating 1k random keys of a state of 100k
// or 1M keys, then committing: the cost and the delta bytes must not grow
// with the state. Snapshots off, or every 10 versions in the background
// (on one core the snapshot goroutine shares the CPU with the batches, so
// cpu-us/op includes a tenth of a snapshot).
func BenchmarkCommit1k(b *testing.B) {
	for _, bf := range benchFSs {
		for _, total := range []int{100_000, 1_000_000} {
			for _, interval := range []int{-1, 10} {
				name := fmt.Sprintf("%s/state=%dk/snapshots=off", bf.name, total/1000)
				if interval > 0 {
					name = fmt.Sprintf("%s/state=%dk/snapshot-every=%d", bf.name, total/1000, interval)
				}
				b.Run(name, func(b *testing.B) { benchCommit(b, bf, total, interval) })
			}
		}
	}
}

func benchCommit(b *testing.B, bf benchFS, total, interval int) {
	mem := memory.NewGoAllocator()
	fsys, dir := bf.fs(b)
	op, err := OpenOperator(ctx, fsys, dir, pairSpec(1), Options{Mem: mem, SnapshotInterval: interval})
	must(b, err)
	defer op.Close()
	st, _ := op.Store(0, "")
	must(b, st.Load(ctx, 0))
	fillPairs(b, st, mem, total)
	mustCommit(b, st)
	must(b, st.Flush(ctx))
	r := rand.New(rand.NewPCG(1, 2))
	a, w, c := make([]int64, 1000), make([]int64, 1000), make([]int64, 1000)
	var bytes int64
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		for i := range a {
			k := r.IntN(total)
			a[i], w[i], c[i] = int64(k), int64(k%97*300_000), r.Int64()
		}
		ka, kw, kc := i64s(mem, a, nil), i64s(mem, w, nil), i64s(mem, c, nil)
		must(b, st.Put([]arrow.Array{ka, kw}, []arrow.Array{kc}))
		ka.Release()
		kw.Release()
		kc.Release()
		mustCommit(b, st)
		bytes += st.Metrics().CommitBytes
	}
	must(b, st.Flush(ctx))
	b.StopTimer()
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/commit")
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(st.Metrics().SnapshotsWritten), "snapshots")
}

// BenchmarkMergeBatch: the streaming aggregation's per-batch state work
// for a batch of 64K distinct keys (half already in a 1M-key state, half
// new): Insert, Values of the old buffers, Set of the merged ones. The
// merge itself (accumulators) is the operator's and not measured.
func BenchmarkMergeBatch(b *testing.B) {
	mem := memory.NewGoAllocator()
	op, err := OpenOperator(ctx, storage.NewMem(), "/s", pairSpec(1), Options{Mem: mem, SnapshotInterval: -1})
	must(b, err)
	defer op.Close()
	st, _ := op.Store(0, "")
	must(b, st.Load(ctx, 0))
	fillPairs(b, st, mem, 1_000_000)
	mustCommit(b, st)
	const n = 1 << 16
	a, w := make([]int64, n), make([]int64, n)
	slots := make([]uint32, n)
	next := 1_000_000
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		c0 := cpuTime()
		for i := range n {
			k := r.IntN(1_000_000)
			if i%2 == 1 {
				k = next
				next++
			}
			a[i], w[i] = int64(k), int64(k%97*300_000)
		}
		ka, kw := i64s(mem, a, nil), i64s(mem, w, nil)
		_, err := st.Insert([]arrow.Array{ka, kw}, slots, nil)
		must(b, err)
		old, err := st.Values(mem, slots)
		must(b, err)
		must(b, st.Set(slots, old))
		old[0].Release()
		ka.Release()
		kw.Release()
		cpu += cpuTime() - c0
		b.StopTimer()
		mustCommit(b, st) // keep the change set per batch, as a stream does
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/key")
}

// windowSpec is the clicks aggregation's store: (window struct<start,
// end>, user_id) -> count, with the window end as event time.
func windowSpec() OperatorSpec {
	ts := arrow.FixedWidthTypes.Timestamp_us
	w := arrow.StructOf(arrow.Field{Name: "start", Type: ts, Nullable: true}, arrow.Field{Name: "end", Type: ts, Nullable: true})
	return OperatorSpec{ID: 0, Name: "aggregate", NumPartitions: 1, Stores: []StoreSpec{{
		Key:   arrow.NewSchema([]arrow.Field{{Name: "window", Type: w, Nullable: true}, {Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
		Value: arrow.NewSchema([]arrow.Field{{Name: "count", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
	}}}
}

// windowEnd is the EventTimeFunc of windowSpec keys.
func windowEnd(keys []arrow.Array, rows []int, out []int64) error {
	w := keys[0].(*array.Struct)
	end := w.Field(1).(*array.Timestamp)
	for j := range out {
		i := j
		if rows != nil {
			i = rows[j]
		}
		if w.IsNull(i) || end.IsNull(i) {
			out[j] = NoEventTime
		} else {
			out[j] = int64(end.Value(i))
		}
	}
	return nil
}

// windowKeys builds the key columns of keys lo..hi of the memory test's
// sequence: 100K users per 5-minute window, windows in time order (as a
// stream sees them), users in a scattered order within a window.
func windowKeys(mem memory.Allocator, lo, hi int) []arrow.Array {
	const users = 100_000
	sb := array.NewStructBuilder(mem, windowSpec().Stores[0].Key.Field(0).Type.(*arrow.StructType))
	defer sb.Release()
	ub := array.NewInt64Builder(mem)
	defer ub.Release()
	start, end := sb.FieldBuilder(0).(*array.TimestampBuilder), sb.FieldBuilder(1).(*array.TimestampBuilder)
	sb.Reserve(hi - lo)
	start.Reserve(hi - lo)
	end.Reserve(hi - lo)
	ub.Reserve(hi - lo)
	for i := lo; i < hi; i++ {
		w := int64(i / users)
		sb.Append(true)
		start.UnsafeAppend(arrow.Timestamp(w * 300_000_000))
		end.UnsafeAppend(arrow.Timestamp((w + 1) * 300_000_000))
		ub.UnsafeAppend(int64(i%users) * 7919 % 100_003)
	}
	return []arrow.Array{sb.NewArray(), ub.NewArray()}
}

// TestMemory10M: 10M distinct (window, user_id) keys of count state must
// stay under 1 GiB of RSS, peak (VmHWM) included. It measures this
// process, so it runs alone: set SLUICE_STATE_MEMTEST=1 (skipped
// otherwise, and in -short). Two key shapes: the clicks aggregation's
// store (window struct, user_id) with its event-time column, keys
// arriving window by window as a stream sees them; and (user, window)
// int64 pairs arriving with all windows interleaved, which the pair
// table keeps flat. Two ways to get there, each with the peak reset
// before it: restoring a 10M-key snapshot, then a stream growing a state
// from empty to 10M keys over 153 batches of 64K new keys (read counts,
// add, write back, commit each batch, a snapshot every 10, on local disk).
func TestMemory10M(t *testing.T) {
	if testing.Short() || os.Getenv("SLUICE_STATE_MEMTEST") == "" {
		t.Skip("set SLUICE_STATE_MEMTEST=1 to measure the RSS of 10M keys (takes ~1 GiB)")
	}
	unclustered := func(mem memory.Allocator, lo, hi int) []arrow.Array {
		a := make([]int64, hi-lo)
		w := make([]int64, hi-lo)
		for i := range a {
			a[i], w[i] = int64((lo+i)/12), int64((lo+i)%12*300_000)
		}
		return []arrow.Array{i64s(mem, a, nil), i64s(mem, w, nil)}
	}
	for _, sh := range []struct {
		name string
		spec OperatorSpec
		opts Options
		keys func(mem memory.Allocator, lo, hi int) []arrow.Array
	}{
		{"clicks windows", windowSpec(), Options{EventTime: windowEnd}, windowKeys},
		{"interleaved pairs", pairSpec(1), Options{}, unclustered},
	} {
		t.Run(sh.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			const n = 10_000_000
			fsys, root := storage.Local{}, t.TempDir()
			opts := sh.opts
			opts.Mem = mem

			// Restore: write the snapshot of version 1 directly, then load it.
			dir := filepath.Join(root, "restore")
			op, err := OpenOperator(ctx, fsys, dir, sh.spec, opts)
			must(t, err)
			st, _ := op.Store(0, "")
			writeSnapshotFile(t, fsys, st, mem, n, sh.keys)
			base := resetPeak(t)
			t0, c0 := time.Now(), cpuTime()
			must(t, st.Load(ctx, 1))
			wall, cpu := time.Since(t0), cpuTime()-c0
			if st.Len() != n {
				t.Fatalf("restored %d keys", st.Len())
			}
			rss, hwm := settledRSS(t)
			t.Logf("restore of 10M keys: %v wall, %v CPU; RSS %d MiB, peak %d MiB (from %d MiB); store reports %d MiB",
				wall.Round(time.Millisecond), cpu.Round(time.Millisecond), rss>>20, hwm>>20, base>>20, st.Metrics().MemoryUsedBytes>>20)
			if rss > 1<<30 || hwm > 1<<30 {
				t.Errorf("restore: RSS %d MiB / peak %d MiB exceed 1 GiB", rss>>20, hwm>>20)
			}
			op.Close()

			// Stream: grow to 10M keys batch by batch.
			op, err = OpenOperator(ctx, fsys, filepath.Join(root, "stream"), sh.spec, opts)
			must(t, err)
			defer op.Close()
			st, _ = op.Store(0, "")
			must(t, st.Load(ctx, 0))
			base = resetPeak(t)
			t0, c0 = time.Now(), cpuTime()
			const batch = 1 << 16
			var written int64
			for lo := 0; lo < n; lo += batch {
				putCounts(t, st, mem, sh.keys, lo, min(lo+batch, n))
				mustCommit(t, st)
				written += st.Metrics().CommitBytes
			}
			must(t, st.Flush(ctx))
			wall, cpu = time.Since(t0), cpuTime()-c0
			if st.Len() != n {
				t.Fatalf("%d keys", st.Len())
			}
			rss, hwm = settledRSS(t)
			m := st.Metrics()
			t.Logf("stream to 10M keys: %v wall, %v CPU (%d snapshots, %d MiB of deltas); RSS %d MiB, peak %d MiB (from %d MiB); store reports %d MiB",
				wall.Round(time.Millisecond), cpu.Round(time.Millisecond), m.SnapshotsWritten, written>>20, rss>>20, hwm>>20, base>>20, m.MemoryUsedBytes>>20)
			if rss > 1<<30 || hwm > 1<<30 {
				t.Errorf("stream: RSS %d MiB / peak %d MiB exceed 1 GiB", rss>>20, hwm>>20)
			}
		})
	}
}

// resetPeak returns memory to the OS and resets the process's VmHWM to
// its current RSS (Linux: clear_refs 5), returning that RSS.
func resetPeak(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak RSS (%v): peaks include earlier phases", err)
	}
	return procStatus(t, "VmRSS")
}

// settledRSS collects garbage, returns it to the OS, and reads VmRSS and
// VmHWM (the process's peak).
func settledRSS(t *testing.T) (rss, hwm int64) {
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus(t, "VmRSS"), procStatus(t, "VmHWM")
}

// writeSnapshotFile writes version 1 of st as a snapshot of keys 0..n-1
// of keysOf with count 1, streaming, without building a table.
func writeSnapshotFile(t *testing.T, fsys storage.FS, st *Store, mem memory.Allocator, n int, keysOf func(memory.Allocator, int, int) []arrow.Array) {
	w, err := fsys.Create(ctx, snapshotName(st.dir, 1), storage.WriteOptions{})
	must(t, err)
	defer w.Abort()
	schema := st.fileSchema(kindSnap, 1)
	fw, err := newFileWriter(w, schema, mem)
	must(t, err)
	const chunk = 1 << 14
	c := make([]int64, chunk)
	for i := range c {
		c[i] = 1
	}
	for lo := 0; lo < n; lo += chunk {
		m := min(chunk, n-lo)
		cols := append(keysOf(mem, lo, lo+m), i64s(mem, c[:m], nil))
		rec := array.NewRecordBatch(schema, cols, int64(m))
		releaseAll(cols)
		must(t, fw.write(rec))
		rec.Release()
	}
	must(t, fw.close())
	must(t, w.Close())
}

func addOne(mem memory.Allocator, old *array.Int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Reserve(old.Len())
	vals := old.Int64Values()
	for i := range vals {
		if old.IsValid(i) {
			b.UnsafeAppend(vals[i] + 1)
		} else {
			b.UnsafeAppend(1)
		}
	}
	return b.NewArray()
}

// procStatus reads a "Vm..." line of /proc/self/status, in bytes.
func procStatus(t *testing.T, key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("%s not in /proc/self/status", key)
	return 0
}

// BenchmarkEmptyCommit: the fixed cost of a commit without changes (a
// no-data batch, or a partition the batch did not touch).
func BenchmarkEmptyCommit(b *testing.B) {
	mem := memory.NewGoAllocator()
	op, err := OpenOperator(ctx, storage.NewMem(), "/s", pairSpec(1), Options{Mem: mem, SnapshotInterval: -1})
	must(b, err)
	defer op.Close()
	st, _ := op.Store(0, "")
	must(b, st.Load(ctx, 0))
	c0 := cpuTime()
	for b.Loop() {
		mustCommit(b, st)
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(st.Metrics().CommitBytes), "bytes/commit")
}

// BenchmarkClicksBatch: one micro-batch of the clicks stream's state work
// at 10M events / 10 batches: ~110K keys of the current windows updated
// (half new), the window the watermark closed (~100K keys) expired, then
// the commit (delta on local disk). Reports the commit's share and bytes.
func BenchmarkClicksBatch(b *testing.B) {
	mem := memory.NewGoAllocator()
	fsys, dir := storage.Local{}, filepath.Join(b.TempDir(), "state")
	op, err := OpenOperator(ctx, fsys, dir, windowSpec(), Options{Mem: mem, EventTime: windowEnd})
	must(b, err)
	defer op.Close()
	st, _ := op.Store(0, "")
	must(b, st.Load(ctx, 0))
	const users = 100_000
	// Keys of window w: windowKeys(w*users, (w+1)*users); a batch touches
	// 60% of window w (existing) and 50% of window w+1 (new).
	slots := make([]uint32, users)
	put := func(lo, hi int) {
		keys := windowKeys(mem, lo, hi)
		_, err := st.Insert(keys, slots[:hi-lo], nil)
		must(b, err)
		old, err := st.Values(mem, slots[:hi-lo])
		must(b, err)
		cnt := addOne(mem, old[0].(*array.Int64))
		must(b, st.Set(slots[:hi-lo], []arrow.Array{cnt}))
		releaseAll(append(append(keys, old...), cnt))
	}
	for w := range 3 {
		put(w*users, (w+1)*users)
	}
	mustCommit(b, st)
	w := 3
	var bytes, commitNs, cpuNs int64
	b.ResetTimer()
	for b.Loop() {
		c0 := cpuTime()
		put((w-1)*users+users/2, w*users)                   // rest of the current window
		put(w*users, w*users+users/2)                       // half of the next
		_, err := st.Expire(int64(w-2)*300_000_000, 0, nil) // window w-3 closes
		must(b, err)
		t0 := cpuTime()
		mustCommit(b, st)
		c1 := cpuTime()
		commitNs += (c1 - t0).Nanoseconds()
		cpuNs += (c1 - c0).Nanoseconds()
		bytes += st.Metrics().CommitBytes
		w++
	}
	b.ReportMetric(float64(cpuNs)/float64(b.N)/1e6, "cpu-ms/batch")
	b.ReportMetric(float64(commitNs)/float64(b.N)/1e6, "commit-cpu-ms/batch")
	b.ReportMetric(float64(bytes)/float64(b.N), "delta-bytes/batch")
	b.ReportMetric(float64(st.Len()), "keys")
}
