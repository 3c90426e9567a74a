package files

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sources"
)

func readBad(t *testing.T, w *world, name string) []badRecord {
	t.Helper()
	data, err := w.fs.ReadFile(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []badRecord
	for _, ln := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r badRecord
		if err := json.Unmarshal([]byte(ln), &r); err != nil {
			t.Fatalf("%s: %q: %v", name, ln, err)
		}
		out = append(out, r)
	}
	return out
}

func TestBadRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	csvData := "a,b\n1,x\nzz,y\n3,z\n4\n"
	jsonData := `{"a":1,"b":"x"}` + "\n" + `{"a":"zz","b":"y"}` + "\n" + `{"a":3,"b":"z"}` + "\n" + `{"a":4,` + "\n"
	for _, tc := range []struct {
		format, data string
		opts         map[string]string
		line         string // of the first bad record
	}{
		{"csv", csvData, map[string]string{"header": "true"}, ":3"},
		{"json", jsonData, nil, ":2"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			w := newWorld(t)
			w.put("/in/a."+tc.format, 1, tc.data)
			o := Options{FS: w.fs, Path: "/in", Format: tc.format, Schema: "a INT, b STRING", FormatOptions: tc.opts, Mem: mem}

			// Without badRecordsPath the batch fails naming file and line.
			s, err := New(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			end, _ := s.LatestOffset(ctx, nil, sources.ReadLimit{})
			_, err = tryReadAll(s, nil, end)
			if err == nil || !strings.Contains(err.Error(), "/in/a."+tc.format+tc.line) {
				t.Errorf("malformed record error %v, want the file and line %s", err, tc.line)
			}

			o.BadRecordsPath = "/bad"
			s, err = New(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			end, _ = s.LatestOffset(ctx, nil, sources.ReadLimit{})
			rows := readAll(t, s, nil, end)
			if want := []string{"1|x", "3|z"}; !slices.Equal(rows, want) {
				t.Errorf("good rows %v, want %v", rows, want)
			}
			bad := readBad(t, w, "/bad/bad_records-0-0.json")
			if len(bad) != 2 || bad[0].Row != 2 || bad[1].Row != 4 || bad[0].Path != "/in/a."+tc.format {
				t.Fatalf("bad records %+v", bad)
			}
			if !strings.Contains(bad[0].Record, "zz") || !strings.Contains(bad[0].Reason, `"a"`) {
				t.Errorf("bad record 1: %+v (want the raw record and a reason naming column a)", bad[0])
			}
			if s.BadRecords() != 2 || s.Metrics()["numBadRecords"] != "2" {
				t.Errorf("counted %d, metrics %v", s.BadRecords(), s.Metrics())
			}
			// A replay rewrites the same file.
			readAll(t, s, nil, end)
			if again := readBad(t, w, "/bad/bad_records-0-0.json"); len(again) != 2 {
				t.Errorf("replay: %+v", again)
			}
		})
	}
	t.Run("parquet bad file", func(t *testing.T) {
		w := newWorld(t)
		writeParquet(t, mem, w.fs, "/in/good.parquet", 0, 3)
		w.put("/in/zbad.parquet", 2, "PAR1 this is not parquet PAR1")
		o := Options{FS: w.fs, Path: "/in", Format: "parquet", Schema: "id BIGINT, x DOUBLE, s STRING", Mem: mem}
		s, _ := New(ctx, o)
		end, _ := s.LatestOffset(ctx, nil, sources.ReadLimit{})
		if _, err := tryReadAll(s, nil, end); err == nil || !strings.Contains(err.Error(), "/in/zbad.parquet") {
			t.Errorf("corrupt parquet: %v", err)
		}
		o.BadRecordsPath = "/bad"
		s, _ = New(ctx, o)
		end, _ = s.LatestOffset(ctx, nil, sources.ReadLimit{})
		if rows := readAll(t, s, nil, end); len(rows) != 3 {
			t.Errorf("rows %v", rows)
		}
		bad := readBad(t, w, "/bad/bad_records-0-0.json")
		if len(bad) != 1 || !bad[0].File || bad[0].Path != "/in/zbad.parquet" {
			t.Errorf("bad file record %+v", bad)
		}
	})
}
