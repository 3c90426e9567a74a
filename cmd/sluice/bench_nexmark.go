package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/nexmark"
	"github.com/sluicehq/sluice/sinks"
	memsrc "github.com/sluicehq/sluice/sources/memory"
	"github.com/sluicehq/sluice/trigger"
)

const nexmarkHelp = `Usage: sluice bench nexmark [--query q0,q1,...] [flags]

Nexmark (person, auction and bid events in the proportions 1:3:46, hot
auctions, bidders and sellers, Nexmark's row sizes; internal/nexmark) run
through sluice's SQL: q0 pass-through, q1 currency conversion, q2
selection, q3 local item suggestion (auction-person join), q4 average
price per category, q5 hot items (sliding 10 s / 2 s windows), q6 average
selling price by seller, q7 highest bid per 10 s window, q8 new users
(person-auction window join). The SQL is the Nexmark repository's, adapted
where internal/nexmark says why.

Each streaming query runs over in-memory streams of the tables it reads
(watermark on dateTime), split into --batches micro-batches, with a
checkpoint on local disk and Trigger.AvailableNow; windowed queries get
one last row per table an hour later so every window of the data closes.
Each query runs in the output mode internal/nexmark gives it (q4 and q6 in
complete mode: the last batch's output is the answer); a query marked as
not streaming runs as a batch query. Every answer is checked against
internal/nexmark's plain-Go reference; a wrong one fails the command.
Events/s counts the rows of the tables the query reads.

Examples:
  taskset -c 0 env GOMAXPROCS=1 sluice bench nexmark --query q0,q1,q2,q5,q7
  sluice bench nexmark --query q3 --events 1000000 --json
`

type nexmarkFlags struct {
	queries    string
	events     int64
	batches    int
	reps       int
	seed       uint64
	asJSON     bool
	cpuprofile string
	checkpoint string
}

func benchNexmark(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench nexmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f nexmarkFlags
	fs.StringVar(&f.queries, "query", "q0,q1,q2,q3,q4,q5,q6,q7,q8", "comma-separated queries to run (q0..q8)")
	fs.Int64Var(&f.events, "events", 5_000_000, "events to generate (people + auctions + bids)")
	fs.IntVar(&f.batches, "batches", 10, "micro-batches to split the events into")
	fs.IntVar(&f.reps, "reps", 3, "repetitions per query; the best is reported")
	fs.Uint64Var(&f.seed, "seed", 1, "generator seed")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON lines instead of the table")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the queries' timed runs (all reps; checking the answers included) to this file")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint parent directory (default a fresh temporary directory, removed afterwards)")
	fs.Usage = func() {
		fmt.Fprint(stderr, nexmarkHelp+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var qs []nexmark.Query
	for _, name := range strings.Split(f.queries, ",") {
		q, ok := nexmark.QueryByName(strings.TrimSpace(name))
		if !ok {
			fmt.Fprintf(stderr, "sluice bench nexmark: --query: no query %q (the queries are q0..q8)\n", name)
			return exitUsage
		}
		qs = append(qs, q)
	}
	if f.events < 1 || f.batches < 1 {
		fmt.Fprintln(stderr, "sluice bench nexmark: --events and --batches must be at least 1")
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "sluice bench nexmark:", err)
		return exitFail
	}
	if f.checkpoint == "" {
		dir, err := os.MkdirTemp("", "sluice-bench-nexmark-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		f.checkpoint = dir
	}
	t0 := time.Now()
	d, err := newNexmarkData(f)
	if err != nil {
		return fail(err)
	}
	defer d.release()
	fmt.Fprintf(stderr, "generated %d events (%d people, %d auctions, %d bids) in %.2fs\n",
		f.events, len(d.people), len(d.auctions), len(d.bids), time.Since(t0).Seconds())
	// The references first, so the profile holds the engine's runs only.
	wants := make([]digest, len(qs))
	for i, q := range qs {
		if wants[i], err = d.reference(q); err != nil {
			return fail(err)
		}
	}
	var prof *os.File
	if f.cpuprofile != "" {
		if prof, err = os.Create(f.cpuprofile); err != nil {
			return fail(err)
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return fail(err)
		}
	}
	machine := currentMachine()
	var results []benchResult
	for i, q := range qs {
		want := wants[i]
		var best *benchResult
		for r := 0; r < max(1, f.reps); r++ {
			res, err := d.run(q, r, want)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", q.Name, err))
			}
			fmt.Fprintf(stderr, "%s rep %d: %.2f M events/s\n", q.Name, r, res.EventsPerSec/1e6)
			if best == nil || res.EventsPerSec > best.EventsPerSec {
				best = &res
			}
		}
		best.Machine = machine
		results = append(results, *best)
	}
	if prof != nil {
		pprof.StopCPUProfile()
	}
	report(stdout, f.asJSON, results)
	return exitOK
}

// nexmarkData is the generated events: Go values for the reference, Arrow
// batches per table and micro-batch for the engine.
type nexmarkData struct {
	f        nexmarkFlags
	cfg      nexmark.Config
	people   []nexmark.Person
	auctions []nexmark.Auction
	bids     []nexmark.Bid
	// parts[table][i] is micro-batch i's batch of the table.
	parts map[string][]arrow.RecordBatch
}

var nexmarkSchemas = map[string]*arrow.Schema{"person": nexmark.PersonSchema, "auction": nexmark.AuctionSchema, "bid": nexmark.BidSchema}

func newNexmarkData(f nexmarkFlags) (*nexmarkData, error) {
	cfg := nexmark.Config{Events: f.events, Seed: f.seed}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	d := &nexmarkData{f: f, cfg: cfg, parts: map[string][]arrow.RecordBatch{}}
	mem := memory.DefaultAllocator
	for i := 0; i < f.batches; i++ {
		from, to := int64(i)*f.events/int64(f.batches), int64(i+1)*f.events/int64(f.batches)
		ps, as, bs, err := nexmark.Events(cfg, from, to)
		if err != nil {
			d.release()
			return nil, err
		}
		d.people, d.auctions, d.bids = append(d.people, ps...), append(d.auctions, as...), append(d.bids, bs...)
		d.parts["person"] = append(d.parts["person"], nexmark.PersonBatch(mem, ps))
		d.parts["auction"] = append(d.parts["auction"], nexmark.AuctionBatch(mem, as))
		d.parts["bid"] = append(d.parts["bid"], nexmark.BidBatch(mem, bs))
	}
	return d, nil
}

func (d *nexmarkData) release() {
	for _, bs := range d.parts {
		for _, b := range bs {
			b.Release()
		}
	}
}

// rowsRead is the number of rows of the tables q reads.
func (d *nexmarkData) rowsRead(q nexmark.Query) int64 {
	var n int64
	for _, t := range q.Tables {
		for _, b := range d.parts[t] {
			n += b.NumRows()
		}
	}
	return n
}

// digest is an order-independent summary of a result: the row count and
// the sum and xor of the rows' hashes (each row rendered as text, floats
// to 9 significant digits).
type digest struct {
	rows     int64
	sum, xor uint64
}

func (g *digest) add(row []any) {
	var sb strings.Builder
	for i, v := range row {
		if i > 0 {
			sb.WriteByte('|')
		}
		if f, ok := v.(float64); ok {
			sb.WriteString(strconv.FormatFloat(f, 'g', 9, 64))
			continue
		}
		sb.WriteString(nexmark.FormatValue(v))
	}
	h := xxhash.Sum64String(sb.String())
	g.rows++
	g.sum += h
	g.xor ^= h
}

func (d *nexmarkData) reference(q nexmark.Query) (digest, error) {
	r, err := nexmark.Reference(q.Name, d.people, d.auctions, d.bids)
	if err != nil {
		return digest{}, err
	}
	var g digest
	for _, row := range r.Rows {
		g.add(row)
	}
	if g.rows == 0 {
		return g, fmt.Errorf("%s: the reference result is empty for these events; give more --events", q.Name)
	}
	return g, nil
}

// run runs q once (a stream, or a batch query when q does not stream),
// times it, and checks its rows against want.
func (d *nexmarkData) run(q nexmark.Query, rep int, want digest) (benchResult, error) {
	ctx := context.Background()
	s := dataframe.NewSession()
	sink := &retainSink{}
	defer sink.release()
	rows := d.rowsRead(q)
	res := benchResult{Workload: "nexmark-" + q.Name, Engine: "sluice", Events: rows}
	var el, cpu time.Duration
	if !q.Streaming {
		for _, t := range q.Tables {
			if err := s.CreateDataFrame(nexmarkSchemas[t], d.parts[t]...).CreateOrReplaceTempView(t); err != nil {
				return res, err
			}
		}
		t0, c0 := time.Now(), processCPU()
		df := s.SQL(q.SQL)
		err := df.Execute(func(b arrow.RecordBatch) error {
			b.Retain()
			sink.batches = append(sink.batches, b)
			return nil
		})
		if err != nil {
			return res, err
		}
		el, cpu = time.Since(t0), processCPU()-c0
		res.Mode = "memory batch"
		res.Note = "does not stream: " + q.NotStreaming
	} else {
		windowed := strings.Contains(q.SQL+q.StreamSQL, "window(")
		for _, t := range q.Tables {
			// A cap of one row makes each addition (one part) a batch.
			st, err := memsrc.NewArrowStreamWith(t, nexmarkSchemas[t], memsrc.Options{MaxRowsPerTrigger: 1})
			if err != nil {
				return res, err
			}
			defer st.Close()
			for _, b := range d.parts[t] {
				if _, err := st.AddBatch(b); err != nil {
					return res, err
				}
			}
			if windowed {
				b := nexmarkSentinel(t, d.cfg.FirstEventTime.Add(time.Duration(d.cfg.Events)*d.cfg.InterEventDelay+time.Hour))
				_, err := st.AddBatch(b)
				b.Release()
				if err != nil {
					return res, err
				}
			}
			if err := s.ReadStream(st).WithWatermark("dateTime", nexmark.WatermarkDelay).CreateOrReplaceTempView(t); err != nil {
				return res, err
			}
		}
		text := q.SQL
		if q.StreamSQL != "" {
			text = q.StreamSQL
		}
		mode, err := sinks.ParseOutputMode(q.OutputMode)
		if err != nil {
			return res, err
		}
		t0, c0 := time.Now(), processCPU()
		sq, err := s.SQL(text).WriteStream().Sink(sink).OutputMode(mode).
			Trigger(trigger.AvailableNow()).
			Option("checkpointLocation", filepath.Join(d.f.checkpoint, q.Name+"-rep-"+strconv.Itoa(rep))).
			QueryName("nexmark_" + q.Name).
			Start(ctx)
		if err != nil {
			return res, err
		}
		if err := sq.AwaitTermination(ctx); err != nil {
			return res, err
		}
		el, cpu = time.Since(t0), processCPU()-c0
		res.Mode = "memory stream " + q.OutputMode
		res.Note = fmt.Sprintf("%d micro-batches, checkpointed", d.f.batches)
		if q.StreamSQL != "" {
			res.Note += "; streams the rewrite in internal/nexmark (StreamSQL)"
		}
	}
	res.Seconds, res.EventsPerSec, res.CPUSeconds = el.Seconds(), float64(rows)/el.Seconds(), cpu.Seconds()
	if rep == 0 {
		got := sink.digest()
		if got != want {
			return res, fmt.Errorf("wrong answer: %d rows (digest %x/%x), the reference has %d rows (%x/%x)", got.rows, got.sum, got.xor, want.rows, want.sum, want.xor)
		}
		res.Check = fmt.Sprintf("ok: %d rows = reference", got.rows)
	} else {
		if n := sink.rows(); n != want.rows {
			return res, fmt.Errorf("wrong answer: %d rows, the reference has %d", n, want.rows)
		}
		res.Check = fmt.Sprintf("ok: %d rows (digest checked on rep 0)", want.rows)
	}
	return res, nil
}

// nexmarkSentinel is one row an hour after the generated events, with ids
// that join nothing: its watermark closes every window of the data, and
// its own window never closes.
func nexmarkSentinel(table string, at time.Time) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	switch table {
	case "person":
		return nexmark.PersonBatch(mem, []nexmark.Person{{ID: -1, DateTime: at}})
	case "auction":
		return nexmark.AuctionBatch(mem, []nexmark.Auction{{ID: -1, Seller: -2, DateTime: at, Expires: at}})
	}
	return nexmark.BidBatch(mem, []nexmark.Bid{{Auction: -1, Bidder: -1, Price: -1, DateTime: at}})
}

// retainSink keeps the output batches (zero-copy) so that checking them
// is not part of the timed run.
type retainSink struct {
	mu      sync.Mutex
	batches []arrow.RecordBatch
}

func (r *retainSink) AddBatch(ctx context.Context, batchID int64, mode sinks.OutputMode, rows array.RecordReader) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mode == sinks.Complete { // each batch is the whole result
		r.release()
	}
	for rows.Next() {
		b := rows.RecordBatch()
		b.Retain()
		r.batches = append(r.batches, b)
	}
	return rows.Err()
}

func (r *retainSink) Close() error        { return nil }
func (r *retainSink) Description() string { return "RetainSink" }

func (r *retainSink) release() {
	for _, b := range r.batches {
		b.Release()
	}
	r.batches = nil
}

func (r *retainSink) rows() int64 {
	var n int64
	for _, b := range r.batches {
		n += b.NumRows()
	}
	return n
}

func (r *retainSink) digest() digest {
	var g digest
	for _, b := range r.batches {
		row := make([]any, b.NumCols())
		for i := 0; i < int(b.NumRows()); i++ {
			for c := range row {
				row[c] = nexmark.Value(b.Column(c), i)
			}
			g.add(row)
		}
	}
	return g
}
