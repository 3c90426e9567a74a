package fileformat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/gzip"

	"github.com/sluicehq/sluice/internal/storage"
)

// Every format reads from a remote location (mem:// here; s3:// is the
// same code, tested against versitygw in dataframe): ListFiles names the
// files by URL with partitions, Infer and Open read them, gzip is picked
// by the name, and a missing file is ErrNotFound naming the URL.
func TestRemoteListAndOpen(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	name := fmt.Sprintf("loc%d", time.Now().UnixNano())
	m := storage.NamedMem(name)
	put := func(n string, data []byte) {
		t.Helper()
		if err := m.WriteFile(ctx, n, data, storage.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	schema, rec := pqTestRecord(t, mem)
	defer rec.Release()
	var pq bytes.Buffer
	pw, err := Parquet{}.NewWriter(&pq, schema, WriteOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	put("/pq/d=1/a.parquet", pq.Bytes())
	put("/pq/d=2/b.parquet", pq.Bytes())
	put("/pq/_SUCCESS", nil)
	put("/csv/a.csv", []byte("id,s\n1,a\n,bb\n3,\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("id,s\n7,z\n"))
	zw.Close()
	put("/csv/b.csv.gz", gz.Bytes())
	put("/json/a.json", []byte(`{"id":1,"s":"a"}`+"\n"+`{"id":null,"s":"bb"}`+"\n"))
	put("/text/a.txt", []byte("one\ntwo\n"))

	read := func(f Format, p string, opts ReadOptions) []string {
		t.Helper()
		opts.Mem = mem
		r, err := f.Open(ctx, p, opts)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		defer r.Close()
		var rows []string
		for {
			b, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", p, err)
			}
			for i := 0; i < int(b.NumRows()); i++ {
				var cells []string
				for _, c := range b.Columns() {
					cells = append(cells, c.ValueStr(i))
				}
				rows = append(rows, strings.Join(cells, "|"))
			}
			b.Release()
		}
		return rows
	}
	list := func(pattern string) []FileInfo {
		t.Helper()
		files, err := ListFiles(ctx, pattern)
		if err != nil {
			t.Fatalf("ListFiles(%s): %v", pattern, err)
		}
		return files
	}

	files := list("mem://" + name + "/pq")
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := []string{"mem://" + name + "/pq/d=1/a.parquet", "mem://" + name + "/pq/d=2/b.parquet"}
	if !slices.Equal(paths, want) {
		t.Fatalf("ListFiles = %v, want %v", paths, want)
	}
	if files[1].Partition["d"] != "2" || files[1].Size != int64(pq.Len()) {
		t.Errorf("file info %+v", files[1])
	}
	got, err := Parquet{}.Infer(ctx, files[0].Path, ReadOptions{})
	if err != nil || !got.Equal(schema) {
		t.Fatalf("Infer = %v, %v", got, err)
	}
	if rows := read(Parquet{}, files[0].Path, ReadOptions{Schema: schema}); !slices.Equal(rows, []string{"1|a", "(null)|bb", "3|(null)"}) {
		t.Errorf("parquet rows %v", rows)
	}
	if n := len(list("mem://" + name + "/pq/*/*.parquet")); n != 2 {
		t.Errorf("glob lists %d files", n)
	}

	csv, _ := Lookup("csv")
	var rows []string
	for _, f := range list("mem://" + name + "/csv") {
		rows = append(rows, read(csv, f.Path, ReadOptions{Schema: schema, Options: map[string]string{"header": "true"}})...)
	}
	if !slices.Equal(rows, []string{"1|a", "(null)|bb", "3|(null)", "7|z"}) {
		t.Errorf("csv rows %v", rows)
	}
	inferred, err := csv.Infer(ctx, "mem://"+name+"/csv/a.csv", ReadOptions{Options: map[string]string{"header": "true", "inferSchema": "true"}})
	if err != nil || inferred.NumFields() != 2 || inferred.Field(0).Type.ID() != arrow.INT32 && inferred.Field(0).Type.ID() != arrow.INT64 {
		t.Errorf("csv infer = %v, %v", inferred, err)
	}
	js, _ := Lookup("json")
	if rows := read(js, list("mem://" + name + "/json")[0].Path, ReadOptions{Schema: schema}); !slices.Equal(rows, []string{"1|a", "(null)|bb"}) {
		t.Errorf("json rows %v", rows)
	}
	// Names holding URL syntax survive the file URL.
	put("/odd/k=a%2Fb/x?y%20z #1.json", []byte(`{"id":5,"s":"odd"}`+"\n"))
	odd := list("mem://" + name + "/odd")
	if len(odd) != 1 || odd[0].Partition["k"] != "a/b" || DisplayName(odd[0].Path) != "mem://"+name+"/odd/k=a%2Fb/x?y%20z #1.json" {
		t.Fatalf("odd names: %+v", odd)
	}
	if rows := read(js, odd[0].Path, ReadOptions{Schema: schema}); !slices.Equal(rows, []string{"5|odd"}) {
		t.Errorf("odd name rows %v", rows)
	}
	text, _ := Lookup("text")
	if rows := read(text, "mem://"+name+"/text/a.txt", ReadOptions{}); !slices.Equal(rows, []string{"one", "two"}) {
		t.Errorf("text rows %v", rows)
	}

	// Missing things are ErrNotFound, named by URL.
	if _, err := ListFiles(ctx, "mem://"+name+"/nothing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing dir: %v", err)
	}
	for _, f := range []Format{Parquet{}, csv, js, text} {
		_, err := f.Open(ctx, "mem://"+name+"/gone.x", ReadOptions{Schema: schema, Options: map[string]string{}})
		if f == text {
			_, err = f.Open(ctx, "mem://"+name+"/gone.x", ReadOptions{})
		}
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "mem://"+name+"/gone.x") {
			t.Errorf("%s: missing file: %v", f.Name(), err)
		}
	}
}

// File URLs of a location with a secret carry the secret redacted, and
// name the same file system; a redacted URL that was never listed does
// not fall back to the placeholder as a credential.
func TestRemoteURLsRedactSecrets(t *testing.T) {
	const secret = "s3cr3tKEYvalue"
	loc := "s3://bkt/in?endpoint=http://127.0.0.1:1&accessKeyId=AK&secretAccessKey=" + secret + "&sessionToken=tok" + secret
	base, key, query := splitLocation(loc)
	if base != "s3://bkt" || key != "/in" {
		t.Fatalf("splitLocation = %q %q %q", base, key, query)
	}
	u := fileURL(base, "/in/x.parquet", query)
	if strings.Contains(u, secret) || !strings.HasPrefix(u, "s3://bkt/in/x.parquet?") || !strings.Contains(u, "accessKeyId=AK") {
		t.Fatalf("file URL %q", u)
	}
	b2, _, q2 := splitLocation(u)
	if remoteKey(b2, q2) != remoteKey(base, query) {
		t.Errorf("the file URL's key %q differs from the location's %q", remoteKey(b2, q2), remoteKey(base, query))
	}
	if DisplayName(u) != "s3://bkt/in/x.parquet" || DisplayName("/tmp/a") != "/tmp/a" {
		t.Errorf("DisplayName(%q) = %q", u, DisplayName(u))
	}
	_, err := Parquet{}.Open(context.Background(), u, ReadOptions{})
	if !errors.Is(err, errSecretUnknown) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "accessKeyId") {
		t.Errorf("open of an unlisted redacted URL: %v", err)
	}
	for _, p := range []string{"/a/b", "./x", "file:///x", "C:/x"} {
		if IsRemote(p) {
			t.Errorf("IsRemote(%q)", p)
		}
	}
	for _, p := range []string{"s3://b/x", "mem://m/x", "S3A://b"} {
		if !IsRemote(p) {
			t.Errorf("!IsRemote(%q)", p)
		}
	}
}

// A batch write to a remote location is refused (it would have made a
// local directory named "s3:"), without showing the secret.
func TestWriteDatasetRefusesRemote(t *testing.T) {
	wd, _ := os.Getwd()
	dir := t.TempDir()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	const loc = "s3://bkt/out?accessKeyId=AK&secretAccessKey=hunter2secret"
	err := WriteDataset(context.Background(), loc, Parquet{}, nil, func(func(arrow.RecordBatch) error) error { return nil }, DatasetWriteOptions{})
	if !errors.Is(err, ErrOption) || strings.Contains(err.Error(), "hunter2secret") || !strings.Contains(err.Error(), "s3://bkt/out") {
		t.Errorf("WriteDataset(%s) = %v", storage.RedactLocation(loc), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused write left %v", ents)
	}
}

// FuzzFileURL: any key survives the file URL round trip, the URL never
// holds the secret's value, and nothing panics.
func FuzzFileURL(f *testing.F) {
	f.Add("/out/d=1/part-0.parquet", "endpoint=http://x&secretAccessKey=abc", "abc")
	f.Add("/a?b#c%20d", "sessionToken=t0k&accessKeyId=A", "t0k")
	f.Add("/", "", "")
	f.Fuzz(func(t *testing.T, key, query, secret string) {
		key = path.Clean("/" + key)
		u := fileURL("s3://bkt", key, query)
		_, k2, _ := splitLocation(u)
		if k2 != key {
			t.Fatalf("key %q -> %q -> %q", key, u, k2)
		}
		if len(secret) >= 6 && strings.Contains(query, "secretAccessKey="+secret) && !strings.Contains(key, secret) &&
			!strings.Contains(strings.ReplaceAll(query, "secretAccessKey="+secret, ""), secret) && strings.Contains(u, secret) {
			t.Fatalf("secret %q in %q", secret, u)
		}
		_ = DisplayName(u)
	})
}
