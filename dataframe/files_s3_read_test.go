package dataframe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/storage"
)

// Batch Read of S3 (versitygw) for every file format: the streaming file
// sink writes a partitioned directory on S3, and s.Read()...Load of the
// s3:// location reads it back through the manifest (a data file outside
// the manifest stays invisible), with the schema given or, for Parquet,
// inferred from a footer on S3; a glob and a single file read too.
func TestS3BatchReadAllFormats(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	w := newS3World(t)
	w.put("in", "a.json", `{"id":1,"d":"mon"}`+"\n"+`{"id":2,"d":"tue"}`+"\n")
	w.put("in", "b.json", `{"id":3,"d":"mon"}`+"\n")
	want := []string{"1|2|mon", "2|4|tue", "3|6|mon"}
	for _, format := range []string{"parquet", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			out, ck := "out-"+format, "ck-"+format
			df := s.ReadStreamFormat("json").Schema("id BIGINT, d STRING").Option("maxFilesPerTrigger", "1").Load(w.at("in"))
			sw := df.WithColumn("twice", Expr("id * 2")).WriteStream().Format(format).
				Option("path", w.at(out)).Option("checkpointLocation", w.at(ck)).PartitionBy("d")
			if format == "csv" {
				sw.Option("header", "true")
			}
			if n := runAvailableNow(t, sw); n != 2 {
				t.Fatalf("%d batches, want 2", n)
			}
			// A crashed half-batch: a data file no manifest entry names.
			w.put(out, "d=mon/part-00000-99.c000."+format, "garbage, not "+format)
			r := s.Read().Format(format).Schema("id BIGINT, twice BIGINT, d STRING")
			if format == "csv" {
				r.Option("header", "true")
			}
			if got := rowStrings(t, r.Load(w.at(out))); !slices.Equal(got, want) {
				t.Fatalf("batch read of s3 %s:\n got %v\nwant %v", out, got, want)
			}
			if format != "parquet" {
				return
			}
			// Schema from the footer of a file on S3; partition column
			// from the directories.
			inferred := s.Read().Parquet(w.at(out))
			if got := rowStrings(t, inferred.Select(Col("id"), Col("twice"), Col("d"))); !slices.Equal(got, want) {
				t.Fatalf("inferred read: %v", got)
			}
			// A glob matching the output directory, a glob into its
			// partitions and a partition directory: the manifest still
			// rules (the stray file in d=mon would fail the read).
			mon := s.Read().Parquet(w.at("out-parq*")).Filter(Expr("d = 'mon'")).Select(Col("id"))
			if got := rowStrings(t, mon); !slices.Equal(got, []string{"1", "3"}) {
				t.Fatalf("glob read: %v", got)
			}
			for _, sub := range []string{out + "/d=m*", out + "/*/*.parquet", out + "/d=mon"} {
				df := s.Read().Schema("id BIGINT, twice BIGINT").Parquet(w.at(sub)).Select(Col("id"))
				if got := rowStrings(t, df); len(got) < 2 || got[0] != "1" {
					t.Fatalf("read of %s: %v", sub, got)
				}
			}
		})
	}
	// A plain directory (no manifest) of CSV files with a header, schema
	// inferred.
	w.put("plain", "x.csv", "a,b\n1,x\n2,y\n")
	w.put("plain", "sub/y.csv", "a,b\n3,z\n")
	got := rowStrings(t, s.Read().Option("header", "true").Option("inferSchema", "true").CSV(w.at("plain")))
	if !slices.Equal(got, []string{"1|x", "2|y", "3|z"}) {
		t.Fatalf("plain csv dir: %v", got)
	}
	one := rowStrings(t, s.Read().Option("header", "true").Schema("a INT, b STRING").CSV(w.at("plain/sub/y.csv")))
	if !slices.Equal(one, []string{"3|z"}) {
		t.Fatalf("one csv file: %v", one)
	}
}

// No secret of an s3:// location (secretAccessKey, sessionToken) shows in
// errors, EXPLAIN, progress JSON or anything written to the checkpoint or
// the output, on success and on failure.
func TestS3SecretsNeverShown(t *testing.T) {
	s, mem := testSession(t)
	defer mem.AssertSize(t, 0)
	w := newS3World(t)
	secret := w.srv.SecretKey
	const token = "SeSsIoNtOkEnXyZ0123456789"
	var seen []string // everything sluice printed or returned
	check := func(what, text string) {
		t.Helper()
		seen = append(seen, what)
		for _, x := range []string{secret, url.QueryEscape(secret), token} {
			if strings.Contains(text, x) {
				t.Errorf("%s shows a secret: %s", what, text)
			}
		}
	}
	w.put("in", "a.json", `{"id":1}`+"\n")
	q := s.ReadStreamFormat("json").Schema("id BIGINT").Load(w.at("in")).WriteStream().Format("parquet").
		Option("path", w.at("out")).Option("checkpointLocation", w.at("ck"))
	ctx := context.Background()
	sq, err := q.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sq.ProcessAllAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range sq.RecentProgress() {
		check("progress JSON", p.JSON())
		b, _ := json.Marshal(p)
		check("progress", string(b))
	}
	check("status", strings.ReplaceAll(jsonString(sq.Status()), `\u0026`, "&"))
	if err := sq.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Every object the query wrote.
	fsys, root, err := storage.Open(w.at(""))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := fsys.List(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := strings.TrimSuffix(dir, "/") + "/" + e.Name
			if e.IsDir {
				walk(name)
				continue
			}
			b, err := fsys.ReadFile(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			check("object "+name, string(b))
		}
	}
	walk(root)
	if !slices.ContainsFunc(seen, func(x string) bool { return strings.HasPrefix(x, "object /ck/offsets/") }) {
		t.Fatalf("the walk found no checkpoint: %v", seen)
	}

	read := s.Read().Schema("id BIGINT").Parquet(w.at("out"))
	check("explain", read.Explain(true))
	if got := rowStrings(t, read); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("read back: %v", got)
	}
	// Failures: a missing prefix, no schema, a bad parameter, a wrong
	// secret, a session token the server refuses, a sink and a
	// checkpoint that cannot be written.
	wrong := strings.Replace(w.at("out"), url.QueryEscape(secret), "wrong"+token, 1)
	withToken := w.at("out", "sessionToken="+token)
	for what, df := range map[string]*DataFrame{
		"missing prefix": s.Read().Parquet(w.at("nothing-here")),
		"no schema":      s.Read().JSON(w.at("in")),
		"bad parameter":  s.Read().Parquet(w.at("out", "partSize=1")),
		"wrong secret":   s.Read().Parquet(wrong),
		"session token":  s.Read().Parquet(withToken),
	} {
		_, err := df.Collect()
		if err == nil {
			t.Errorf("%s: no error", what)
			continue
		}
		t.Logf("%s: %v", what, err)
		check(what, err.Error())
		check(what+" %+v", strings.ReplaceAll(fmtPlus(err), `\u0026`, "&"))
	}
	for what, loc := range map[string]string{"sink": wrong, "checkpoint": withToken} {
		ck, out := w.at("ck2"), w.at("out2")
		if what == "sink" {
			out = loc
		} else {
			ck = loc
		}
		sq, err := s.ReadStreamFormat("json").Schema("id BIGINT").Load(w.at("in")).WriteStream().Format("json").
			Option("path", out).Option("checkpointLocation", ck).Start(ctx)
		if err == nil {
			err = sq.ProcessAllAvailable(ctx)
			if err == nil {
				err = sq.Exception()
			}
			for _, p := range sq.RecentProgress() {
				check(what+" progress", p.JSON())
			}
			sq.Stop(ctx)
		}
		if err == nil {
			t.Errorf("%s with a wrong credential: no error", what)
			continue
		}
		t.Logf("%s: %v", what, err)
		check(what+" error", err.Error())
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func fmtPlus(err error) string { return fmt.Sprintf("%+v %#v", err, err) }
