// Package datadriven runs tests captured in testdata files, in the style
// of pebble's datadriven and Spark's testStream: each case is a command
// with arguments and an input block, then "----" and the expected output.
//
//	# comment
//	command arg1 key=value
//	input line 1
//	input line 2
//	----
//	expected output
//	(ends at a blank line)
//
// Run tests with -rewrite to regenerate every expected output.
package datadriven

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite expected outputs of datadriven tests")

// Case is one test case.
type Case struct {
	Pos     string // file:line
	Cmd     string
	Args    []string          // positional arguments
	KV      map[string]string // key=value arguments
	Input   string
	want    string
	line    int
	outLine int
}

// Arg returns key=value argument key, or def.
func (c *Case) Arg(key, def string) string {
	if v, ok := c.KV[key]; ok {
		return v
	}
	return def
}

// Fatalf reports a malformed case.
func (c *Case) Fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s: %s", c.Pos, fmt.Sprintf(format, args...))
}

// RunFile runs every case of path through fn and compares outputs.
func RunFile(t *testing.T, path string, fn func(t *testing.T, c *Case) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var cases []*Case
	for i := 0; i < len(lines); {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		c := &Case{Pos: fmt.Sprintf("%s:%d", path, i+1), line: i, KV: map[string]string{}}
		fields := strings.Fields(l)
		c.Cmd = fields[0]
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(f, "="); ok {
				c.KV[k] = v
			} else {
				c.Args = append(c.Args, f)
			}
		}
		i++
		var in []string
		for i < len(lines) && strings.TrimRight(lines[i], " ") != "----" {
			in = append(in, lines[i])
			i++
		}
		if i >= len(lines) {
			t.Fatalf("%s: missing ----", c.Pos)
		}
		c.Input = strings.Join(in, "\n")
		i++
		c.outLine = i
		var out []string
		for i < len(lines) && lines[i] != "" {
			out = append(out, lines[i])
			i++
		}
		c.want = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	var rewritten []string
	last := 0
	for _, c := range cases {
		got := strings.TrimRight(fn(t, c), "\n")
		if *rewrite {
			rewritten = append(rewritten, lines[last:c.outLine]...)
			if got != "" {
				rewritten = append(rewritten, strings.Split(got, "\n")...)
			}
			last = c.outLine
			for last < len(lines) && lines[last] != "" {
				last++
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s: %s\n--- got:\n%s\n--- want:\n%s", c.Pos, c.Cmd, got, c.want)
		}
	}
	if *rewrite {
		rewritten = append(rewritten, lines[last:]...)
		if err := os.WriteFile(path, []byte(strings.Join(rewritten, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Lines splits an input block into non-empty lines.
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
