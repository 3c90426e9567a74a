package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/internal/jobspec"
)

// specCommand parses the flags and the one JOB argument of run, validate
// and explain; flags register a command's own flags.
func specCommand(name, help string, args []string, stderr io.Writer, flags ...func(*flag.FlagSet)) (*jobspec.Spec, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, f := range flags {
		f(fs)
	}
	fs.Usage = func() { fmt.Fprint(stderr, help) }
	if code, ok := parseFlags(fs, args); !ok {
		return nil, code
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

const runHelp = `Usage: sluice run [flags] JOB.yaml

Runs a job spec until it finishes (once / availableNow triggers) or until
Ctrl-C (SIGINT/SIGTERM): the first lets the batch in flight commit and
stops; a second abandons it (it is replayed from the checkpoint on the next
run). Progress goes to stderr: a live status line on a terminal (with a
progress bar and ETA for once / availableNow / cron), one JSON line per
batch otherwise. A cron trigger runs one firing's worth (availableNow) and
stops; use sluice schedule for the cron.

` + progressFlagsHelp + `
Exit codes: 0 done, 1 the job failed, 2 bad spec or usage.

Examples:
  sluice run examples/clickcount/job.yaml
  sluice run --log-format json --metrics-addr 127.0.0.1:9090 job.yaml
`

func runRun(args []string, stdout, stderr io.Writer) int {
	var pf progressFlags
	sp, code := specCommand("run", runHelp, args, stderr, pf.register)
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
	out, err := startProgress(pf, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return exitUsage
	}
	defer out.Close()
	t := sp.Trigger
	w = w.Listener(out.Listener(t.AvailableNow || t.Once || t.Cron != ""))
	q, err := w.Start(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %s: %v\n", sp.File, err)
		return exitFail
	}
	awaitQuery(ctx, q, out.Writer(), "sluice run")
	out.Close() // the final status line before any error
	if err := q.Exception(); err != nil {
		fmt.Fprintf(stderr, "sluice run: %s: %v\n", sp.File, err)
		return exitFail
	}
	return exitOK
}
