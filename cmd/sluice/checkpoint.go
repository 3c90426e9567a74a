package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicehq/sluice/microbatch"
)

const checkpointHelp = `Usage: sluice checkpoint inspect [--json] DIR|s3://bucket/prefix

Prints what a query's checkpoint holds, without taking it over (it also
works on the checkpoint of a running query): the committed batches and
the pending one (logged offsets, not yet committed: re-run on restart),
the end offsets per source of the last committed batch, its time, the
watermark the next batch runs with, and each stateful operator's state
rows and bytes. Progress reports are not kept in a checkpoint; the run's
progress lines have them. Secrets are redacted.

Flags:
  --json   one JSON object instead of text

Exit codes: 0 done, 1 the checkpoint cannot be read, 2 usage or no
checkpoint at the location.

Examples:
  sluice checkpoint inspect ./checkpoints/click-counts
  sluice checkpoint inspect --json s3://bucket/checkpoints/click-counts
`

func runCheckpoint(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, checkpointHelp)
		return exitOK
	}
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprint(stderr, checkpointHelp)
		return exitUsage
	}
	fs := flag.NewFlagSet("checkpoint inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkpointHelp) }
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, checkpointHelp)
		return exitUsage
	}
	info, err := microbatch.Inspect(context.Background(), fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "sluice checkpoint inspect: %v\n", err)
		if errors.Is(err, microbatch.ErrNotCheckpoint) {
			return exitUsage
		}
		return exitFail
	}
	if *asJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "sluice checkpoint inspect: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitOK
	}
	printCheckpoint(stdout, info)
	return exitOK
}

func printCheckpoint(w io.Writer, c *microbatch.CheckpointInfo) {
	fmt.Fprintf(w, "checkpoint:  %s\n", c.Location)
	fmt.Fprintf(w, "query id:    %s\n", c.QueryID)
	switch {
	case c.LastCommitted < 0:
		fmt.Fprintf(w, "committed:   none\n")
	case c.FirstCommitted == c.LastCommitted:
		fmt.Fprintf(w, "committed:   batch %d\n", c.LastCommitted)
	case c.FirstCommitted > 0:
		fmt.Fprintf(w, "committed:   batches %d..%d (older ones purged)\n", c.FirstCommitted, c.LastCommitted)
	default:
		fmt.Fprintf(w, "committed:   batches %d..%d\n", c.FirstCommitted, c.LastCommitted)
	}
	if len(c.Pending) == 0 {
		fmt.Fprintf(w, "pending:     none\n")
	} else {
		ids := make([]string, len(c.Pending))
		for i, id := range c.Pending {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(w, "pending:     batch %s (offsets logged, not committed: re-run on restart)\n", strings.Join(ids, ", "))
	}
	if c.LastCommitted >= 0 {
		if c.BatchTimestampMs > 0 {
			fmt.Fprintf(w, "last batch:  %d at %s\n", c.LastCommitted, msTime(c.BatchTimestampMs))
		}
		if c.WatermarkMs > 0 {
			fmt.Fprintf(w, "watermark:   %s\n", msTime(c.WatermarkMs))
		} else {
			fmt.Fprintf(w, "watermark:   none\n")
		}
		if len(c.Offsets) > 0 {
			fmt.Fprintf(w, "offsets of batch %d:\n", c.LastCommitted)
			for i, o := range c.Offsets {
				fmt.Fprintf(w, "  source %d: %s\n", i, o)
			}
		}
	}
	if len(c.Operators) == 0 {
		fmt.Fprintf(w, "state:       none (no stateful operator)\n")
	} else {
		fmt.Fprintf(w, "state:\n")
		for _, op := range c.Operators {
			at := "no committed state"
			if op.RowsBatch >= 0 {
				at = fmt.Sprintf("%d row%s after batch %d", op.Rows, ckPlural(op.Rows), op.RowsBatch)
			}
			fmt.Fprintf(w, "  operator %d %s (%d partitions): %s, %s\n", op.ID, op.Name, op.NumPartitions, at, byteSize(op.Bytes))
		}
	}
	fmt.Fprintf(w, "progress:    not kept in the checkpoint (see the run's progress lines)\n")
}

func msTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func ckPlural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
