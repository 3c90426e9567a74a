package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/microbatch"
)

// metricsServer serves a command's Prometheus metrics at /metrics, fed
// from each query's progress: one registry per process (never the global
// one), labelled by query name and id, so several queries of a schedule
// share one endpoint. Source labels are the sources' descriptions, which
// never carry credentials.
type metricsServer struct {
	reg *prometheus.Registry
	ln  net.Listener
	srv *http.Server
	// served reports the HTTP server's end.
	served chan error

	batches      *prometheus.CounterVec
	inputRows    *prometheus.CounterVec
	outputRows   *prometheus.CounterVec
	inRate       *prometheus.GaugeVec
	procRate     *prometheus.GaugeVec
	duration     *prometheus.HistogramVec
	lastBatch    *prometheus.GaugeVec
	watermark    *prometheus.GaugeVec
	stateRows    *prometheus.GaugeVec
	stateBytes   *prometheus.GaugeVec
	stateDropped *prometheus.CounterVec
	srcRows      *prometheus.CounterVec
	backlog      *prometheus.GaugeVec
	backlogBytes *prometheus.GaugeVec
	active       *prometheus.GaugeVec
}

var (
	queryLabels    = []string{"query", "query_id"}
	operatorLabels = []string{"query", "query_id", "operator", "index"}
	sourceLabels   = []string{"query", "query_id", "source"}
)

// startMetrics listens on addr (host:port; port 0 picks a free one) and
// serves /metrics until Close.
func startMetrics(addr string) (*metricsServer, error) {
	m := newMetrics()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.ln = ln
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.served = make(chan error, 1)
	go func() { m.served <- m.srv.Serve(ln) }()
	return m, nil
}

func newMetrics() *metricsServer {
	m := &metricsServer{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sluice", Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels []string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sluice", Name: name, Help: help}, labels)
		m.reg.MustRegister(g)
		return g
	}
	m.batches = counter("query_batches_total", "Micro-batches completed.", queryLabels)
	m.inputRows = counter("query_input_rows_total", "Rows read from all sources.", queryLabels)
	m.outputRows = counter("query_output_rows_total", "Rows written to the sink.", queryLabels)
	m.inRate = gauge("query_input_rows_per_second", "Input rate of the last batch: its rows over the time since the previous batch started.", queryLabels)
	m.procRate = gauge("query_processed_rows_per_second", "Processing rate of the last batch: its rows over its duration.", queryLabels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sluice", Name: "query_batch_duration_seconds",
		Help:    "Duration of each micro-batch (Spark's triggerExecution).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, queryLabels)
	m.reg.MustRegister(m.duration)
	m.lastBatch = gauge("query_last_batch_id", "Id of the last completed batch.", queryLabels)
	m.watermark = gauge("query_watermark_seconds", "Event-time watermark (Unix seconds) after the last batch; absent without one.", queryLabels)
	m.active = gauge("query_active", "1 while the query runs, 0 after it stopped.", queryLabels)
	m.stateRows = gauge("state_rows", "Rows in a stateful operator's state.", operatorLabels)
	m.stateBytes = gauge("state_memory_bytes", "Memory used by a stateful operator's state.", operatorLabels)
	m.stateDropped = counter("state_rows_dropped_by_watermark_total", "Input rows a stateful operator dropped as late.", operatorLabels)
	m.srcRows = counter("source_input_rows_total", "Rows read from a source.", sourceLabels)
	m.backlog = gauge("source_backlog", "Work left in a source after the last batch, in the source's unit (offsets, files, rows).", append(sourceLabels[:3:3], "unit"))
	m.backlogBytes = gauge("source_backlog_bytes", "Bytes left in a source after the last batch, where the source knows them (files).", sourceLabels)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Addr is the address the server listens on.
func (m *metricsServer) Addr() string { return m.ln.Addr().String() }

// Close stops the server, letting a scrape in flight finish.
func (m *metricsServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serr := <-m.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// listener feeds the metrics from one query's events.
func (m *metricsServer) listener() microbatch.Listener {
	var name string // the terminated event has no name
	return microbatch.ListenerFuncs{
		Started: func(e microbatch.StartedEvent) {
			name = e.Name
			m.active.WithLabelValues(e.Name, e.ID).Set(1)
		},
		Progress: func(e microbatch.ProgressEvent) {
			name = e.Progress.Name
			m.observe(e.Progress)
		},
		Terminated: func(e microbatch.TerminatedEvent) {
			m.active.WithLabelValues(name, e.ID).Set(0)
		},
	}
}

func (m *metricsServer) observe(p *microbatch.Progress) {
	q := []string{p.Name, p.ID}
	m.active.WithLabelValues(q...).Set(1)
	m.batches.WithLabelValues(q...).Inc()
	m.inputRows.WithLabelValues(q...).Add(float64(p.NumInputRows))
	m.outputRows.WithLabelValues(q...).Add(float64(max(p.Sink.NumOutputRows, 0)))
	m.inRate.WithLabelValues(q...).Set(p.InputRowsPerSecond)
	m.procRate.WithLabelValues(q...).Set(p.ProcessedRowsPerSecond)
	m.lastBatch.WithLabelValues(q...).Set(float64(p.BatchID))
	if d, ok := p.Durations["triggerExecution"]; ok {
		m.duration.WithLabelValues(q...).Observe(d.Seconds())
	} else {
		m.duration.WithLabelValues(q...).Observe(float64(p.BatchDuration) / 1000)
	}
	if wm, ok := p.EventTime["watermark"]; ok {
		if t, err := time.Parse("2006-01-02T15:04:05.000Z", wm); err == nil {
			m.watermark.WithLabelValues(q...).Set(float64(t.UnixMilli()) / 1000)
		}
	}
	for i, op := range p.StateOperators {
		l := []string{p.Name, p.ID, op.OperatorName, strconv.Itoa(i)}
		m.stateRows.WithLabelValues(l...).Set(float64(op.NumRowsTotal))
		m.stateBytes.WithLabelValues(l...).Set(float64(op.MemoryUsedBytes))
		m.stateDropped.WithLabelValues(l...).Add(float64(max(op.NumRowsDroppedByWatermark, 0)))
	}
	for _, s := range p.Sources {
		l := []string{p.Name, p.ID, s.Description}
		m.srcRows.WithLabelValues(l...).Add(float64(max(s.NumInputRows, 0)))
		if b := s.Backlog; b != nil {
			m.backlog.WithLabelValues(p.Name, p.ID, s.Description, b.Unit).Set(float64(b.Remaining))
			if b.Unit == "files" || b.RemainingBytes > 0 {
				m.backlogBytes.WithLabelValues(l...).Set(float64(b.RemainingBytes))
			}
		}
	}
}
