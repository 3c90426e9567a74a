package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	sinkfiles "github.com/sluicehq/sluice/sinks/files"
)

const compactHelp = `Usage: sluice compact PATH [flags]

Rewrites the small files of a streaming file sink's output directory into
files of about --target-file-size, and swaps them in with one atomic write
of the directory's manifest (_sluice_log): readers (batch reads, the
streaming file source, downstream queries) see either the old files or the
new ones, never both and never neither. It is safe to run while the query
that writes PATH keeps running.

PATH is a local directory, file:///path or s3://bucket/prefix (S3 options
in the URL query: region, endpoint, pathStyle, profile, ...; credentials
from the standard AWS chain). Only directories written by the file sink
(they have a _sluice_log) can be compacted.

What it does, in order:
  - merges, per partition directory, files smaller than the target in the
    manifest ranges the sink has sealed (the sink keeps rewriting the
    range of its newest batches, by default up to 1000 batches; those
    files are left for a later run and reported);
  - the new files are marked as rewritten, so a streaming file source
    reading PATH does not deliver their rows a second time;
  - deletes the files an earlier run replaced once that run is older than
    --grace-period (readers that listed them before may still read them).

A crash leaves at most unreferenced files, which readers never see; run the
command again.

Examples:
  sluice compact out/clicks --dry-run
  sluice compact out/clicks --target-file-size 256MB
  sluice compact 's3://lake/clicks?region=eu-west-1' --grace-period 30m
  sluice compact out/events --format csv --schema 'id BIGINT, name STRING' --option header=true

Flags:`

// optionFlags collects repeated --option key=value.
type optionFlags map[string]string

func (o optionFlags) String() string { return "" }

func (o optionFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	o[strings.TrimSpace(k)] = val
	return nil
}

func runCompact(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target-file-size", "128MB", "merge files smaller than this into files of about this size (bytes, or 128MB, 1GiB; units are powers of 1024)")
	dryRun := fs.Bool("dry-run", false, "report what would be merged and deleted, change nothing")
	format := fs.String("format", "", "parquet, csv or json; default: from the data files' extension")
	schema := fs.String("schema", "", "schema of csv and json data files as DDL ('id BIGINT, name STRING'); parquet files carry theirs")
	minFiles := fs.Int("min-files", 2, "merge a partition's small files of a range only when there are at least this many")
	grace := fs.Duration("grace-period", time.Hour, "keep the files a run replaced this long before a later run deletes them")
	codec := fs.String("compression", "", "codec of the new files: snappy (parquet default), zstd, gzip, lz4, none; gzip or none for csv and json")
	opts := optionFlags{}
	fs.Var(opts, "option", "a format option as key=value (header=true, sep=;), repeatable; give the ones the sink wrote with")
	fs.Usage = func() {
		fmt.Fprintln(stderr, compactHelp)
		fs.PrintDefaults()
	}
	// Flags may come before or after PATH.
	var paths []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(paths) != 1 {
		fmt.Fprintf(stderr, "sluice compact: give exactly one PATH (got %d); see sluice compact --help\n", len(paths))
		return exitUsage
	}
	loc := paths[0]
	size, err := fileformat.ParseSize(*target)
	if err != nil || size < 1 {
		fmt.Fprintf(stderr, "sluice compact: --target-file-size=%q: want a positive size such as 128MB\n", *target)
		return exitUsage
	}
	fsys, root, err := storage.Open(loc)
	if err != nil {
		fmt.Fprintf(stderr, "sluice compact: %v\n", err)
		return exitUsage
	}
	name := storage.RedactLocation(loc)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *format == "" {
		if *format, err = detectFormat(ctx, fsys, root); err != nil {
			fmt.Fprintf(stderr, "sluice compact: %s: %v\n", name, err)
			return exitFail
		}
	}
	res, err := sinkfiles.Compact(ctx, fsys, root, sinkfiles.CompactOptions{
		TargetFileSize: size, MinFiles: *minFiles, GracePeriod: *grace, Format: *format, Schema: *schema,
		Compression: *codec, FormatOptions: opts, DryRun: *dryRun,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sluice compact: %s: %v\n", name, err)
		return exitFail
	}
	printCompact(stdout, name, *format, *grace, *dryRun, res)
	return exitOK
}

// detectFormat names the format of a sink directory's data files by
// their extension.
func detectFormat(ctx context.Context, fsys storage.FS, root string) (string, error) {
	m, err := fileformat.ReadManifest(ctx, fsys, root)
	if err != nil {
		return "", err
	}
	if !m.Present {
		return "", fmt.Errorf("not a file sink's output (no %s/%s): only directories written by the file sink can be compacted", fileformat.ManifestDir, fileformat.ManifestMarker)
	}
	for _, f := range m.Files {
		p := strings.TrimSuffix(f.Path, ".gz")
		for _, ext := range []string{"parquet", "csv", "json"} {
			if strings.HasSuffix(p, "."+ext) {
				return ext, nil
			}
		}
	}
	return "parquet", nil // no files yet: nothing to do whatever the format
}

func printCompact(w io.Writer, name, format string, grace time.Duration, dry bool, r sinkfiles.CompactResult) {
	verb, del := "rewrote", "deleted"
	if dry {
		verb, del = "would rewrite", "would delete"
		fmt.Fprintf(w, "sluice compact: %s (%s), dry run: nothing was changed\n", name, format)
	} else {
		fmt.Fprintf(w, "sluice compact: %s (%s)\n", name, format)
	}
	if r.PagesRewritten == 0 {
		fmt.Fprintln(w, "  nothing to merge: no sealed manifest range has --min-files small files in one partition")
	} else {
		into := fmt.Sprintf("%d files (%s)", r.FilesWritten, byteSize(r.BytesWritten))
		if dry {
			into = fmt.Sprintf("%d files (about %s)", r.FilesWritten, byteSize(r.BytesWritten))
		}
		fmt.Fprintf(w, "  %s %d manifest ranges: %d small files (%s) into %s\n", verb, r.PagesRewritten, r.FilesReplaced, byteSize(r.BytesReplaced), into)
	}
	if r.FilesDeleted > 0 {
		fmt.Fprintf(w, "  %s %d files replaced by an earlier run more than %v ago\n", del, r.FilesDeleted, grace)
	}
	if r.UnsealedFiles > 0 {
		fmt.Fprintf(w, "  left %d files of the newest batches: the sink may still rewrite their manifest range (a later run merges them)\n", r.UnsealedFiles)
	}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
