package dataframe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/testutil/versitygw"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// s3World is a bucket on a versitygw started for the test, with helpers
// to name locations in it and put files.
type s3World struct {
	t      *testing.T
	srv    *versitygw.Server
	bucket string
}

func newS3World(t *testing.T) *s3World {
	srv := versitygw.New(t)
	w := &s3World{t: t, srv: srv, bucket: fmt.Sprintf("sluice-df-%d", time.Now().UnixNano()%1_000_000_000)}
	if err := srv.CreateBucket(context.Background(), w.bucket); err != nil {
		t.Fatal(err)
	}
	return w
}

// at is the s3:// location of prefix, with the server's parameters and
// extra ones ("leaseTTL=2s").
func (w *s3World) at(prefix string, extra ...string) string {
	loc := w.srv.URL(w.bucket, prefix)
	for _, e := range extra {
		loc += "&" + e
	}
	return loc
}

func (w *s3World) put(prefix, name, body string) {
	w.t.Helper()
	fsys, root, err := storage.Open(w.at(prefix))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := fsys.WriteFile(context.Background(), root+"/"+name, []byte(body), storage.WriteOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *s3World) list(prefix string) []string {
	w.t.Helper()
	fsys, root, err := storage.Open(w.at(prefix))
	if err != nil {
		w.t.Fatal(err)
	}
	ents, err := fsys.List(context.Background(), root)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	slices.Sort(out)
	return out
}

// readBack reads a file sink's output on S3 through its manifest, with a
// Parquet stream (batch Read is local only) into a memory table.
func readBack(t *testing.T, s *Session, loc, ddl string, partitionColumns string) []string {
	t.Helper()
	r := s.ReadStreamFormat("parquet").Schema(ddl)
	if partitionColumns != "" {
		r.Option("partitionColumns", partitionColumns)
	}
	name := fmt.Sprintf("back%d", time.Now().UnixNano())
	runAvailableNow(t, r.Load(loc).WriteStream().Format("memory").QueryName(name).Option("checkpointLocation", t.TempDir()))
	defer s.DropTempView(name)
	return rowStrings(t, s.Table(name))
}

// Files on S3 stream into a partitioned Parquet directory on S3 with the
// checkpoint on S3: one batch per file, the checkpoint's logs are S3
// objects, a restart takes only the new file, and the rows read back
// through the manifest are each there once.
func TestS3FileSourceSinkAndCheckpoint(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	w := newS3World(t)
	w.put("in", "a.json", `{"id":1,"d":"mon"}`+"\n"+`{"id":2,"d":"tue"}`+"\n")
	w.put("in", "b.json", `{"id":3,"d":"mon"}`+"\n")
	query := func() *DataStreamWriter {
		df := s.ReadStreamFormat("json").Schema("id BIGINT, d STRING").Option("maxFilesPerTrigger", "1").Load(w.at("in"))
		return df.WithColumn("twice", Expr("id * 2")).WriteStream().Format("parquet").
			Option("path", w.at("out")).Option("checkpointLocation", w.at("ck")).PartitionBy("d")
	}
	if n := runAvailableNow(t, query()); n != 2 {
		t.Fatalf("first run: %d batches, want 2", n)
	}
	want := []string{"1|2|mon", "2|4|tue", "3|6|mon"}
	if got := readBack(t, s, w.at("out"), "id BIGINT, twice BIGINT, d STRING", "d"); !slices.Equal(got, want) {
		t.Fatalf("output on S3:\n got %v\nwant %v", got, want)
	}
	for _, dir := range []string{"ck", "ck/offsets", "ck/commits", "ck/sources/0", "out", "out/_sluice_log"} {
		if len(w.list(dir)) == 0 {
			t.Errorf("nothing under s3 %s", dir)
		}
	}
	if got := w.list("ck/commits"); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("commits on S3: %v", got)
	}
	w.put("in", "c.json", `{"id":4,"d":"wed"}`+"\n")
	if n := runAvailableNow(t, query()); n != 1 {
		t.Fatalf("restart: %d batches, want 1", n)
	}
	want = append(want, "4|8|wed")
	if got := readBack(t, s, w.at("out"), "id BIGINT, twice BIGINT, d STRING", "d"); !slices.Equal(got, want) {
		t.Fatalf("output after restart:\n got %v\nwant %v", got, want)
	}
	// A half-written batch (data file without a manifest entry) stays
	// invisible.
	w.put("out", "d=mon/part-000099-00000.parquet", "not parquet")
	if got := readBack(t, s, w.at("out"), "id BIGINT, twice BIGINT, d STRING", "d"); !slices.Equal(got, want) {
		t.Fatalf("a file outside the manifest is read: %v", got)
	}
}

// Two queries started on the same S3 checkpoint: exactly one runs, the
// other fails at Start saying the checkpoint is in use, and once the
// first stops the checkpoint is free again.
func TestS3CheckpointOneQueryAtATime(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	w := newS3World(t)
	w.put("in", "a.json", `{"id":1}`+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := func() (*StreamingQuery, error) {
		return s.ReadStreamFormat("json").Schema("id BIGINT").Load(w.at("in")).
			WriteStream().Format("parquet").Option("path", w.at("out")).Option("checkpointLocation", w.at("ck")).Start(ctx)
	}
	for round := 0; round < 3; round++ {
		var (
			wg   sync.WaitGroup
			qs   [2]*StreamingQuery
			errs [2]error
		)
		for i := range qs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				qs[i], errs[i] = start()
			}()
		}
		wg.Wait()
		var running *StreamingQuery
		for i := range qs {
			switch {
			case errs[i] == nil && running == nil:
				running = qs[i]
			case errs[i] == nil:
				qs[i].Stop(ctx)
				t.Fatalf("round %d: both queries started on one checkpoint", round)
			case !errors.Is(errs[i], wal.ErrCheckpointInUse) || !strings.Contains(errs[i].Error(), "is in use by another running query"):
				t.Fatalf("round %d: the refused query's error: %v", round, errs[i])
			case strings.Contains(errs[i].Error(), "secretAccessKey="+w.srv.SecretKey):
				t.Fatalf("round %d: the error shows the secret key: %v", round, errs[i])
			}
		}
		if running == nil {
			t.Fatalf("round %d: neither query started: %v / %v", round, errs[0], errs[1])
		}
		if err := running.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
		if !running.IsActive() {
			t.Fatalf("round %d: the query that started is not running: %v", round, running.Exception())
		}
		if err := running.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := readBack(t, s, w.at("out"), "id BIGINT", ""); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("output: %v", got)
	}
}

// A query whose S3 lease is taken over while it runs stops with an error
// instead of writing on: the batch after the loss writes neither the
// checkpoint nor the sink.
func TestS3LeaseLostStopsQuery(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	w := newS3World(t)
	w.put("in", "a.json", `{"id":1}`+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q, err := s.ReadStreamFormat("json").Schema("id BIGINT").Load(w.at("in")).
		WriteStream().Format("parquet").Option("path", w.at("out")).
		Option("checkpointLocation", w.at("ck", "leaseTTL=2s")).Trigger(trigger.ProcessingTime(100 * time.Millisecond)).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	if err := q.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	// Another holder overwrites the lease object, as a takeover does.
	_, err = w.srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String("ck/.lock"),
		Body: bytes.NewReader([]byte(`{"holder":"someone-else","seq":1,"ttlMs":2000}`))})
	if err != nil {
		t.Fatal(err)
	}
	// The renewal (every TTL/3) notices; the next batch is refused.
	time.Sleep(1500 * time.Millisecond)
	w.put("in", "b.json", `{"id":2}`+"\n")
	select {
	case <-q.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the query kept running after its lease was taken over")
	}
	err = q.Exception()
	if !errors.Is(err, wal.ErrCheckpointInUse) || !strings.Contains(err.Error(), "lost its exclusive use") {
		t.Fatalf("query error: %v", err)
	}
	if got := w.list("ck/offsets"); !slices.Equal(got, []string{"0"}) {
		t.Errorf("offsets after the loss: %v", got)
	}
	if got := w.list("out/_sluice_log"); slices.Contains(got, "1") {
		t.Errorf("the sink wrote batch 1 after the lease was lost: %v", got)
	}
	if got := readBack(t, s, w.at("out"), "id BIGINT", ""); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("output: %v", got)
	}
}
