// Command sluice runs and inspects sluice jobs.
//
//	sluice demo
//	sluice run job.yaml
//	sluice bench clicks --input FILE.parquet
//	sluice bench ysb [--kafka [--rate N]]
//	sluice bench nexmark --query q0,q5
//	sluice version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes: 0 done, 1 the job failed, 2 usage or spec error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	name  string
	usage string
	run   func(args []string, stdout, stderr io.Writer) int
}

// commands is the one list of subcommands.
var commands = []command{
	{"bench", "run a benchmark workload (clicks, ysb, nexmark; docs/benchmarks.md)", runBench},
	{"compact", "merge the small files of a file sink's output directory (atomic manifest swap)", runCompact},
	{"demo", "run the click-count pipeline end to end on an embedded broker (try this first)", runDemo},
	{"dev", "run local stand-ins for services (dev kafka: an embedded Kafka broker)", runDev},
	{"run", "run a job spec until it finishes or Ctrl-C", runRun},
	{"validate", "check a job spec, its SQL and output mode, without side effects", runValidate},
	{"explain", "print a job spec's query plans", runExplain},
	{"schedule", "run job specs on their cron triggers (a daemon)", runSchedule},
	{"checkpoint", "inspect a query's checkpoint (checkpoint inspect DIR|s3://...)", runCheckpoint},
	{"version", "print the sluice version", runVersion},
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

// parseFlags parses a command's flags. ok is false when the command must
// stop with code: --help (usage printed by fs.Usage) is exit 0, a bad flag
// exit 2 (the flag package has said why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "sluice: Structured Streaming for Go\n\nUsage: sluice <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'sluice <command> --help' for a command's flags.")
}

const versionHelp = `Usage: sluice version

Prints the version sluice was built as (set with
-ldflags "-X main.version=v1.2.3"; "dev" otherwise).

Example:
  sluice version
`

func runVersion(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprint(stdout, versionHelp)
		return exitOK
	case len(args) > 0:
		fmt.Fprint(stderr, versionHelp)
		return exitUsage
	}
	fmt.Fprintf(stdout, "sluice %s\n", version)
	return exitOK
}
