package main

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/datadriven"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sources"
)

// TestStatusLine replays testdata/status/*.txt: query events at given
// times on a fake clock, each showing what the status line wrote, with
// the terminal controls made visible (<CR>, <UPn>, <CLR> clears a line,
// <CLR-DOWN> clears to the end of the screen).
//
//	new [width=N]             a fresh status line at t=0
//	start q=ID name=N [backfill=true] [at=DUR]
//	progress q=ID at=DUR batch=N rows=N in=R proc=R [wm=TS] [state=N]
//	         [backlog=UNIT:PROCESSED:REMAINING[,UNIT:...]]
//	idle q=ID at=DUR
//	stop q=ID at=DUR [err=MSG]
//	log at=DUR                the input is the message
//	finish at=DUR
func TestStatusLine(t *testing.T) {
	files, _ := filepath.Glob("testdata/status/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/status/*.txt")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var (
				out   bytes.Buffer
				now   time.Time
				s     *statusLine
				ls    map[string]microbatch.Listener
				names map[string]string
			)
			t0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
			datadriven.RunFile(t, f, func(t *testing.T, c *datadriven.Case) string {
				if at := c.Arg("at", ""); at != "" {
					d, err := time.ParseDuration(at)
					if err != nil {
						c.Fatalf(t, "at=%s: %v", at, err)
					}
					now = t0.Add(d)
				}
				q := c.Arg("q", "")
				switch c.Cmd {
				case "new":
					out.Reset()
					now = t0
					s = newStatusLine(&out, func() time.Time { return now })
					s.width, _ = strconv.Atoi(c.Arg("width", "0"))
					ls, names = map[string]microbatch.Listener{}, map[string]string{}
					return "ok"
				case "start":
					ls[q] = s.listener(c.Arg("backfill", "") == "true")
					names[q] = c.Arg("name", "")
					ls[q].OnQueryStarted(microbatch.StartedEvent{ID: q + "-0000-uuid", Name: names[q], Timestamp: now})
				case "progress":
					ls[q].OnQueryProgress(microbatch.ProgressEvent{Progress: fakeProgress(t, c, q+"-0000-uuid", names[q])})
				case "idle":
					ls[q].OnQueryIdle(microbatch.IdleEvent{ID: q + "-0000-uuid", Timestamp: now})
				case "stop":
					var err error
					if m := c.Arg("err", ""); m != "" {
						err = errors.New(m)
					}
					ls[q].OnQueryTerminated(microbatch.TerminatedEvent{ID: q + "-0000-uuid", Err: err})
				case "log":
					s.println(strings.TrimSpace(c.Input))
				case "finish":
					s.finish()
				default:
					c.Fatalf(t, "unknown command %q", c.Cmd)
				}
				got := visible(out.String())
				out.Reset()
				if got == "" {
					return "(nothing)"
				}
				return got
			})
		})
	}
}

// fakeProgress builds a progress from a case's arguments.
func fakeProgress(t *testing.T, c *datadriven.Case, id, name string) *microbatch.Progress {
	num := func(k string) float64 {
		v, err := strconv.ParseFloat(c.Arg(k, "0"), 64)
		if err != nil {
			c.Fatalf(t, "%s: %v", k, err)
		}
		return v
	}
	p := &microbatch.Progress{ID: id, Name: name, BatchID: int64(num("batch")), NumInputRows: int64(num("rows")),
		InputRowsPerSecond: num("in"), ProcessedRowsPerSecond: num("proc"), StateOperators: []microbatch.StateOperator{}}
	if wm := c.Arg("wm", ""); wm != "" {
		p.EventTime = map[string]string{"watermark": wm}
	}
	if st := c.Arg("state", ""); st != "" {
		for i, n := range strings.Split(st, ",") {
			rows, _ := strconv.ParseInt(n, 10, 64)
			p.StateOperators = append(p.StateOperators, microbatch.StateOperator{OperatorName: fmt.Sprintf("op%d", i), NumRowsTotal: rows})
		}
	}
	src := microbatch.SourceProgress{Description: "Src", NumInputRows: p.NumInputRows}
	if bl := c.Arg("backlog", ""); bl != "" {
		for _, part := range strings.Split(bl, ",") {
			f := strings.Split(part, ":")
			if len(f) != 3 {
				c.Fatalf(t, "backlog=%s: want UNIT:PROCESSED:REMAINING", bl)
			}
			pr, _ := strconv.ParseInt(f[1], 10, 64)
			re, _ := strconv.ParseInt(f[2], 10, 64)
			s := src
			s.Backlog = &sources.Backlog{Unit: f[0], Processed: pr, Remaining: re}
			p.Sources = append(p.Sources, s)
		}
	} else {
		p.Sources = append(p.Sources, src)
	}
	return p
}

var cursorUp = regexp.MustCompile(`\x1b\[(\d+)A`)

// visible shows terminal controls as <CR>, <UPn>, <CLR>, <CLR-DOWN>.
func visible(s string) string {
	s = strings.ReplaceAll(s, "\r", "<CR>")
	s = strings.ReplaceAll(s, "\x1b[2K", "<CLR>")
	s = strings.ReplaceAll(s, "\x1b[J", "<CLR-DOWN>")
	s = cursorUp.ReplaceAllString(s, "<UP$1>")
	s = strings.ReplaceAll(s, "\n", "<NL>\n")
	return strings.TrimRight(s, "\n")
}
