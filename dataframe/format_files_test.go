package dataframe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/trigger"
)

// writeAt writes a file and stamps its modification time, so the file
// source takes files in a known order.
func writeAt(t *testing.T, path, body string, sec int) {
	t.Helper()
	writeFile(t, path, body)
	ts := time.Unix(1_700_000_000+int64(sec), 0)
	if err := os.Chtimes(path, ts, ts); err != nil {
		t.Fatal(err)
	}
}

// rowStrings renders rows as "a|b|c" lines, sorted.
func rowStrings(t *testing.T, df *DataFrame) []string {
	t.Helper()
	rows, err := df.Rows()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = fmt.Sprint(v)
		}
		out[i] = strings.Join(parts, "|")
	}
	slices.Sort(out)
	return out
}

// runAvailableNow starts a query with the AvailableNow trigger, waits for
// it to finish and returns the number of batches it ran.
func runAvailableNow(t *testing.T, w *DataStreamWriter) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := w.Trigger(trigger.AvailableNow()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		t.Fatal(err)
	}
	return len(q.RecentProgress())
}

// CSV files arriving in a directory stream, one file per batch, into a
// partitioned Parquet directory; a restart on the same checkpoint takes
// only the new file; batch Read and a Parquet stream over the output see
// every row once.
func TestFileFormatsStreamEndToEnd(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	in, out, ck := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	writeAt(t, filepath.Join(in, "a.csv"), "id,d,x\n1,mon,0.5\n2,tue,1.5\n", 1)
	writeAt(t, filepath.Join(in, "b.csv"), "id,d,x\n3,mon,2.5\n", 2)
	writeAt(t, filepath.Join(in, "c.csv"), "id,d,x\n4,wed,\n5,tue,4.5\n", 3)
	query := func() *DataStreamWriter {
		df := s.ReadStreamFormat("csv").Schema("id BIGINT, d STRING, x DOUBLE").
			Option("header", "true").Option("maxFilesPerTrigger", "1").Load(in)
		return df.WriteStream().Format("parquet").Option("path", out).Option("checkpointLocation", ck).PartitionBy("d")
	}
	if n := runAvailableNow(t, query()); n != 3 {
		t.Fatalf("first run: %d batches, want 3 (one file each)", n)
	}
	want := []string{"1|0.5|mon", "2|1.5|tue", "3|2.5|mon", "4|<nil>|wed", "5|4.5|tue"}
	if got := rowStrings(t, s.Read().Parquet(out).Select("id", "x", "d")); !slices.Equal(got, want) {
		t.Fatalf("output after the first run:\n got %v\nwant %v", got, want)
	}
	writeAt(t, filepath.Join(in, "d.csv"), "id,d,x\n6,mon,6.5\n", 4)
	if n := runAvailableNow(t, query()); n != 1 {
		t.Fatalf("restart: %d batches, want 1 (only the new file)", n)
	}
	want = append(want, "6|6.5|mon")
	if got := rowStrings(t, s.Read().Parquet(out).Select("id", "x", "d")); !slices.Equal(got, want) {
		t.Fatalf("output after the restart:\n got %v\nwant %v", got, want)
	}
	// The output read back as a stream (through its manifest), JSON on the
	// way out.
	back := s.ReadStreamFormat("parquet").Schema("id BIGINT, x DOUBLE, d STRING").
		Option("partitionColumns", "d").Load(out)
	jsonOut := filepath.Join(dir, "json")
	runAvailableNow(t, back.WriteStream().Format("json").Option("path", jsonOut).Option("checkpointLocation", filepath.Join(dir, "ck2")))
	got := rowStrings(t, s.Read().Schema("id BIGINT, x DOUBLE, d STRING").JSON(jsonOut))
	if !slices.Equal(got, want) {
		t.Fatalf("parquet -> json stream:\n got %v\nwant %v", got, want)
	}
}

// Text lines stream into the value column; the rate source's options
// come from strings.
func TestTextAndRateFormats(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	writeAt(t, filepath.Join(dir, "in", "a.txt"), "hello\nworld\n", 1)
	txt := s.ReadStreamFormat("text").Load(filepath.Join(dir, "in"))
	runAvailableNow(t, txt.WriteStream().Format("csv").Option("path", filepath.Join(dir, "out")).Option("checkpointLocation", filepath.Join(dir, "ck")))
	if got := rowStrings(t, s.Read().Schema("value STRING").CSV(filepath.Join(dir, "out"))); !slices.Equal(got, []string{"hello", "world"}) {
		t.Fatalf("text -> csv: %v", got)
	}

	ctx := context.Background()
	rt := s.ReadStreamFormat("rate").Option("rowsPerBatch", "4").Option("numPartitions", "2").
		Option("startTimestamp", "1000").Option("advanceMillisPerBatch", "500").Load()
	q, err := rt.WriteStream().Format("memory").QueryName("rates").Trigger(trigger.Once()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.AwaitTermination(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.DropTempView("rates")
	got := rowStrings(t, s.Table("rates").SelectExpr("value", "CAST(timestamp AS BIGINT)"))
	if want := []string{"0|1", "1|1", "2|1", "3|1"}; !slices.Equal(got, want) {
		t.Fatalf("rate rows %v, want %v", got, want)
	}
}

// Misuse is reported when the query is built or started, with the reason,
// and a refused Start leaves the checkpoint free for a correct query.
func TestFileFormatErrors(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeAt(t, filepath.Join(in, "a.json"), `{"id":1,"g":"a"}`+"\n", 1)
	ctx := context.Background()
	src := func() *DataFrame { return s.ReadStreamFormat("json").Schema("id BIGINT, g STRING").Load(in) }

	loadErrs := []struct {
		name string
		df   *DataFrame
		want string
	}{
		{"no schema", s.ReadStreamFormat("csv").Load(in), "needs a schema"},
		{"two paths", s.ReadStreamFormat("json").Schema("id BIGINT").Load(in, in), "reads one path"},
		{"glob filter", s.ReadStreamFormat("json").Schema("id BIGINT").Option("pathGlobFilter", "*.json").Load(in), "put the glob in the path"},
		{"bad cap", s.ReadStreamFormat("json").Schema("id BIGINT").Option("maxFilesPerTrigger", "0").Load(in), "maxFilesPerTrigger"},
		{"bad age", s.ReadStreamFormat("json").Schema("id BIGINT").Option("maxFileAge", "soon").Load(in), "maxFileAge"},
		{"unknown format option", s.ReadStreamFormat("json").Schema("id BIGINT").Option("heder", "true").Load(in), "heder"},
		{"rate schema", s.ReadStreamFormat("rate").Schema("id BIGINT").Load(), "fixed schema"},
		{"rate option", s.ReadStreamFormat("rate").Option("rowsPerSec", "5").Load(), `unknown option "rowsPerSec"`},
		{"rate value", s.ReadStreamFormat("rate").Option("rowsPerSecond", "-1").Load(), "rowsPerSecond"},
		{"rate start without rowsPerBatch", s.ReadStreamFormat("rate").Option("startTimestamp", "5").Load(), "set rowsPerBatch"},
	}
	for _, c := range loadErrs {
		if err := c.df.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}

	agg := src().WithColumn("ts", Expr("CAST(id AS TIMESTAMP)")).WithWatermark("ts", "1 minute").GroupBy("g").Count()
	startErrs := []struct {
		name string
		w    *DataStreamWriter
		want string
	}{
		{"update", src().WriteStream().Format("parquet").OutputMode(Update), "supports output mode append only, not update"},
		{"complete", agg.WriteStream().Format("parquet").OutputMode(Complete), "supports output mode append only, not complete"},
		{"no path", src().WriteStream().Format("parquet"), "option path is required"},
		{"partition column", src().WriteStream().Format("csv").PartitionBy("day"), `PartitionBy column "day" is not in the query's output; columns: id, g`},
		{"text sink", src().WriteStream().Format("text"), "unknown sink format"},
		{"bad size", src().WriteStream().Format("json").Option("targetFileSize", "big"), "targetFileSize"},
		{"bad codec", src().WriteStream().Format("parquet").Option("compression", "brotli"), "compression"},
		{"partitionBy option", src().WriteStream().Format("parquet").Option("partitionBy", "g"), "PartitionBy(...)"},
	}
	ck := filepath.Join(dir, "ck")
	for _, c := range startErrs {
		w := c.w.Option("checkpointLocation", ck)
		if _, ok := w.opts["path"]; !ok && c.name != "no path" {
			w.Option("path", filepath.Join(dir, "out"))
		}
		q, err := w.Start(ctx)
		if err == nil {
			q.Stop(ctx)
			t.Errorf("%s: Start succeeded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if n := runAvailableNow(t, src().WriteStream().Format("parquet").Option("path", filepath.Join(dir, "out")).Option("checkpointLocation", ck)); n != 1 {
		t.Fatalf("append after the refused starts: %d batches", n)
	}
}

// Formats lists every file format as a source, and the file sinks.
func TestFileFormatsListed(t *testing.T) {
	for _, name := range []string{"parquet", "csv", "json", "text", "rate"} {
		f, ok := LookupFormat(name)
		if !ok || f.Source == nil || f.Doc == "" {
			t.Errorf("format %s: %+v %v", name, f, ok)
		}
		if wantSink := name != "text" && name != "rate"; (f.Sink != nil) != wantSink {
			t.Errorf("format %s: sink %v, want %v", name, f.Sink != nil, wantSink)
		}
	}
}
