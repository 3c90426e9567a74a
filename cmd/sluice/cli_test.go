package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/datadriven"
)

// TestCLI runs testdata/cli/*.txt:
//
//	file NAME      input: the file's text, written to a temp dir (NAME may
//	               have directories)
//	sluice ARGS    runs the command in the temp dir; output: the exit code,
//	               stdout and stderr (progress JSON lines are summarised
//	               as "progress: batch N, R input rows")
func TestCLI(t *testing.T) {
	files, _ := filepath.Glob("testdata/cli/*.txt")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			dir := t.TempDir()
			datadriven.RunFile(t, f, func(t *testing.T, c *datadriven.Case) string {
				switch c.Cmd {
				case "file":
					name := filepath.Join(dir, c.Args[0])
					if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(name, []byte(c.Input), 0o644); err != nil {
						t.Fatal(err)
					}
					return "ok"
				case "sluice":
					wd, _ := os.Getwd()
					if err := os.Chdir(dir); err != nil {
						t.Fatal(err)
					}
					defer os.Chdir(wd)
					var out, errb bytes.Buffer
					code := run(c.Args, &out, &errb)
					res := normalise(fmt.Sprintf("exit %d\n%s%s", code, out.String(), summariseProgress(errb.String())))
					// A blank line would end the expected output.
					return strings.ReplaceAll(strings.TrimSpace(strings.ReplaceAll(res, dir, "$DIR")), "\n\n", "\n")
				}
				c.Fatalf(t, "unknown command %q", c.Cmd)
				return ""
			})
		})
	}
}

var (
	uuidRe      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	batchTimeRe = regexp.MustCompile(`(at |"batchTimestampMs": )(\d{4}-\d\d-\d\dT[0-9:.]+Z|\d{13})`)
)

// normalise hides what changes from run to run: query ids and the wall
// clock time of batches.
func normalise(s string) string {
	s = uuidRe.ReplaceAllString(s, "<uuid>")
	return batchTimeRe.ReplaceAllString(s, "${1}<time>")
}

var progressLine = regexp.MustCompile(`"batchId":(\d+).*?"numInputRows":(\d+)`)

func summariseProgress(stderr string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if strings.HasPrefix(l, "{") {
			if m := progressLine.FindStringSubmatch(l); m != nil {
				fmt.Fprintf(&b, "progress: batch %s, %s input rows\n", m[1], m[2])
				continue
			}
		}
		b.WriteString(l)
	}
	return b.String()
}
