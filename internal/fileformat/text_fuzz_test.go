package fileformat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Fuzz targets for the text formats: whatever the input, readers return
// rows or an error wrapping ErrMalformed (never panic), produce valid Arrow
// arrays and release all memory. Seed corpora live in testdata/fuzz.
//
//	go test -run - -fuzz FuzzCSVRead -fuzztime 60s ./internal/fileformat

var fuzzCSVOptions = []map[string]string{
	{},
	{"header": "true", "mode": "PERMISSIVE"},
	{"multiLine": "true", "mode": "DROPMALFORMED"},
	{"multiLine": "true", "mode": "PERMISSIVE", "escape": `"`, "ignoreLeadingWhiteSpace": "true", "ignoreTrailingWhiteSpace": "true"},
	{"sep": ";", "quote": "'", "comment": "#", "nullValue": "NA", "emptyValue": "E", "mode": "PERMISSIVE"},
	{"quote": "", "timestampFormat": "dd/MM/yyyy[ HH:mm[:ss]][XXX]", "dateFormat": "yyyyMMdd", "mode": "PERMISSIVE"},
	{"multiLine": "true", "maxCharsPerColumn": "8", "maxColumns": "4", "mode": "PERMISSIVE", "timeZone": "Europe/Paris"},
	{"enforceSchema": "false", "header": "true"},
}

const fuzzCSVSchema = "a string, b int, c double, d timestamp, e decimal(10,2), f binary, g date, h boolean, _corrupt_record string"

func FuzzCSVRead(f *testing.F) {
	f.Add([]byte("a,1,1.5,2026-01-02 03:04:05,1.25,aGk=,2026-01-02,true,\n"), byte(0))
	f.Add([]byte("\"x\ny\",\"2\",\"\",,,,,,\r\n\"open"), byte(2))
	f.Add([]byte("\xef\xbb\xbfa;b\n'q''x';NA\n"), byte(4))
	schema := parseTestSchema(f, fuzzCSVSchema)
	f.Fuzz(func(t *testing.T, data []byte, sel byte) {
		opts := fuzzCSVOptions[int(sel)%len(fuzzCSVOptions)]
		batch := 1 + int(sel)/len(fuzzCSVOptions)%7
		fuzzRead(t, CSV, data, schema, opts, batch)
	})
}

func fuzzRead(t *testing.T, format Format, data []byte, schema *arrow.Schema, opts map[string]string, batch int) int {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := format.(StreamFormat).NewReader(context.Background(), bytes.NewReader(data), "fuzz", ReadOptions{
		Schema: schema, Mem: mem, Options: opts, BatchSize: batch})
	if err != nil {
		if errors.Is(err, ErrSchemaMismatch) || errors.Is(err, ErrOption) {
			return 0
		}
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	rows := 0
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSchemaMismatch) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return rows
		}
		if b.NumRows() == 0 || b.NumRows() > int64(batch) {
			t.Fatalf("batch of %d rows (batch size %d)", b.NumRows(), batch)
		}
		for _, c := range b.Columns() {
			validateArray(t, c)
			if c.Len() != int(b.NumRows()) {
				t.Fatalf("column has %d rows, batch %d", c.Len(), b.NumRows())
			}
		}
		rows += int(b.NumRows())
		b.Release()
	}
}

const fuzzJSONSchema = "a string, b bigint, c double, d struct<x:int,y:array<string>>, e array<struct<t:timestamp>>, f binary, g date, h boolean, i decimal(12,3), j tinyint, _corrupt_record string"

func FuzzJSONDecode(f *testing.F) {
	f.Add([]byte(`{"a":"x","b":1,"c":1.5,"d":{"x":1,"y":["p",null]},"e":[{"t":"2026-01-02T03:04:05Z"},{"t":1700000000}],"f":"aGk=","g":"2026-01-02","h":true,"i":"1.5","j":-3}`))
	f.Add([]byte(`[{"a":1},{"b":"x"}]`))
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","c":NaN,"zz":{"deep":[1,[2,{"q":null}]]}}`))
	full := parseTestSchema(f, fuzzJSONSchema)
	strs := parseTestSchema(f, "a string, b string, zz string")
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		for _, mode := range []string{"FAILFAST", "PERMISSIVE", "DROPMALFORMED"} {
			dec, err := NewJSONDecoder(full, mem, map[string]string{"mode": mode})
			if err != nil {
				t.Fatal(err)
			}
			err = dec.Append(data)
			if err != nil && (mode != "FAILFAST" || !errors.Is(err, ErrMalformed)) {
				t.Fatalf("%s: %v", mode, err)
			}
			if mode == "PERMISSIVE" && dec.Len() == 0 && len(bytes.TrimSpace(data)) > 0 && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
				t.Fatalf("PERMISSIVE dropped a record")
			}
			b := dec.NewBatch()
			for _, c := range b.Columns() {
				validateArray(t, c)
			}
			b.Release()
			dec.Release()
		}
		// With only string fields every well-formed object is accepted:
		// compare with encoding/json's validator.
		dec, _ := NewJSONDecoder(strs, mem, nil)
		err := dec.Append(data)
		dec.NewBatch().Release()
		trimmed := bytes.TrimSpace(data)
		if !utf8.Valid(data) || len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') ||
			bytes.Contains(data, []byte("NaN")) || bytes.Contains(data, []byte("INF")) || bytes.Contains(data, []byte("Infinity")) ||
			bytes.Count(data, []byte("{"))+bytes.Count(data, []byte("[")) > maxJSONDepth {
			return
		}
		valid := json.Valid(data)
		if trimmed[0] == '[' && valid {
			// A top-level array must hold objects only.
			var elems []json.RawMessage
			if json.Unmarshal(trimmed, &elems) == nil {
				for _, e := range elems {
					if len(e) == 0 || e[0] != '{' {
						valid = false
					}
				}
			}
		}
		if valid != (err == nil) {
			t.Fatalf("json.Valid=%v but decoder error %v for %q", valid, err, data)
		}
	})
}

func FuzzInfer(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2.5,\n"), false)
	f.Add([]byte(`{"a":1,"b":[{"c":"x"}]}`+"\n"+`{"a":1.5,"b":[]}`), true)
	f.Add([]byte("2026-01-02,true,99999999999999999999\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		ctx := context.Background()
		if isJSON {
			for _, mode := range []string{"FAILFAST", "PERMISSIVE", "DROPMALFORMED"} {
				o, _ := parseJSONOptions(map[string]string{"mode": mode})
				s, err := inferJSON(ctx, bytes.NewReader(data), "fuzz.json", o)
				if err != nil {
					if !errors.Is(err, ErrMalformed) {
						t.Fatalf("infer json: %v", err)
					}
					continue
				}
				// The inferred schema must read the same data in PERMISSIVE.
				fuzzRead(t, JSON, data, s, map[string]string{"mode": "PERMISSIVE"}, 3)
			}
			return
		}
		for _, opts := range []map[string]string{{"header": "true"}, {"multiLine": "true", "mode": "DROPMALFORMED"}} {
			o, _ := parseCSVOptions(opts)
			s, err := inferCSV(ctx, bytes.NewReader(data), "fuzz.csv", o)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("infer csv: %v", err)
				}
				continue
			}
			ro := map[string]string{"mode": "DROPMALFORMED"}
			for k, v := range opts {
				if k != "mode" {
					ro[k] = v
				}
			}
			// Every row the inference sampled with the inferred types parses.
			n := fuzzRead(t, CSV, data, s, ro, 5)
			_ = n
		}
	})
}

// TestWriteFuzzSeeds regenerates the seed corpora in testdata/fuzz from the
// testdata case inputs. Run with SLUICE_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("SLUICE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set SLUICE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	write := func(target, name, body string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := 0
	for _, file := range []string{"testdata/csv/read.txt", "testdata/infer/csv.txt"} {
		for _, tc := range loadTextCases(t, file) {
			sel := byte(seed % len(fuzzCSVOptions))
			write("FuzzCSVRead", fmt.Sprintf("seed-%03d", seed), fmt.Sprintf("[]byte(%s)\nbyte(%d)\n", strconv.Quote(tc.input), sel))
			write("FuzzInfer", fmt.Sprintf("seed-csv-%03d", seed), fmt.Sprintf("[]byte(%s)\nbool(false)\n", strconv.Quote(tc.input)))
			seed++
		}
	}
	for _, file := range []string{"testdata/json/read.txt", "testdata/infer/json.txt"} {
		for _, tc := range loadTextCases(t, file) {
			write("FuzzInfer", fmt.Sprintf("seed-json-%03d", seed), fmt.Sprintf("[]byte(%s)\nbool(true)\n", strconv.Quote(tc.input)))
			for k, line := range strings.Split(strings.TrimRight(tc.input, "\n"), "\n") {
				write("FuzzJSONDecode", fmt.Sprintf("seed-%03d-%02d", seed, k), fmt.Sprintf("[]byte(%s)\n", strconv.Quote(line)))
			}
			seed++
		}
	}
}
