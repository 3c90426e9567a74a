package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/sluicehq/sluice/microbatch"
)

// progressFlags are the progress options shared by run, schedule and demo:
// register them on the command's flag set, then startProgress.
type progressFlags struct {
	// LogFormat is auto (a status line on a terminal, JSON lines
	// otherwise), text (the status line) or json.
	LogFormat string
	// MetricsAddr, when set, serves Prometheus metrics at
	// http://MetricsAddr/metrics while the command runs.
	MetricsAddr string
}

const progressFlagsHelp = `Progress flags:
  --log-format auto|text|json  auto (default): a live status line per query
                               on a terminal, one JSON progress line per batch
                               otherwise; text: the status line; json: lines
  --metrics-addr HOST:PORT     serve Prometheus metrics at /metrics
                               (127.0.0.1:0 picks a free port, printed on stderr)
`

// register adds --log-format and --metrics-addr to fs.
func (f *progressFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.LogFormat, "log-format", "auto", "progress output: auto, text or json")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at HOST:PORT/metrics")
}

// errProgressFlags marks bad progress flags: a usage error (exit 2).
var errProgressFlags = errors.New("progress flags")

// progressOutput is where a command's queries report progress: a status
// line or JSON lines on stderr, and the metrics server. One per command;
// every query gets its own Listener.
type progressOutput struct {
	json    bool
	w       io.Writer
	mu      sync.Mutex // serialises JSON lines from several queries
	status  *statusLine
	metrics *metricsServer
	closed  sync.Once
	err     error
	// stopTicking ends the status line's periodic redraw.
	stopTicking func()
}

// startProgress sets up what f asks for on stderr. A status line is drawn
// when stderr is a terminal (or with --log-format text); otherwise each
// batch's progress is one JSON line (Progress.JSON, Spark's shape). Close
// it when the command ends: it prints the status line's final state and
// stops the metrics server.
func startProgress(f progressFlags, stderr io.Writer) (*progressOutput, error) {
	p := &progressOutput{w: stderr}
	switch f.LogFormat {
	case "", "auto":
		p.json = !isTerminal(stderr)
	case "json":
		p.json = true
	case "text":
	default:
		return nil, fmt.Errorf("%w: --log-format %q: want auto, text or json", errProgressFlags, f.LogFormat)
	}
	if !p.json {
		p.status = newStatusLine(stderr, time.Now)
		p.stopTicking = p.status.ticking(time.Second)
	}
	if f.MetricsAddr != "" {
		m, err := startMetrics(f.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: --metrics-addr %s: %w", errProgressFlags, f.MetricsAddr, err)
		}
		p.metrics = m
		p.println("sluice: metrics at http://" + m.Addr() + "/metrics")
	}
	return p, nil
}

// Listener reports one query. backfill says the query processes what is
// there and stops (availableNow, once, a cron firing): its status line then
// has a progress bar with the work left and an ETA.
func (p *progressOutput) Listener(backfill bool) microbatch.Listener {
	var ls multiListener
	if p.json {
		ls = append(ls, microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
			p.println(e.Progress.JSON())
		}})
	} else {
		ls = append(ls, p.status.listener(backfill))
	}
	if p.metrics != nil {
		ls = append(ls, p.metrics.listener())
	}
	return ls
}

// Logf prints a message between progress lines (the status line is
// cleared first and drawn again after).
func (p *progressOutput) Logf(format string, args ...any) {
	p.println(fmt.Sprintf(format, args...))
}

// Writer is stderr for messages while the status line is drawn: each
// write is printed above it (as Logf), so a message never lands in the
// middle of the line. Without a status line it is stderr itself.
func (p *progressOutput) Writer() io.Writer { return messageWriter{p} }

type messageWriter struct{ p *progressOutput }

func (m messageWriter) Write(b []byte) (int, error) {
	m.p.println(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func (p *progressOutput) println(s string) {
	if p.status != nil {
		p.status.println(s)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

// MetricsAddr is the metrics server's address ("" without one).
func (p *progressOutput) MetricsAddr() string {
	if p.metrics == nil {
		return ""
	}
	return p.metrics.Addr()
}

// Close draws the final status line and stops the metrics server; later
// calls do nothing.
func (p *progressOutput) Close() error {
	p.closed.Do(func() {
		if p.status != nil {
			p.stopTicking()
			p.status.finish()
		}
		if p.metrics != nil {
			p.err = p.metrics.Close()
		}
	})
	return p.err
}

// isTerminal reports whether w is a terminal (a status line can redraw).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// multiListener fans one query's events out to several listeners.
type multiListener []microbatch.Listener

func (m multiListener) OnQueryStarted(e microbatch.StartedEvent) {
	for _, l := range m {
		l.OnQueryStarted(e)
	}
}

func (m multiListener) OnQueryProgress(e microbatch.ProgressEvent) {
	for _, l := range m {
		l.OnQueryProgress(e)
	}
}

func (m multiListener) OnQueryIdle(e microbatch.IdleEvent) {
	for _, l := range m {
		l.OnQueryIdle(e)
	}
}

func (m multiListener) OnQueryTerminated(e microbatch.TerminatedEvent) {
	for _, l := range m {
		l.OnQueryTerminated(e)
	}
}
