package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/devkafka"
	"github.com/sluicehq/sluice/internal/ysb"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/trigger"
)

// ysbKafka is the end-to-end mode: an embedded broker on loopback, JSON
// events in a topic, the Kafka source (JSON decoded straight into Arrow),
// the query, the transactional Kafka sink, and a read_committed consumer
// of the counts in this process that stamps when each window's count
// became visible.
type ysbKafka struct {
	f      ysbFlags
	stderr io.Writer
	broker *devkafka.Broker
	// Maximum-rate mode: the events are produced once, before the first
	// rep; each rep reads them all from the start.
	g    *ysb.Gen
	want ysb.Counts
	held []arrow.RecordBatch // the ads tables of the reps' queries

	mu      sync.Mutex
	batches []map[string]time.Duration // the current query's batches' durations
}

const ysbEventsTopic = "ysb-events"

func newYSBKafka(f ysbFlags, stderr io.Writer) (*ysbKafka, error) {
	ctx := context.Background()
	b, err := devkafka.Start(ctx, devkafka.Config{})
	if err != nil {
		return nil, err
	}
	k := &ysbKafka{f: f, stderr: stderr, broker: b}
	if f.rate > 0 {
		return k, nil
	}
	if err := b.CreateTopics(ctx, int32(f.partitions), ysbEventsTopic); err != nil {
		k.close()
		return nil, err
	}
	k.g = ysb.New(ysb.Config{Rate: f.eventRate})
	t0 := time.Now()
	if err := k.produce(ctx, ysbEventsTopic, k.g, f.events, nil); err != nil {
		k.close()
		return nil, err
	}
	fmt.Fprintf(stderr, "produced %d JSON events to %s on %s in %.2fs\n", f.events, ysbEventsTopic, b.Addr(), time.Since(t0).Seconds())
	k.want = k.g.Reference(f.events).Closed(k.g.TimeMs(f.events - 1))
	return k, nil
}

func (k *ysbKafka) close() {
	k.broker.Close()
	for _, b := range k.held {
		b.Release()
	}
}

// produce writes events [0, n) of g to topic, all at once (pace nil) or
// each at the wall time pace returns for it.
func (k *ysbKafka) produce(ctx context.Context, topic string, g *ysb.Gen, n int64, pace func(i int64) time.Time) error {
	cl, err := k.broker.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(1<<18), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var mu sync.Mutex
	var perr error
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if perr == nil {
				perr = err
			}
			mu.Unlock()
		}
	}
	// One buffer per chunk of records: values point into it.
	const chunk = 1024
	for lo := int64(0); lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		if pace != nil {
			if d := time.Until(pace(lo)); d > 0 {
				time.Sleep(d)
			}
		}
		buf := make([]byte, 0, (hi-lo)*200)
		recs := make([]kgo.Record, hi-lo)
		for i := lo; i < hi; i++ {
			s := len(buf)
			buf = g.AppendJSON(buf, i)
			recs[i-lo].Value = buf[s:len(buf):len(buf)]
		}
		for i := range recs {
			cl.Produce(ctx, &recs[i], done)
		}
		if pace != nil {
			// Live: hand the chunk to the broker now, not when the
			// producer's buffer fills.
			if err := cl.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return perr
}

// seen is one window count as the consumer saw it.
type seen struct {
	key ysb.Key
	n   int64
	at  time.Time
}

// consume reads the counts topic read_committed until stop is closed,
// stamping each record when it arrives.
func (k *ysbKafka) consume(ctx context.Context, topic string, g *ysb.Gen, out chan<- seen) error {
	cl, err := k.broker.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	idx := g.CampaignIndex()
	for {
		fs := cl.PollFetches(ctx)
		at := time.Now()
		if ctx.Err() != nil {
			return nil
		}
		if err := fs.Err0(); err != nil {
			return err
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			var v struct {
				Campaign string `json:"campaign_id"`
				Start    int64  `json:"window_start_ms"`
				Count    int64  `json:"count"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				ferr = fmt.Errorf("count record %q: %w", r.Value, err)
				return
			}
			c, ok := idx[v.Campaign]
			if !ok {
				ferr = fmt.Errorf("count record %q: unknown campaign", r.Value)
				return
			}
			out <- seen{ysb.Key{Campaign: c, WindowStartMs: v.Start}, v.Count, at}
		})
		if ferr != nil {
			return ferr
		}
	}
}

// startQuery starts the query from the events topic to the counts topic.
func (k *ysbKafka) startQuery(ctx context.Context, s *dataframe.Session, g *ysb.Gen, in, out, ckpt string, trig trigger.Trigger, maxPerTrigger int64) (*dataframe.StreamingQuery, error) {
	// The static table outlives the query: the cache reads it at the
	// first batch. Released with the broker.
	ads := g.AdsBatch(s.Allocator())
	k.held = append(k.held, ads)
	valueSchema, fromJSON := ysb.JSONSchema, ysb.FromJSON
	if k.f.jsonFields == "query" {
		valueSchema, fromJSON = ysb.QueryJSONSchema, ysb.FromQueryJSON
	}
	r := s.ReadStreamFormat("kafka").
		Option("kafka.bootstrap.servers", k.broker.Addr()).
		Option("subscribe", in).
		Option("startingOffsets", "earliest").
		Option("valueFormat", "json").
		Option("valueSchema", valueSchema)
	if k.f.fetchBytes > 0 {
		r = r.Option("kafka.max.partition.fetch.bytes", strconv.FormatInt(k.f.fetchBytes, 10)).
			Option("kafka.fetch.max.bytes", strconv.FormatInt(max(k.f.fetchBytes, 52428800), 10))
	}
	if maxPerTrigger > 0 {
		r = r.Option("maxOffsetsPerTrigger", strconv.FormatInt(maxPerTrigger, 10))
	}
	events := fromJSON(r.Load())
	q, err := ysbQuery(s, events, s.CreateDataFrame(ysb.AdsSchema, ads).Cache(), k.f.sql)
	if err != nil {
		return nil, err
	}
	rows := q.SelectExpr("campaign_id AS key",
		"to_json(named_struct('campaign_id', campaign_id, 'window_start_ms', unix_millis(window.start), 'count', count)) AS value")
	return rows.WriteStream().Format("kafka").OutputMode(dataframe.Append).
		Listener(k.batchTimes()).
		Option("kafka.bootstrap.servers", k.broker.Addr()).
		Option("topic", out).
		Option("checkpointLocation", ckpt).
		Trigger(trig).
		QueryName("ysb").
		Start(ctx)
}

// batchTimes is a listener that keeps each batch's durations (reset per
// query), for the live mode's note: where a window's latency goes.
func (k *ysbKafka) batchTimes() microbatch.Listener {
	k.mu.Lock()
	k.batches = nil
	k.mu.Unlock()
	return microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		k.mu.Lock()
		k.batches = append(k.batches, e.Progress.Durations)
		k.mu.Unlock()
	}}
}

// batchNote summarises the batches' durations: count, and p50/p99 of the
// whole trigger and of its parts that wait on the disk (walCommit: the
// offset and commit logs) and on Kafka (addBatch: the plan and the
// transaction; getBatch: the fetch).
func (k *ysbKafka) batchNote() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	part := func(name string) string {
		ds := make([]time.Duration, 0, len(k.batches))
		for _, d := range k.batches {
			ds = append(ds, d[name])
		}
		return fmt.Sprintf("%s p50 %.1f p99 %.1f ms", name, pct(ds, 50), pct(ds, 99))
	}
	return fmt.Sprintf("%d batches: %s, %s, %s, %s", len(k.batches), part("triggerExecution"), part("getBatch"), part("addBatch"), part("walCommit"))
}

func (k *ysbKafka) trigger(def trigger.Trigger) trigger.Trigger {
	if k.f.trigger > 0 {
		return trigger.ProcessingTime(k.f.trigger)
	}
	return def
}

func (k *ysbKafka) run(rep int) (benchResult, error) {
	if k.f.rate > 0 {
		return k.runLive(rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := "ysb-counts-" + strconv.Itoa(rep)
	if err := k.broker.CreateTopics(ctx, 1, out); err != nil {
		return benchResult{}, err
	}
	s := dataframe.NewSession()
	seenc := make(chan seen, 1<<16)
	cerr := make(chan error, 1)
	go func() { cerr <- k.consume(ctx, out, k.g, seenc) }()
	ckpt := filepath.Join(k.f.checkpoint, "kafka-rep-"+strconv.Itoa(rep))
	t0, c0 := time.Now(), processCPU()
	// As the in-memory mode: the backlog in --batches micro-batches.
	per := (k.f.events + int64(k.f.batches) - 1) / int64(k.f.batches)
	q, err := k.startQuery(ctx, s, k.g, ysbEventsTopic, out, ckpt, k.trigger(trigger.AvailableNow()), per)
	if err != nil {
		return benchResult{}, err
	}
	qerr := make(chan error, 1)
	go func() { qerr <- q.AwaitTermination(ctx) }()
	got, last, err := k.collect(ctx, k.want, seenc, cerr, qerr, q)
	if err != nil {
		return benchResult{}, err
	}
	el, cpu := last.Sub(t0), processCPU()-c0
	if d := k.want.Diff(got); d != "" {
		return benchResult{}, fmt.Errorf("wrong answer: %s", d)
	}
	return benchResult{Workload: "ysb", Engine: "sluice", Mode: "kafka+json", Events: k.f.events, Seconds: el.Seconds(),
		EventsPerSec: float64(k.f.events) / el.Seconds(), CPUSeconds: cpu.Seconds(),
		Check: fmt.Sprintf("ok: %d groups = reference, each once", len(k.want)),
		Note: fmt.Sprintf("JSON fields decoded: %s; backlog of %d events read in %d micro-batches; timed from start until the last count was visible to a read_committed consumer; broker in this process (its CPU included)",
			k.f.jsonFields, k.f.events, k.f.batches)}, nil
}

// collect gathers counts until every wanted group has arrived (a group
// seen twice fails: the sink is exactly-once), and returns them with the
// time the last one became visible.
func (k *ysbKafka) collect(ctx context.Context, want ysb.Counts, seenc <-chan seen, cerr, qerr <-chan error, q *dataframe.StreamingQuery) (ysb.Counts, time.Time, error) {
	return k.collectWith(ctx, want, seenc, cerr, qerr, q, nil)
}

func (k *ysbKafka) collectWith(ctx context.Context, want ysb.Counts, seenc <-chan seen, cerr, qerr <-chan error, q *dataframe.StreamingQuery, each func(seen)) (ysb.Counts, time.Time, error) {
	got := ysb.Counts{}
	var last time.Time
	var stall <-chan time.Time
	defer q.Stop(context.Background())
	for len(got) < len(want) {
		select {
		case s := <-seenc:
			if _, dup := got[s.key]; dup {
				return nil, last, fmt.Errorf("campaign %d window %d: count delivered twice", s.key.Campaign, s.key.WindowStartMs)
			}
			got[s.key] = s.n
			if s.at.After(last) {
				last = s.at
			}
			if each != nil {
				each(s)
			}
		case err := <-cerr:
			return nil, last, fmt.Errorf("counts consumer: %w", err)
		case err := <-qerr:
			if err != nil {
				return nil, last, fmt.Errorf("query: %w", err)
			}
			// Finished: what is not visible within a few seconds is missing.
			qerr, stall = nil, time.After(10*time.Second)
		case <-stall:
			return got, last, fmt.Errorf("the query finished but %d of %d window counts never arrived: %s", len(want)-len(got), len(want), want.Diff(got))
		case <-ctx.Done():
			return nil, last, ctx.Err()
		}
	}
	return got, last, nil
}

// runLive produces at --rate for --duration while the query runs with the
// default trigger, event time = wall time, and measures each window's
// latency.
func (k *ysbKafka) runLive(rep int) (benchResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topicIn, out := ysbEventsTopic+"-live-"+strconv.Itoa(rep), "ysb-counts-live-"+strconv.Itoa(rep)
	if err := k.broker.CreateTopics(ctx, int32(k.f.partitions), topicIn); err != nil {
		return benchResult{}, err
	}
	if err := k.broker.CreateTopics(ctx, 1, out); err != nil {
		return benchResult{}, err
	}
	n := int64(k.f.duration.Seconds() * float64(k.f.rate))
	if n < 1 {
		return benchResult{}, fmt.Errorf("--duration %s at --rate %d is no events", k.f.duration, k.f.rate)
	}
	// Start a little ahead, so the query is up when the first event is due.
	start := time.Now().Add(2 * time.Second).Truncate(time.Millisecond)
	g := ysb.New(ysb.Config{StartMs: start.UnixMilli(), Rate: k.f.rate})
	want := g.Reference(n).Closed(g.TimeMs(n - 1))
	s := dataframe.NewSession()
	seenc := make(chan seen, 1<<16)
	cerr := make(chan error, 1)
	go func() { cerr <- k.consume(ctx, out, g, seenc) }()
	ckpt := filepath.Join(k.f.checkpoint, "kafka-live-rep-"+strconv.Itoa(rep))
	q, err := k.startQuery(ctx, s, g, topicIn, out, ckpt, k.trigger(trigger.ProcessingTime(0)), 0)
	if err != nil {
		return benchResult{}, err
	}
	qerr := make(chan error, 1)
	go func() { qerr <- q.AwaitTermination(ctx) }()
	perr := make(chan error, 1)
	c0 := processCPU()
	go func() {
		perr <- k.produce(ctx, topicIn, g, n, func(i int64) time.Time {
			return start.Add(time.Duration(i) * time.Second / time.Duration(k.f.rate))
		})
	}()
	// Each (campaign, window) count is final when it appears (append
	// mode): its latency is when it became visible - the window's end.
	var lat []time.Duration
	got, last, err := k.collectWith(ctx, want, seenc, cerr, qerr, q, func(s seen) {
		end := time.UnixMilli(s.key.WindowStartMs + ysb.WindowMs)
		lat = append(lat, s.at.Sub(end))
	})
	if err != nil {
		return benchResult{}, err
	}
	if err := <-perr; err != nil {
		return benchResult{}, fmt.Errorf("producer: %w", err)
	}
	cpu := processCPU() - c0
	if d := want.Diff(got); d != "" {
		return benchResult{}, fmt.Errorf("wrong answer: %s", d)
	}
	el := last.Sub(start)
	return benchResult{Workload: "ysb", Engine: "sluice", Mode: "kafka+json live", Events: n, Seconds: el.Seconds(),
		EventsPerSec: float64(n) / el.Seconds(), CPUSeconds: cpu.Seconds(), OfferedRate: k.f.rate, Latency: summarise(lat),
		Check: fmt.Sprintf("ok: %d groups = reference, each once", len(want)),
		Note: fmt.Sprintf("latency per window count = visible to a read_committed consumer - window end (event time = wall time); trigger %s; broker in this process; %s",
			triggerName(k.f.trigger), k.batchNote())}, nil
}

func triggerName(d time.Duration) string {
	if d <= 0 {
		return "default (back to back)"
	}
	return "ProcessingTime(" + d.String() + ")"
}
