package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/trigger"
)

// CompactOptions configure Compact. Zero values take the documented
// default.
type CompactOptions struct {
	// TargetFileSize: files smaller than this are merged into files of
	// about this size. Default 128 MiB.
	TargetFileSize int64 `yaml:"targetFileSize"`
	// MinFiles: a partition's small files in a page are rewritten only
	// when there are at least this many. Default 2.
	MinFiles int `yaml:"minFiles"`
	// GracePeriod: the files a rewrite replaced stay readable this long
	// (readers that listed them before may still be reading), then a later
	// Compact deletes them. Default 1 hour.
	GracePeriod time.Duration `yaml:"gracePeriod"`
	// Format of the dataset: parquet (default), csv or json.
	Format string `yaml:"format"`
	// Schema (DDL) of the data files; required for csv and json, read
	// from the files for parquet.
	Schema string `yaml:"schema"`
	// Compression of the new files (as the sink's option).
	Compression string `yaml:"compression"`
	// FormatOptions are the format's read and write options.
	FormatOptions map[string]string `yaml:",inline"`
	// DryRun computes the result (which files would be merged, and which
	// replaced files are past their grace period) without writing or
	// deleting anything. BytesWritten is then the bytes of the files that
	// would be merged, an estimate of the new files' size.
	DryRun bool `yaml:"dryRun"`

	Clock trigger.Clock    `yaml:"-"`
	Mem   memory.Allocator `yaml:"-"`
}

// CompactResult says what Compact did.
type CompactResult struct {
	PagesRewritten int
	FilesReplaced  int
	FilesWritten   int
	BytesReplaced  int64
	BytesWritten   int64
	// FilesDeleted are files replaced by earlier runs and now past the
	// grace period.
	FilesDeleted int
	// UnsealedFiles are the files of manifest ranges the sink may still
	// rewrite (the newest ManifestMaxCompactBatches batches or fewer):
	// Compact leaves them for a later run.
	UnsealedFiles int
}

// Compact rewrites the small files of a file sink's output directory dir
// into files of about TargetFileSize, and swaps them in atomically: only
// sealed manifest pages (ranges the sink never rewrites) are compacted,
// and each rewritten page is published as a new generation of its
// compact object (<F>-<L>.<g>.compact, create-if-absent), which readers
// prefer over the older one. The running query may keep writing while
// Compact runs. A crash leaves unnamed files (invisible; the next run
// writes the same names again).
//
// New files are marked rewritten (Delta's dataChange=false), so a
// streaming file source reading dir does not deliver their rows again.
// Files replaced by an earlier run are deleted once that run is older
// than GracePeriod. This is `sluice compact PATH`.
func Compact(ctx context.Context, fsys storage.FS, dir string, o CompactOptions) (CompactResult, error) {
	var res CompactResult
	o, format, err := o.resolve()
	if err != nil {
		return res, err
	}
	objs, present, err := fileformat.ListManifestObjects(ctx, fsys, dir)
	if err != nil {
		return res, fmt.Errorf("%w: compact %s: %w", sinks.ErrSink, dir, err)
	}
	if !present {
		return res, fmt.Errorf("%w: compact %s: not a file sink's output (no %s/%s); only directories written by the file sink can be compacted",
			sinks.ErrSink, dir, fileformat.ManifestDir, fileformat.ManifestMarker)
	}
	chain, err := fileformat.ChainManifest(objs)
	if err != nil {
		return res, fmt.Errorf("%w: compact %s: %w", sinks.ErrSink, dir, err)
	}
	now := o.Clock.Now()
	logDir := path.Join(dir, fileformat.ManifestDir)
	for _, obj := range chain {
		if !obj.Compact {
			n, err := countFiles(ctx, fsys, path.Join(logDir, obj.Name), false)
			if err != nil {
				return res, err
			}
			res.UnsealedFiles += n
			continue
		}
		p := path.Join(logDir, obj.Name)
		data, err := fsys.ReadFile(ctx, p)
		if err != nil {
			return res, fmt.Errorf("%w: compact %s: %w", sinks.ErrSink, dir, err)
		}
		h, body, err := fileformat.ManifestBody(p, data, true)
		if err != nil {
			return res, err
		}
		// Phase 1: files and objects an earlier rewrite replaced, once no
		// reader can still be using them.
		if h.Gen > 0 && now.Sub(time.UnixMilli(h.WrittenMs)) >= o.GracePeriod {
			for _, rel := range h.Replaced {
				if o.DryRun {
					if _, err := fsys.Stat(ctx, path.Join(dir, rel)); err == nil {
						res.FilesDeleted++
					}
					continue
				}
				if err := fsys.Remove(ctx, path.Join(dir, rel)); err == nil {
					res.FilesDeleted++
				}
			}
			for _, older := range objs {
				if !o.DryRun && older.Compact && older.First == obj.First && older.Last == obj.Last && older.Gen < obj.Gen {
					fsys.Remove(ctx, path.Join(logDir, older.Name))
				}
			}
		}
		if !h.Sealed {
			files, err := fileformat.DecodeManifestFiles(p, body, nil)
			if err != nil {
				return res, err
			}
			res.UnsealedFiles += len(files)
			continue
		}
		files, err := fileformat.DecodeManifestFiles(p, body, nil)
		if err != nil {
			return res, err
		}
		// Phase 2: rewrite this page's small files.
		rewritten, err := compactPage(ctx, fsys, dir, obj, h, files, format, &o, now, &res)
		if err != nil {
			return res, err
		}
		if !rewritten {
			continue
		}
		res.PagesRewritten++
	}
	return res, nil
}

func (o CompactOptions) resolve() (CompactOptions, fileformat.Format, error) {
	if o.TargetFileSize == 0 {
		o.TargetFileSize = 128 << 20
	}
	if o.MinFiles == 0 {
		o.MinFiles = 2
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = time.Hour
	}
	if o.Clock == nil {
		o.Clock = trigger.System
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	name := strings.ToLower(o.Format)
	if name == "" {
		name = "parquet"
	}
	var errs []error
	if o.TargetFileSize < 0 || o.MinFiles < 0 || o.GracePeriod < 0 {
		errs = append(errs, errors.New("targetFileSize, minFiles and gracePeriod must not be negative"))
	}
	if o.MinFiles == 1 {
		errs = append(errs, errors.New("minFiles must be at least 2: rewriting one file alone gains nothing"))
	}
	format, ok := fileformat.Lookup(name)
	if !ok || name == "text" {
		errs = append(errs, fmt.Errorf("format %q: use parquet, csv or json", o.Format))
	}
	if name != "parquet" && o.Schema == "" {
		errs = append(errs, fmt.Errorf("a %s dataset needs schema (DDL) to be compacted", name))
	}
	if o.Schema != "" {
		if _, err := expr.ParseDDL(o.Schema); err != nil {
			errs = append(errs, fmt.Errorf("schema: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, nil, fmt.Errorf("%w: compact: %w", sinks.ErrSink, err)
	}
	return o, format, nil
}

// compactPage rewrites the small files of one sealed page and publishes
// the page's next generation; it reports whether it did.
func compactPage(ctx context.Context, fsys storage.FS, dir string, obj fileformat.ManifestObject, h fileformat.ManifestHeader,
	files []fileformat.ManifestFile, format fileformat.Format, o *CompactOptions, now time.Time, res *CompactResult) (bool, error) {
	// Small files per partition directory, in batch order.
	byDir := map[string][]int{}
	var dirs []string
	for i, f := range files {
		if f.Size >= o.TargetFileSize {
			continue
		}
		d := path.Dir(f.Path)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], i)
	}
	gen := h.Gen + 1
	replaced := map[int]bool{}
	var added []fileformat.ManifestFile
	var written []string
	cleanup := func() {
		for _, p := range written {
			fsys.Remove(ctx, p)
		}
	}
	seq := 0
	for _, d := range dirs {
		idx := byDir[d]
		if len(idx) < o.MinFiles {
			continue
		}
		// Greedy bins of about TargetFileSize, at least two files each.
		var bins [][]int
		var cur []int
		var size int64
		for _, i := range idx {
			if len(cur) > 0 && size+files[i].Size > o.TargetFileSize {
				bins = append(bins, cur)
				cur, size = nil, 0
			}
			cur = append(cur, i)
			size += files[i].Size
		}
		bins = append(bins, cur)
		for _, bin := range bins {
			if len(bin) < 2 {
				continue
			}
			if o.DryRun {
				for _, i := range bin {
					res.FilesReplaced++
					res.BytesReplaced += files[i].Size
					res.BytesWritten += files[i].Size
				}
				res.FilesWritten++
				added = append(added, fileformat.ManifestFile{})
				continue
			}
			rel := fmt.Sprintf("compact-%d-%d-g%d-%05d%s", obj.First, obj.Last, gen, seq, fullExt(files[bin[0]].Path))
			if d != "." {
				rel = d + "/" + rel
			}
			seq++
			mf, err := rewriteFiles(ctx, fsys, dir, rel, files, bin, format, o)
			if err != nil {
				cleanup()
				return false, err
			}
			written = append(written, path.Join(dir, rel))
			mf.ModTimeMs = now.UnixMilli()
			added = append(added, mf)
			for _, i := range bin {
				replaced[i] = true
				res.FilesReplaced++
				res.BytesReplaced += files[i].Size
			}
			res.FilesWritten++
			res.BytesWritten += mf.Size
		}
	}
	if len(added) == 0 || o.DryRun {
		return len(added) > 0, nil
	}
	// The new generation: the kept files, then the new ones.
	var names []string
	var lines []fileformat.ManifestFile
	for i, f := range files {
		if replaced[i] {
			names = append(names, f.Path)
			continue
		}
		lines = append(lines, f)
	}
	lines = append(lines, added...)
	entry, err := fileformat.EncodeManifestEntry(lines)
	if err != nil {
		cleanup()
		return false, err
	}
	_, body, _ := fileformat.ManifestBody("new", entry, false)
	nh := fileformat.ManifestHeader{First: h.First, Last: h.Last, Sealed: true, Gen: gen, WrittenMs: now.UnixMilli(), Replaced: names}
	data, err := fileformat.EncodeManifestCompact(nh, body)
	if err != nil {
		cleanup()
		return false, err
	}
	name := fileformat.ManifestCompactName(h.First, h.Last, gen)
	err = fsys.WriteFile(ctx, path.Join(dir, fileformat.ManifestDir, name), data, storage.WriteOptions{CreateIfAbsent: true})
	if err != nil {
		cleanup()
		if errors.Is(err, storage.ErrExist) {
			return false, fmt.Errorf("%w: compact %s: %s was written meanwhile: another Compact is running on this directory", ErrConcurrentWriter, dir, name)
		}
		return false, fmt.Errorf("%w: compact %s: publish %s: %w", sinks.ErrSink, dir, name, err)
	}
	return true, nil
}

// rewriteFiles concatenates the rows of files[bin] into the new file rel.
func rewriteFiles(ctx context.Context, fsys storage.FS, dir, rel string, files []fileformat.ManifestFile, bin []int,
	format fileformat.Format, o *CompactOptions) (fileformat.ManifestFile, error) {
	mf := fileformat.ManifestFile{Path: rel, Partition: files[bin[0]].Partition, Rewritten: true}
	var schema *arrow.Schema
	if o.Schema != "" {
		schema, _ = expr.ParseDDL(o.Schema)
	}
	w, err := fsys.Create(ctx, path.Join(dir, rel), storage.WriteOptions{})
	if err != nil {
		return mf, fmt.Errorf("%w: compact %s: create %s: %w", sinks.ErrSink, dir, rel, err)
	}
	defer w.Abort()
	cw := &countingWriter{w: w}
	var fw fileformat.Writer
	wopts := map[string]string{}
	for k, v := range o.FormatOptions {
		wopts[k] = v
	}
	switch {
	case o.Compression != "":
		wopts["compression"] = o.Compression
	case strings.HasSuffix(rel, ".gz"):
		wopts["compression"] = "gzip" // the name promises it to readers
	}
	for _, i := range bin {
		f := files[i]
		mf.Batch = max(mf.Batch, f.Batch)
		err := readFile(ctx, fsys, path.Join(dir, f.Path), format, schema, o, func(b arrow.RecordBatch) error {
			if fw == nil {
				schema = b.Schema()
				var err error
				if fw, err = format.NewWriter(cw, schema, fileformat.WriteOptions{Mem: o.Mem, Options: wopts}); err != nil {
					return err
				}
			}
			if !b.Schema().Equal(schema) {
				return fmt.Errorf("%w: %s has schema %s, other files of its page have %s", fileformat.ErrSchemaMismatch, f.Path, b.Schema(), schema)
			}
			mf.Rows += b.NumRows()
			return fw.Write(b)
		})
		if err != nil {
			return mf, fmt.Errorf("%w: compact %s: %w", sinks.ErrSink, dir, err)
		}
	}
	if fw == nil {
		if schema == nil {
			return mf, fmt.Errorf("%w: compact %s: the files for %s hold no rows and no schema was given", sinks.ErrSink, dir, rel)
		}
		if fw, err = format.NewWriter(cw, schema, fileformat.WriteOptions{Mem: o.Mem, Options: wopts}); err != nil {
			return mf, err
		}
	}
	if err := fw.Close(); err != nil {
		return mf, fmt.Errorf("%w: compact %s: finish %s: %w", sinks.ErrSink, dir, rel, err)
	}
	if err := w.Close(); err != nil {
		return mf, fmt.Errorf("%w: compact %s: publish %s: %w", sinks.ErrSink, dir, rel, err)
	}
	mf.Size = cw.n
	return mf, nil
}

// readFile streams the batches of one data file to emit.
func readFile(ctx context.Context, fsys storage.FS, name string, format fileformat.Format, schema *arrow.Schema,
	o *CompactOptions, emit func(arrow.RecordBatch) error) error {
	f, err := fsys.Open(ctx, name)
	if err != nil {
		return err
	}
	defer f.Close()
	ro := fileformat.ReadOptions{Schema: schema, Mem: o.Mem, Options: o.FormatOptions}
	var r fileformat.Reader
	switch ff := format.(type) {
	case fileformat.ReaderAtFormat:
		r, err = ff.OpenReaderAt(ctx, f, f.Size(), name, ro)
	case fileformat.StreamFormat:
		r, err = ff.NewReader(ctx, f, name, ro)
	default:
		err = fmt.Errorf("format %s cannot read from storage", format.Name())
	}
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		b, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = emit(b)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// fullExt is everything from the first dot of the base name (".csv.gz"),
// so readers pick the same decompression.
func fullExt(p string) string {
	base := path.Base(p)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		return base[i:]
	}
	return ""
}

// countFiles counts the file lines of a manifest object.
func countFiles(ctx context.Context, fsys storage.FS, name string, compact bool) (int, error) {
	data, err := fsys.ReadFile(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("%w: compact: %w", sinks.ErrSink, err)
	}
	_, body, err := fileformat.ManifestBody(name, data, compact)
	if err != nil {
		return 0, err
	}
	files, err := fileformat.DecodeManifestFiles(name, body, nil)
	return len(files), err
}
