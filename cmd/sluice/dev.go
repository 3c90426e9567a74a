package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/internal/devkafka"
)

// `sluice dev <service>` runs local stand-ins for the services a job talks
// to, so sluice can be tried without installing them. Only kafka so far.

const devHelp = `Usage: sluice dev <service> [flags]

Services:
  kafka   an embedded Kafka-compatible broker (franz-go's kfake)

Run 'sluice dev kafka --help' for its flags.`

const devKafkaHelp = `Usage: sluice dev kafka [--addr HOST:PORT] [--partitions N] [--topics a,b] [--data-dir DIR [--sync]]

Runs a single Kafka-compatible broker in this process (franz-go's kfake),
prints its address and serves until interrupted (Ctrl-C, SIGTERM). It
speaks the Kafka protocol, transactions included, so sluice's Kafka source
and exactly-once sink, kcat and other Kafka clients work against it.
Topics are created on first use with --partitions partitions. Without
--data-dir everything is in memory and gone when it stops; with it the
log, offsets and transactions are saved and a restart on the same
directory carries on.

Not for production: one broker, no replication, no authentication.

Examples:
  sluice dev kafka
  sluice dev kafka --addr 127.0.0.1:19092 --partitions 4 --topics user-clicks,click-counts-output
  sluice dev kafka --data-dir /tmp/sluice-kafka

  # then, in another shell:
  printf 'u1:{"user_id":"u1","event_type":"view"}\n' | kcat -P -b 127.0.0.1:9092 -t user-clicks -K:
  kcat -C -b 127.0.0.1:9092 -t click-counts-output -X isolation.level=read_committed -e

Flags:`

func runDev(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, devHelp)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "kafka":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return devKafka(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sluice dev: unknown service %q (known: kafka)\n", args[0])
	return exitUsage
}

// devKafka serves until ctx is done.
func devKafka(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev kafka", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9092", "host:port to listen on (port 0 picks a free one)")
	partitions := fs.Int("partitions", 1, "partitions of --topics and of topics created on first use")
	topics := fs.String("topics", "", "comma-separated topics to create at start")
	dataDir := fs.String("data-dir", "", "keep the broker's data in this directory across restarts (default: memory only)")
	sync := fs.Bool("sync", false, "with --data-dir: fsync every write (slower; nothing acknowledged is lost if the process is killed)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, devKafkaHelp)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice dev kafka: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *partitions < 1 || *partitions > 10000 {
		fmt.Fprintf(stderr, "sluice dev kafka: --partitions %d: want 1..10000\n", *partitions)
		return exitUsage
	}
	if *sync && *dataDir == "" {
		fmt.Fprintln(stderr, "sluice dev kafka: --sync needs --data-dir")
		return exitUsage
	}
	var names []string
	for _, t := range strings.Split(*topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			names = append(names, t)
		}
	}
	if *dataDir != "" {
		if err := os.MkdirAll(*dataDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "sluice dev kafka: --data-dir: %v\n", err)
			return exitFail
		}
	}
	b, err := devkafka.Start(ctx, devkafka.Config{
		Addr: *addr, Partitions: int32(*partitions), Topics: names, DataDir: *dataDir, SyncWrites: *sync,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintf(stderr, "sluice dev kafka: %v\n", err)
		if strings.Contains(err.Error(), "address already in use") {
			fmt.Fprintln(stderr, "Another broker (or sluice dev kafka) is using that port; stop it or pick another with --addr 127.0.0.1:19092.")
		}
		return exitFail
	}
	defer b.Close()
	fmt.Fprintf(stdout, "kafka broker listening on %s\n", b.Addr())
	if len(names) > 0 {
		fmt.Fprintf(stdout, "topics: %s (%d partitions each)\n", strings.Join(names, ", "), *partitions)
	}
	if *dataDir != "" {
		fmt.Fprintf(stdout, "data: %s\n", *dataDir)
	}
	fmt.Fprintf(stdout, "use option kafka.bootstrap.servers=%s; Ctrl-C stops\n", b.Addr())
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return exitOK
}
