package fileformat

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/storage"
)

// ErrPathExists: save mode "error" and the output directory already has data.
var ErrPathExists = errors.New("fileformat: output path already exists")

// DatasetWriteOptions configure WriteDataset.
type DatasetWriteOptions struct {
	// Mode is Spark's SaveMode: "error"/"errorifexists" (default: fail if
	// the directory exists and is not empty), "overwrite", "append",
	// "ignore" (do nothing if the directory has data).
	Mode string
	// PartitionBy writes Hive directories col=value (Spark's escaping,
	// NULL as __HIVE_DEFAULT_PARTITION__); these columns are left out of
	// the data files.
	PartitionBy []string
	// Options are the format's write options.
	Options map[string]string
	// MaxRecordsPerFile starts a new file after this many rows (0: no cap).
	MaxRecordsPerFile int64
	// FilePrefix starts data file names (default "part").
	FilePrefix string
	// JobID goes into file names: part-<n>-<JobID><ext>. Empty: a random
	// id. A streaming sink passes something derived from the batch id so a
	// replayed batch writes the same names.
	JobID string
	// Mem allocates the batches built when splitting by partition.
	Mem memory.Allocator
}

// Extensioner is implemented by formats whose files have an extension other
// than "." + Name().
type Extensioner interface{ Extension() string }

// WriteDataset writes the batches that produce emits into the directory
// dir, following opts. Files are first written to a staging directory and
// only moved into place after every batch was written, so a failing query
// leaves no partial output (and, for overwrite, leaves the old data):
//
//   - error/append/ignore: staging is dir/_temporary/<job> (hidden from
//     readers, like Spark); at commit each file is renamed into place and
//     the staging directory removed.
//   - overwrite: the new dataset is built in a sibling directory
//     .<name>.sluice-tmp-<job>; at commit the old directory is renamed to
//     .<name>.sluice-old-<job>, the new one renamed to dir, and the old one
//     deleted. Only a crash between the two renames leaves dir missing, and
//     then the old data is still whole in the -old directory.
//
// A _SUCCESS marker is written last. With no rows and no PartitionBy one
// empty file is written, so the schema can be read back.
func WriteDataset(ctx context.Context, dir string, format Format, schema *arrow.Schema,
	batches func(emit func(arrow.RecordBatch) error) error, opts DatasetWriteOptions) (err error) {
	if IsRemote(dir) {
		// os.MkdirAll would make a local directory named "s3:".
		return fmt.Errorf("%w: batch writes go to the local disk only, not %s; write it with the streaming file sink (WriteStream with Trigger(AvailableNow), exactly-once through its manifest) or to a local path",
			ErrOption, storage.RedactLocation(dir))
	}
	dir = strings.TrimPrefix(dir, "file://")
	if dir == "" {
		return fmt.Errorf("%w: empty output path", ErrOption)
	}
	mode := strings.ToLower(opts.Mode)
	if mode == "" || mode == "errorifexists" || mode == "default" {
		mode = "error"
	}
	switch mode {
	case "error", "overwrite", "append", "ignore":
	default:
		return fmt.Errorf("%w: save mode %q (use error, overwrite, append or ignore)", ErrOption, opts.Mode)
	}
	hasData, err := dirHasData(dir)
	if err != nil {
		return err
	}
	switch {
	case mode == "error" && hasData:
		return fmt.Errorf("%w: %s is not empty; use mode overwrite or append, or write elsewhere", ErrPathExists, dir)
	case mode == "ignore" && hasData:
		return nil
	}
	jobID := opts.JobID
	if jobID == "" {
		jobID = randomID()
	}
	var stage string
	if mode == "overwrite" {
		stage = filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".sluice-tmp-"+jobID)
	} else {
		stage = filepath.Join(dir, "_temporary", jobID)
	}
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return fmt.Errorf("fileformat: write %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(stage)
			if mode != "overwrite" {
				os.Remove(filepath.Join(dir, "_temporary")) // only if empty
				if !hasData {
					os.Remove(dir)
				}
			}
		}
	}()
	dw, err := newDatasetWriter(ctx, stage, format, schema, opts, jobID)
	if err != nil {
		return err
	}
	if err := batches(dw.write); err != nil {
		dw.abort()
		return err
	}
	if err := dw.close(); err != nil {
		return err
	}
	if mode == "overwrite" {
		return commitOverwrite(dir, stage, jobID)
	}
	return commitInto(dir, stage, dw.files)
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// dirHasData reports whether dir exists with at least one entry that is
// not hidden; a path that exists but is a file is an error.
func dirHasData(dir string) (bool, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fileformat: write %s: %w", dir, err)
	}
	if !st.IsDir() {
		return true, fmt.Errorf("%w: %s is a file, not a directory", ErrPathExists, dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("fileformat: write %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.Name() != "_temporary" {
			return true, nil
		}
	}
	return false, nil
}

func commitOverwrite(dir, stage, jobID string) error {
	if err := writeSuccess(stage); err != nil {
		return err
	}
	old := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".sluice-old-"+jobID)
	_, statErr := os.Stat(dir)
	exists := statErr == nil
	if exists {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("fileformat: overwrite %s: move old data aside: %w", dir, err)
		}
	}
	if err := os.Rename(stage, dir); err != nil {
		if exists {
			os.Rename(old, dir) // put the old data back
		}
		return fmt.Errorf("fileformat: overwrite %s: %w", dir, err)
	}
	syncDir(filepath.Dir(dir))
	if exists {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("fileformat: overwrite %s: new data is in place but the old copy %s could not be removed: %w", dir, old, err)
		}
	}
	return nil
}

func commitInto(dir, stage string, files []string) error {
	for _, rel := range files {
		to := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("fileformat: commit %s: %w", to, err)
		}
		if err := os.Rename(filepath.Join(stage, rel), to); err != nil {
			return fmt.Errorf("fileformat: commit %s: %w", to, err)
		}
	}
	os.RemoveAll(stage)
	os.Remove(filepath.Join(dir, "_temporary"))
	syncDir(dir)
	return writeSuccess(dir)
}

func writeSuccess(dir string) error {
	f, err := os.Create(filepath.Join(dir, "_SUCCESS"))
	if err != nil {
		return fmt.Errorf("fileformat: write _SUCCESS in %s: %w", dir, err)
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// datasetWriter routes rows to one open file per partition directory.
type datasetWriter struct {
	ctx       context.Context
	stage     string
	format    Format
	schema    *arrow.Schema // full input schema
	data      *arrow.Schema // without partition columns
	dataCols  []int
	partCols  []int
	opts      DatasetWriteOptions
	ext       string
	jobID     string
	mem       memory.Allocator
	open      map[string]*openFile
	order     []string
	files     []string // written, relative to stage
	nextFile  int
	wroteRows bool
}

type openFile struct {
	f    *os.File
	bw   *bufio.Writer
	w    Writer
	rel  string
	dir  string // partition directory, relative
	rows int64
}

func newDatasetWriter(ctx context.Context, stage string, format Format, schema *arrow.Schema, opts DatasetWriteOptions, jobID string) (*datasetWriter, error) {
	dw := &datasetWriter{ctx: ctx, stage: stage, format: format, schema: schema, opts: opts, jobID: jobID,
		open: map[string]*openFile{}, mem: opts.Mem}
	if dw.mem == nil {
		dw.mem = memory.DefaultAllocator
	}
	if e, ok := format.(Extensioner); ok {
		dw.ext = e.Extension()
	} else {
		dw.ext = "." + format.Name()
	}
	// A gzipped text file is named .csv.gz (as Spark names it), so readers,
	// ours included, know to gunzip it.
	switch format.(type) {
	case csvFormat, jsonFormat, textFormat:
		for k, v := range opts.Options {
			if (strings.EqualFold(k, "compression") || strings.EqualFold(k, "codec")) && strings.EqualFold(v, "gzip") {
				dw.ext += ".gz"
			}
		}
	}
	isPart := map[int]bool{}
	for _, p := range opts.PartitionBy {
		idx := schema.FieldIndices(p)
		if len(idx) == 0 {
			return nil, fmt.Errorf("%w: partition column %q is not in the schema (%s)", ErrOption, p, fieldList(schema))
		}
		isPart[idx[0]] = true
		dw.partCols = append(dw.partCols, idx[0])
	}
	var fields []arrow.Field
	for i, f := range schema.Fields() {
		if !isPart[i] {
			dw.dataCols = append(dw.dataCols, i)
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: every column is a partition column; nothing is left to write in the files", ErrOption)
	}
	dw.data = arrow.NewSchema(fields, nil)
	return dw, nil
}

func fieldList(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func (dw *datasetWriter) write(b arrow.RecordBatch) error {
	if err := dw.ctx.Err(); err != nil {
		return err
	}
	if b.NumRows() == 0 {
		return nil
	}
	if len(dw.partCols) == 0 {
		return dw.writeTo("", b)
	}
	// Partition key per row; rows of one key are gathered with Take.
	n := int(b.NumRows())
	keys := make([]string, n)
	var parts []string
	for i := 0; i < n; i++ {
		var sb strings.Builder
		for j, c := range dw.partCols {
			if j > 0 {
				sb.WriteByte('/')
			}
			f := dw.schema.Field(c)
			sb.WriteString(escapePathName(f.Name))
			sb.WriteByte('=')
			v := expr.ValueAt(b.Column(c), i)
			s := ""
			if v != nil {
				s = expr.FormatValue(v, f.Type, false)
			}
			if s == "" {
				sb.WriteString(HiveDefaultPartition)
			} else {
				sb.WriteString(escapePathName(s))
			}
		}
		keys[i] = sb.String()
	}
	groups := map[string][]int32{}
	for i, k := range keys {
		if _, ok := groups[k]; !ok {
			parts = append(parts, k)
		}
		groups[k] = append(groups[k], int32(i))
	}
	if len(parts) == 1 {
		return dw.writeTo(parts[0], b)
	}
	cctx := compute.WithAllocator(dw.ctx, dw.mem)
	for _, k := range parts {
		ib := array.NewInt32Builder(dw.mem)
		ib.AppendValues(groups[k], nil)
		idx := ib.NewArray()
		ib.Release()
		cols := make([]arrow.Array, b.NumCols())
		var err error
		for c := range cols {
			if cols[c], err = compute.TakeArray(cctx, b.Column(c), idx); err != nil {
				break
			}
		}
		idx.Release()
		if err == nil {
			sub := array.NewRecordBatch(b.Schema(), cols, int64(len(groups[k])))
			err = dw.writeTo(k, sub)
			sub.Release()
		}
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeTo writes the data columns of b to the open file of partition
// directory part, rolling files at MaxRecordsPerFile.
func (dw *datasetWriter) writeTo(part string, b arrow.RecordBatch) error {
	cols := make([]arrow.Array, len(dw.dataCols))
	for i, c := range dw.dataCols {
		cols[i] = b.Column(c)
	}
	data := array.NewRecordBatch(dw.data, cols, b.NumRows())
	defer data.Release()
	n := data.NumRows()
	for off := int64(0); off < n; {
		of, err := dw.file(part)
		if err != nil {
			return err
		}
		k := n - off
		if m := dw.opts.MaxRecordsPerFile; m > 0 && of.rows+k > m {
			k = m - of.rows
		}
		chunk := data
		if off != 0 || k != n {
			chunk = data.NewSlice(off, off+k)
		}
		err = of.w.Write(chunk)
		if chunk != data {
			chunk.Release()
		}
		if err != nil {
			return fmt.Errorf("fileformat: write %s: %w", of.rel, err)
		}
		of.rows += k
		off += k
		dw.wroteRows = true
		if m := dw.opts.MaxRecordsPerFile; m > 0 && of.rows >= m {
			if err := dw.closeFile(part); err != nil {
				return err
			}
		}
	}
	return nil
}

func (dw *datasetWriter) file(part string) (*openFile, error) {
	if of, ok := dw.open[part]; ok {
		return of, nil
	}
	prefix := dw.opts.FilePrefix
	if prefix == "" {
		prefix = "part"
	}
	name := fmt.Sprintf("%s-%05d-%s%s", prefix, dw.nextFile, dw.jobID, dw.ext)
	dw.nextFile++
	rel := name
	if part != "" {
		rel = filepath.Join(filepath.FromSlash(part), name)
	}
	full := filepath.Join(dw.stage, rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, fmt.Errorf("fileformat: write %s: %w", full, err)
	}
	f, err := os.Create(full)
	if err != nil {
		return nil, fmt.Errorf("fileformat: write %s: %w", full, err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	w, err := dw.format.NewWriter(bw, dw.data, WriteOptions{Mem: dw.mem, Options: dw.opts.Options})
	if err != nil {
		f.Close()
		os.Remove(full)
		return nil, err
	}
	of := &openFile{f: f, bw: bw, w: w, rel: rel, dir: part}
	dw.open[part] = of
	dw.order = append(dw.order, part)
	dw.files = append(dw.files, rel)
	return of, nil
}

func (dw *datasetWriter) closeFile(part string) error {
	of := dw.open[part]
	delete(dw.open, part)
	err := of.w.Close()
	if err == nil {
		err = of.bw.Flush()
	}
	if err == nil {
		err = of.f.Sync()
	}
	if cerr := of.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fileformat: write %s: %w", of.rel, err)
	}
	return nil
}

// close finishes every open file; with no rows at all (and no partitioning)
// it writes one empty file so the schema survives.
func (dw *datasetWriter) close() error {
	if !dw.wroteRows && len(dw.partCols) == 0 {
		if _, err := dw.file(""); err != nil {
			return err
		}
	}
	var first error
	for _, part := range dw.order {
		if _, ok := dw.open[part]; !ok {
			continue
		}
		if err := dw.closeFile(part); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (dw *datasetWriter) abort() {
	for part, of := range dw.open {
		of.w.Close()
		of.f.Close()
		delete(dw.open, part)
	}
}
