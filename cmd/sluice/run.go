package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/internal/jobspec"
	"github.com/sluicehq/sluice/microbatch"
)

// specCommand parses the flags and the one JOB argument of run, validate
// and explain.
func specCommand(name, help string, args []string, stderr io.Writer) (*jobspec.Spec, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, help) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK
		}
		return nil, exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, help)
		return nil, exitUsage
	}
	sp, err := jobspec.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return nil, exitUsage
	}
	if err := sp.Validate(); err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return nil, exitUsage
	}
	return sp, -1
}

const validateHelp = `Usage: sluice validate JOB.yaml

Checks a job spec without side effects: the spec's fields, the SQL against
the sources' schemas, the output mode against the plan, the sink format.
Exit code 0 when valid, 2 with every problem listed otherwise.

Example:
  sluice validate examples/clickcount/job.yaml
`

func runValidate(args []string, stdout, stderr io.Writer) int {
	sp, code := specCommand("validate", validateHelp, args, stderr)
	if sp == nil {
		return code
	}
	w, err := sp.Writer(sp.NewSession())
	if err == nil {
		err = w.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice validate: %s: %v\n", sp.File, err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: ok\n", sp.File)
	return exitOK
}

const explainHelp = `Usage: sluice explain JOB.yaml

Prints the job's analysed and optimised logical plans.

Example:
  sluice explain examples/clickcount/job.yaml
`

func runExplain(args []string, stdout, stderr io.Writer) int {
	sp, code := specCommand("explain", explainHelp, args, stderr)
	if sp == nil {
		return code
	}
	df, err := sp.DataFrame(sp.NewSession())
	if err != nil {
		fmt.Fprintf(stderr, "sluice explain: %s: %v\n", sp.File, err)
		return exitUsage
	}
	fmt.Fprint(stdout, df.Explain(true))
	return exitOK
}

const runHelp = `Usage: sluice run JOB.yaml

Runs a job spec until it finishes (once / availableNow triggers) or until
Ctrl-C (SIGINT/SIGTERM): the first lets the batch in flight commit and
stops; a second abandons it (it is replayed from the checkpoint on the next
run). Progress is
printed as one JSON line per batch on stderr. A cron trigger runs one
firing's worth (availableNow) and stops; use sluice schedule for the cron.

Exit codes: 0 done, 1 the job failed, 2 bad spec or usage.

Example:
  sluice run examples/clickcount/job.yaml
`

func runRun(args []string, stdout, stderr io.Writer) int {
	sp, code := specCommand("run", runHelp, args, stderr)
	if sp == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w, err := sp.Writer(sp.NewSession())
	if err == nil {
		err = w.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %s: %v\n", sp.File, err)
		return exitUsage
	}
	w = w.Listener(microbatch.ListenerFuncs{Progress: func(e microbatch.ProgressEvent) {
		fmt.Fprintln(stderr, e.Progress.JSON())
	}})
	q, err := w.Start(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %s: %v\n", sp.File, err)
		return exitFail
	}
	awaitQuery(ctx, q, stderr, "sluice run")
	if err := q.Exception(); err != nil {
		fmt.Fprintf(stderr, "sluice run: %s: %v\n", sp.File, err)
		return exitFail
	}
	return exitOK
}
