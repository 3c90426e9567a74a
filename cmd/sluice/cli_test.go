package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/trigger"
)

// TestCLI runs testdata/cli/*.txt:
//
//	file NAME      input: the file's text, written to a temp dir (NAME may
//	               have directories)
//	sluice ARGS    runs the command in the temp dir; output: the exit code,
//	               stdout and stderr (progress JSON lines are summarised
//	               as "progress: batch N, R input rows")
//	sluice-brief ARGS  the same, but only the exit code and the first
//	               line of output (for texts other helpers own, as run's
//	               help)
//	cat GLOB       the lines of the files GLOB matches, sorted (a text
//	               sink's output, whatever its file names)
func TestCLI(t *testing.T) {
	files, _ := filepath.Glob("testdata/cli/*.txt")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			dir := t.TempDir()
			datadriven.RunFile(t, f, func(t *testing.T, c *datadriven.Case) string {
				switch c.Cmd {
				case "file":
					name := filepath.Join(dir, c.Args[0])
					if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(name, []byte(c.Input), 0o644); err != nil {
						t.Fatal(err)
					}
					return "ok"
				case "cat":
					names, _ := filepath.Glob(filepath.Join(dir, c.Args[0]))
					var lines []string
					for _, n := range names {
						data, err := os.ReadFile(n)
						if err != nil {
							t.Fatal(err)
						}
						lines = append(lines, strings.Split(strings.TrimSpace(string(data)), "\n")...)
					}
					sort.Strings(lines)
					return strings.Join(lines, "\n")
				case "sluice", "sluice-brief":
					wd, _ := os.Getwd()
					if err := os.Chdir(dir); err != nil {
						t.Fatal(err)
					}
					defer os.Chdir(wd)
					var out, errb bytes.Buffer
					code := run(c.Args, &out, &errb)
					res := normalise(fmt.Sprintf("exit %d\n%s%s", code, out.String(), summariseProgress(errb.String())))
					// A blank line would end the expected output.
					res = strings.ReplaceAll(strings.TrimSpace(strings.ReplaceAll(res, dir, "$DIR")), "\n\n", "\n")
					if c.Cmd == "sluice-brief" {
						if lines := strings.SplitN(res, "\n", 3); len(lines) > 2 {
							res = lines[0] + "\n" + lines[1] + "\n..."
						}
					}
					return res
				}
				c.Fatalf(t, "unknown command %q", c.Cmd)
				return ""
			})
		})
	}
}

var (
	uuidRe      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	batchTimeRe = regexp.MustCompile(`(at |"batchTimestampMs": )(\d{4}-\d\d-\d\dT[0-9:.]+Z|\d{13})`)
	sizeRe      = regexp.MustCompile(`("bytes": |"files": )\d+|\b\d+(\.\d)? (B|KiB|MiB|GiB)\b`)
)

// normalise hides what changes from run to run (query ids, the wall
// clock time of batches) and what the state store's encoding decides
// (file counts and sizes).
func normalise(s string) string {
	s = uuidRe.ReplaceAllString(s, "<uuid>")
	s = sizeRe.ReplaceAllStringFunc(s, func(m string) string {
		if k, _, ok := strings.Cut(m, ": "); ok {
			return k + ": <n>"
		}
		return "<size>"
	})
	return batchTimeRe.ReplaceAllString(s, "${1}<time>")
}

var progressLine = regexp.MustCompile(`"batchId":(\d+).*?"numInputRows":(\d+)`)

func summariseProgress(stderr string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(l, "{") {
			if m := progressLine.FindStringSubmatch(l); m != nil {
				fmt.Fprintf(&b, "progress: batch %s, %s input rows\n", m[1], m[2])
				continue
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestScheduleFilesExactlyOnce drives `sluice schedule` on a manual clock
// with a cron every minute: each new file is processed exactly once
// across many firings, an overlapping firing is skipped, a firing missed
// while the scheduler was down runs at its restart, and the checkpoint is
// then shared with a continuous run and the scheduler again.
func TestScheduleFilesExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := func(trig string) string {
		return fmt.Sprintf(`name: sched
sources:
  src:
    csv: {header: "true"}
    path: %s
    schema: "id INT, v STRING"
query: SELECT id, v FROM src
sink: {parquet: {}, path: %s}
trigger: %s
checkpoint: %s
`, in, filepath.Join(dir, "out"), trig, filepath.Join(dir, "ck"))
	}
	jobFile := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(jobFile, []byte(spec(`{cron: "* * * * *", timezone: UTC, runMissed: true}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	var want []string
	nextID := 0
	addFile := func(rows int) {
		var b strings.Builder
		b.WriteString("id,v\n")
		for i := 0; i < rows; i++ {
			nextID++
			fmt.Fprintf(&b, "%d,r%d\n", nextID, nextID)
			want = append(want, fmt.Sprintf("%d r%d", nextID, nextID))
		}
		name := filepath.Join(in, fmt.Sprintf("%03d.csv", nextID))
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC))
	log := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type firing struct {
		at  time.Time
		err error
	}
	// start runs a scheduler over job.yaml until the returned stop.
	var holdMu sync.Mutex
	var hold chan struct{} // a firing waits for it to close
	start := func() (fired chan firing, started chan time.Time, stop func()) {
		jobs, err := loadScheduled([]string{jobFile})
		if err != nil {
			t.Fatal(err)
		}
		out, err := startProgress(progressFlags{LogFormat: "json"}, log)
		if err != nil {
			t.Fatal(err)
		}
		s := newScheduler(clock, out, jobs)
		fired, started = make(chan firing, 16), make(chan time.Time, 16)
		s.beforeFiring = func(_ string, at time.Time) {
			started <- at
			holdMu.Lock()
			h := hold
			holdMu.Unlock()
			if h != nil {
				<-h
			}
		}
		s.afterFiring = func(_ string, at time.Time, err error) { fired <- firing{at, err} }
		sctx, scancel := context.WithCancel(ctx)
		ran := make(chan bool)
		go func() { ran <- s.run(sctx) }()
		return fired, started, func() {
			scancel()
			if failed := <-ran; failed {
				t.Errorf("a firing failed:\n%s", log.String())
			}
		}
	}
	wait := func(fired chan firing, at string) {
		t.Helper()
		select {
		case f := <-fired:
			if f.err != nil || fmtTime(f.at) != at {
				t.Fatalf("firing at %s (err %v), want one at %s\n%s", fmtTime(f.at), f.err, at, log.String())
			}
		case <-ctx.Done():
			t.Fatalf("no firing at %s:\n%s", at, log.String())
		}
	}
	advanceTo := func(hhmmss string) {
		t.Helper()
		if err := clock.WaitForWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, "2026-01-01T"+hhmmss+"Z")
		clock.Set(at)
	}

	// Many firings: new files, then none.
	addFile(3)
	fired, started, stop := start()
	advanceTo("00:01:00")
	wait(fired, "2026-01-01T00:01:00Z")
	addFile(2)
	advanceTo("00:02:00")
	wait(fired, "2026-01-01T00:02:00Z")
	advanceTo("00:03:00") // nothing new
	wait(fired, "2026-01-01T00:03:00Z")

	// An overlapping firing is skipped while the previous one runs.
	holdMu.Lock()
	hold = make(chan struct{})
	holdMu.Unlock()
	addFile(1)
	for len(started) > 0 {
		<-started
	}
	advanceTo("00:04:00")
	<-started
	advanceTo("00:05:00")
	if err := clock.WaitForWaiters(ctx, 1); err != nil { // the loop has passed the skip
		t.Fatal(err)
	}
	holdMu.Lock()
	close(hold)
	hold = nil
	holdMu.Unlock()
	wait(fired, "2026-01-01T00:04:00Z")
	if !strings.Contains(log.String(), "firing at 2026-01-01T00:05:00Z skipped: the previous firing is still running") {
		t.Errorf("the overlapping firing was not logged as skipped:\n%s", log.String())
	}
	stop()

	// Down from 00:05 to 00:09:30: the last batch ran at 00:05 (the held
	// firing started its query then), so the 00:06 firing was missed and
	// runs at the restart; the next one comes on schedule.
	addFile(4)
	clock.Set(time.Date(2026, 1, 1, 0, 9, 30, 0, time.UTC))
	fired, _, stop = start()
	wait(fired, "2026-01-01T00:09:30Z")
	if !strings.Contains(log.String(), "the firing due at 2026-01-01T00:06:00Z was missed") {
		t.Errorf("the missed firing was not logged:\n%s", log.String())
	}
	addFile(2)
	advanceTo("00:10:00")
	wait(fired, "2026-01-01T00:10:00Z")
	stop()

	// The same checkpoint, run continuously by `sluice run` (a
	// processingTime trigger) until Ctrl-C.
	addFile(5)
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	contFile := filepath.Join(dir, "continuous.yaml")
	if err := os.WriteFile(contFile, []byte(spec(`{processingTime: 50ms}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	runErr := &syncBuffer{}
	runDone := make(chan int, 1)
	go func() { runDone <- run([]string{"run", "--log-format", "json", contFile}, io.Discard, runErr) }()
	for !strings.Contains(runErr.String(), `"numInputRows":5,`) {
		if len(runDone) > 0 || ctx.Err() != nil {
			t.Fatalf("sluice run did not process the new file:\n%s", runErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	interrupt(t)
	if code := <-runDone; code != exitOK {
		t.Fatalf("sluice run: exit %d:\n%s", code, runErr.String())
	}

	// And scheduled again: only the new file.
	addFile(1)
	fired, _, stop = start()
	advanceTo("00:11:00")
	wait(fired, "2026-01-01T00:11:00Z")
	stop()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows, err := dataframe.NewSessionWith(dataframe.Config{Allocator: mem}).Read().Parquet(filepath.Join(dir, "out")).Rows()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v %v", r[0], r[1]))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output rows:\n%s\nwant (each input row once):\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), log.String())
	}
}

// TestRunSignals sends SIGINT to the test process while `sluice run` runs
// a stream of big batches: one signal lets the batch in flight commit and
// stops (nothing pending), a second abandons it (its offsets stay
// pending, replayed by the next run).
func TestRunSignals(t *testing.T) {
	// Catch the signals ourselves too, so none can kill the test binary
	// between run's handlers.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	for _, tc := range []struct {
		name    string
		n       int
		trigger string
	}{
		{"one signal", 1, "{}"}, {"two signals", 2, "{}"},
		// Waiting an hour for the next trigger: the first signal stops it
		// at once.
		{"one signal while waiting", 1, "{processingTime: 1h}"},
	} {
		n := tc.n
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			job := filepath.Join(dir, "job.yaml")
			ck := filepath.Join(dir, "ck")
			os.WriteFile(job, []byte(fmt.Sprintf(`name: big
sources:
  r: {rate: {rowsPerBatch: "300000"}}
query: SELECT value, value * 2 AS v2 FROM r
sink: {parquet: {}, path: %s}
trigger: %s
checkpoint: %s
`, filepath.Join(dir, "out"), tc.trigger, ck)), 0o644)
			errb := &syncBuffer{}
			done := make(chan int, 1)
			go func() { done <- run([]string{"run", job}, io.Discard, errb) }()
			waitFor := func(s string) {
				t.Helper()
				deadline := time.Now().Add(20 * time.Second)
				for !strings.Contains(errb.String(), s) {
					if time.Now().After(deadline) || (len(done) > 0 && !strings.Contains(errb.String(), s)) {
						t.Fatalf("no %q in:\n%s", s, errb.String())
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
			waitFor(`"batchId":0`)
			interrupt(t)
			waitFor("stopping after the batch in flight")
			if n == 2 {
				interrupt(t)
				waitFor("abandoning the batch in flight")
			}
			if code := <-done; code != exitOK {
				t.Fatalf("exit %d:\n%s", code, errb.String())
			}
			info, err := microbatch.Inspect(context.Background(), ck)
			if err != nil {
				t.Fatal(err)
			}
			if n == 1 && (len(info.Pending) != 0 || info.LastCommitted < 0) {
				t.Errorf("after one signal: committed up to %d, pending %v; want the batch in flight committed", info.LastCommitted, info.Pending)
			}
			if n == 2 && len(info.Pending) != 1 {
				t.Errorf("after two signals: committed up to %d, pending %v; want the batch in flight abandoned", info.LastCommitted, info.Pending)
			}
		})
	}
}

// interrupt sends SIGINT to the test process, as Ctrl-C would.
func interrupt(t *testing.T) {
	t.Helper()
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(os.Interrupt)
	}
	if err != nil {
		t.Skipf("cannot interrupt the process: %v", err)
	}
}

// TestScheduleKafkaExactlyOnce is the Kafka variant: the issue's value
// decoding ({format: json, schema}) under `sluice schedule` on a manual
// clock, over an embedded broker; each offset is processed exactly once
// across firings and a restart of the scheduler.
func TestScheduleKafkaExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := devkafka.Start(ctx, devkafka.Config{Partitions: 3, Topics: []string{"clicks"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := b.Client(kgo.DefaultProduceTopic("clicks"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var want []string
	n := 0
	produce := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			n++
			v := fmt.Sprintf(`{"id": %d, "user": "u%d", "timestamp": "2026-01-01T00:00:%02dZ"}`, n, n%4, n%60)
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint(n % 5)), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			want = append(want, fmt.Sprintf("%d u%d", n, n%4))
		}
	}
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "job.yaml")
	os.WriteFile(jobFile, []byte(fmt.Sprintf(`name: kafka-sched
sources:
  clicks:
    kafka: {bootstrapServers: %s, subscribe: clicks, startingOffsets: earliest, maxOffsetsPerTrigger: "4"}
    value: {format: json, schema: "id INT, user STRING, timestamp TIMESTAMP"}
query: SELECT id, user, partition FROM clicks
sink: {parquet: {}, path: %s}
trigger: {cron: "* * * * *"}
checkpoint: %s
`, b.Addr(), filepath.Join(dir, "out"), filepath.Join(dir, "ck"))), 0o644)

	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC))
	log := &syncBuffer{}
	start := func() (chan error, func()) {
		jobs, err := loadScheduled([]string{jobFile})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := startProgress(progressFlags{LogFormat: "json"}, log)
		s := newScheduler(clock, out, jobs)
		fired := make(chan error, 8)
		s.afterFiring = func(_ string, _ time.Time, err error) { fired <- err }
		sctx, scancel := context.WithCancel(ctx)
		ran := make(chan bool)
		go func() { ran <- s.run(sctx) }()
		return fired, func() { scancel(); <-ran }
	}
	fire := func(fired chan error, at time.Duration) {
		t.Helper()
		if err := clock.WaitForWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(at)
		select {
		case err := <-fired:
			if err != nil {
				t.Fatalf("firing failed: %v\n%s", err, log.String())
			}
		case <-ctx.Done():
			t.Fatalf("no firing:\n%s", log.String())
		}
	}
	produce(10)
	fired, stop := start()
	fire(fired, 30*time.Second) // 00:01: 10 records in batches of at most 4
	produce(3)
	fire(fired, time.Minute) // 00:02
	fire(fired, time.Minute) // 00:03: nothing new
	stop()
	produce(5)
	fired, stop = start()
	fire(fired, time.Minute) // 00:04, after the restart
	stop()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows, err := dataframe.NewSessionWith(dataframe.Config{Allocator: mem}).Read().Parquet(filepath.Join(dir, "out")).Rows()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v %v", r[0], r[1]))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output rows:\n%s\nwant each record once:\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), log.String())
	}
	if c := strings.Count(log.String(), `"batchId":`); c < 5 {
		t.Errorf("%d batches; maxOffsetsPerTrigger 4 should split 18 records into at least 5:\n%s", c, log.String())
	}
}

// TestScheduleStopAndFailure: a failing firing is logged and makes the
// scheduler report failure (exit 1) while it keeps firing; stopping waits
// for the firing in flight.
func TestScheduleStopAndFailure(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "1.csv"), []byte("id\nnot-a-number\n"), 0o644)
	job := filepath.Join(dir, "job.yaml")
	os.WriteFile(job, []byte(fmt.Sprintf(`name: failing
sources:
  src: {csv: {header: "true", mode: FAILFAST}, path: %s, schema: "id INT"}
query: SELECT id FROM src
sink: {parquet: {}, path: %s}
trigger: {cron: "*/5 * * * *"}
checkpoint: %s
`, in, filepath.Join(dir, "out"), filepath.Join(dir, "ck"))), 0o644)
	jobs, err := loadScheduled([]string{job})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clock := trigger.NewManualClock(time.Date(2026, 1, 1, 0, 4, 0, 0, time.UTC))
	log := &syncBuffer{}
	out, _ := startProgress(progressFlags{LogFormat: "json"}, log)
	s := newScheduler(clock, out, jobs)
	fired := make(chan error, 4)
	hold := make(chan struct{})
	s.beforeFiring = func(_ string, at time.Time) {
		if at.Minute() == 10 {
			<-hold
		}
	}
	s.afterFiring = func(_ string, _ time.Time, err error) { fired <- err }
	sctx, stop := context.WithCancel(ctx)
	ran := make(chan bool, 1)
	go func() { ran <- s.run(sctx) }()

	clock.WaitForWaiters(ctx, 1)
	clock.Advance(time.Minute) // 00:05
	if err := <-fired; err == nil {
		t.Fatalf("the firing over a malformed row succeeded:\n%s", log.String())
	}
	clock.WaitForWaiters(ctx, 1)
	clock.Advance(5 * time.Minute) // 00:10, held
	clock.WaitForWaiters(ctx, 1)
	stop()
	select {
	case <-ran:
		t.Fatal("the scheduler stopped before its firing in flight ended")
	case <-time.After(50 * time.Millisecond):
	}
	close(hold)
	<-fired
	if failed := <-ran; !failed {
		t.Errorf("the scheduler did not report the failed firing:\n%s", log.String())
	}
	for _, want := range []string{"job failing: firing at 2026-01-01T00:05:00Z failed:", `cannot parse "not-a-number"`, "sluice schedule: stopped"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// TestIssueExampleSpec runs the job spec of the CLI's design verbatim
// (bar the broker address, startingOffsets and an availableNow trigger)
// against an embedded broker: Kafka JSON values in, windowed counts as
// JSON values out through the exactly-once Kafka sink.
func TestIssueExampleSpec(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := devkafka.Start(ctx, devkafka.Config{Partitions: 2, Topics: []string{"user-clicks", "click-counts-output"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := b.Client(kgo.DefaultProduceTopic("user-clicks"), kgo.ConsumeTopics("click-counts-output"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := 0; i < 6; i++ {
		v := fmt.Sprintf(`{"user_id":"u%d","event_type":"click","timestamp":"2026-01-01T00:0%d:00Z"}`, i%2, i)
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	job := filepath.Join(dir, "job.yaml")
	os.WriteFile(job, []byte(fmt.Sprintf(`name: click-counts
sources:
  clicks:
    kafka: {bootstrapServers: %[1]s, subscribe: user-clicks, startingOffsets: earliest}
    value: {format: json, schema: "user_id STRING, event_type STRING, timestamp TIMESTAMP"}
    watermark: {column: timestamp, delay: 5s}
query: |
  SELECT user_id, window.end AS window_end, count(*) AS clicks
  FROM clicks GROUP BY user_id, window(timestamp, '5 minutes')
sink:
  kafka: {bootstrapServers: %[1]s, topic: click-counts-output}
  value: {format: json}
outputMode: update
trigger: {availableNow: true}
checkpoint: %[2]s
`, b.Addr(), filepath.Join(dir, "ck"))), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", job}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	var got []string
	for len(got) < 3 && ctx.Err() == nil {
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		fcancel()
	}
	sort.Strings(got)
	want := []string{
		`{"user_id":"u0","window_end":"2026-01-01T00:05:00.000Z","clicks":3}`,
		`{"user_id":"u1","window_end":"2026-01-01T00:05:00.000Z","clicks":2}`,
		`{"user_id":"u1","window_end":"2026-01-01T00:10:00.000Z","clicks":1}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output records:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), stderr.String())
	}
}

// TestScheduleCommandSignal runs the schedule command itself on the real
// clock (@every 1s) and stops it with SIGINT: exit 0 after a firing.
func TestScheduleCommandSignal(t *testing.T) {
	guard := make(chan os.Signal, 4)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "1.csv"), []byte("id\n1\n2\n"), 0o644)
	job := filepath.Join(dir, "job.yaml")
	os.WriteFile(job, []byte(fmt.Sprintf(`name: every-second
sources:
  src: {csv: {header: "true"}, path: %s, schema: "id INT"}
query: SELECT id FROM src
sink: {parquet: {}, path: %s}
trigger: {cron: "@every 1s"}
checkpoint: %s
`, in, filepath.Join(dir, "out"), filepath.Join(dir, "ck"))), 0o644)
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run([]string{"schedule", "--log-format", "json", job}, io.Discard, errb) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "done: 1 batches, 2 input rows") {
		if time.Now().After(deadline) {
			t.Fatalf("no firing:\n%s", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	interrupt(t)
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
	for _, want := range []string{"stopping: firings in flight commit", "sluice schedule: stopped"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("no %q in:\n%s", want, errb.String())
		}
	}
}
