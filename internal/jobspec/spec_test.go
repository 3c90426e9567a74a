package jobspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/datadriven"
)

// TestSpecs runs testdata/*.txt:
//
//	validate   input: a spec; output: ok or the errors
//	explain    input: a spec; output: the query's plan, or the error
//
// ${TMP} in a spec is a temporary directory, ${SECRET} the string "hunter2"
// (which must never appear in an output).
func TestSpecs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tmp := t.TempDir()
			env := func(k string) (string, bool) {
				switch k {
				case "TMP":
					return tmp, true
				case "SECRET":
					return "hunter2", true
				}
				return "", false
			}
			datadriven.RunFile(t, f, func(t *testing.T, c *datadriven.Case) string {
				out := strings.ReplaceAll(run(t, c, env), tmp, "${TMP}")
				if strings.Contains(out, "hunter2") {
					t.Errorf("%s: a secret leaked into the output:\n%s", c.Pos, out)
				}
				return out
			})
		})
	}
}

func run(t *testing.T, c *datadriven.Case, env func(string) (string, bool)) string {
	sp, err := Parse([]byte(c.Input), env)
	if err != nil {
		return "error: " + err.Error()
	}
	switch c.Cmd {
	case "validate":
		if err := sp.Validate(); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	case "explain":
		w, err := sp.Writer(sp.NewSession())
		if err != nil {
			return "error: " + err.Error()
		}
		if err := w.Validate(); err != nil {
			return "error: " + err.Error()
		}
		df, _ := sp.DataFrame(sp.NewSession())
		return strings.TrimSpace(df.Explain())
	}
	c.Fatalf(t, "unknown command %q", c.Cmd)
	return ""
}

// FuzzParse: no spec text panics Parse or Validate.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		data, _ := os.ReadFile(name)
		for _, block := range strings.Split(string(data), "\n\n") {
			f.Add(block)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse([]byte(s), func(string) (string, bool) { return "x", true })
		if err == nil {
			_ = sp.Validate()
		}
	})
}

// FuzzSchedule: no cron line or zone panics Schedule (robfig/cron panics
// on some), and an accepted schedule fires.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"*/15 * * * *", "TZ=", "CRON_TZ=", "*/0 * * * *", "@every 0s", "@every -1s", "@every 1h", "0 0 31 2 *", "0 0 29 2 *", "@hourly", "? * * * *", "1-0 * * * *", "-1 * * * *", "0-59/60 * * * *"} {
		f.Add(s, "")
		f.Add(s, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, line, zone string) {
		if strings.Contains(zone, "..") || strings.ContainsAny(zone, "\x00") {
			return
		}
		s, err := (Trigger{Cron: line, Timezone: zone}).Schedule()
		if err == nil && s.Next(scheduleCheckFrom).IsZero() {
			t.Fatalf("cron %q accepted but never fires", line)
		}
	})
}
