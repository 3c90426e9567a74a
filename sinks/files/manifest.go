package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sinks"
)

// ErrConcurrentWriter: a manifest entry for the batch already exists with
// other content: another query writes the same output directory.
var ErrConcurrentWriter = errors.New("file sink: concurrent writer")

// manifestLog writes the manifest log of one output directory (format:
// fileformat.ManifestDir's doc).
//
// Compaction is levelled so that no batch does more than bounded work:
// after batch n, when n+1 is a multiple of interval^k (k >= 1, interval^k
// <= maxSpan), the batches n+1-interval^k..n are merged into one compact,
// for the highest such k. A compact's body is the concatenation of its
// children's bodies (the compacts one level down, or the entries), read
// from memory (the sink caches the bodies of the open ranges) or from
// storage after a restart. Compacts of maxSpan batches are sealed pages:
// the sink never touches them again, so the writing cost of a batch is at
// most maxSpan batches of file lines, however long the query runs; a
// reader reads about batches/maxSpan pages plus at most interval-1
// objects per level.
//
// Retention: objects covered by a compact are deleted one interval after
// it was written (not at once, so a reader that listed the children just
// before can still read them; ReadManifest lists again if one vanished).
type manifestLog struct {
	fs       storage.FS
	dir      string // dataset directory
	logDir   string
	interval int64
	maxSpan  int64

	loaded bool
	latest int64 // newest committed batch, -1 if none
	start  int64 // oldest batch of the log, -1 if none
	objs   map[string]fileformat.ManifestObject
	bodies map[string][]byte // bodies of objects in open (unsealed) ranges
}

func newManifestLog(fsys storage.FS, dir string, interval, maxSpan int64) *manifestLog {
	return &manifestLog{fs: fsys, dir: dir, logDir: path.Join(dir, fileformat.ManifestDir),
		interval: interval, maxSpan: maxSpan, latest: -1, start: -1}
}

// load writes the marker (before any data file, so readers treat the
// directory as managed from its very first file on) and reads which
// objects exist and the newest committed batch.
func (l *manifestLog) load(ctx context.Context) error {
	if l.loaded {
		return nil
	}
	// The marker also fixes the compaction geometry: compact ranges are
	// aligned to it, so it must not change over the log's life.
	marker := path.Join(l.logDir, fileformat.ManifestMarker)
	conf, _ := json.Marshal(markerConfig{CompactInterval: l.interval, MaxCompactBatches: l.maxSpan})
	err := l.fs.WriteFile(ctx, marker, append([]byte("v1\n"), conf...), storage.WriteOptions{CreateIfAbsent: true})
	if errors.Is(err, storage.ErrExist) {
		data, rerr := l.fs.ReadFile(ctx, marker)
		if rerr != nil {
			return fmt.Errorf("%w: file sink %s: read %s: %w", sinks.ErrSink, l.dir, marker, rerr)
		}
		var mc markerConfig
		if _, line, ok := bytes.Cut(data, []byte{'\n'}); ok && json.Unmarshal(line, &mc) == nil && mc.CompactInterval >= 2 && mc.MaxCompactBatches >= mc.CompactInterval {
			l.interval, l.maxSpan = mc.CompactInterval, mc.MaxCompactBatches
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%w: file sink %s: write %s: %w", sinks.ErrSink, l.dir, marker, err)
	}
	objs, _, err := fileformat.ListManifestObjects(ctx, l.fs, l.dir)
	if err != nil {
		return fmt.Errorf("%w: file sink %s: list manifest: %w", sinks.ErrSink, l.dir, err)
	}
	chain, err := fileformat.ChainManifest(objs)
	if err != nil {
		return fmt.Errorf("%w: file sink %s: %w", sinks.ErrSink, l.dir, err)
	}
	l.objs = make(map[string]fileformat.ManifestObject, len(objs))
	for _, o := range objs {
		l.objs[o.Name] = o
	}
	l.bodies = map[string][]byte{}
	if len(chain) > 0 {
		l.start = chain[0].First
		l.latest = chain[len(chain)-1].Last
	}
	l.loaded = true
	return nil
}

// markerConfig is the marker's second line: the compaction geometry fixed
// by the first writer (later option values are ignored, as Spark reads
// its compact interval from the log).
type markerConfig struct {
	CompactInterval   int64 `json:"compactInterval"`
	MaxCompactBatches int64 `json:"maxCompactBatches"`
}

// commit makes batch n's files visible: its entry, or, when n closes a
// range, directly the compact of that range including n's files (one
// durable write either way, so a compacting batch costs about what an
// ordinary one does). The object written is the batch's commit point.
func (l *manifestLog) commit(ctx context.Context, n int64, files []fileformat.ManifestFile) error {
	data, err := fileformat.EncodeManifestEntry(files)
	if err != nil {
		return err
	}
	if l.start < 0 {
		l.start = n
	}
	name := fileformat.ManifestEntryName(n)
	span := l.due(n)
	if span == 0 {
		if err := l.create(ctx, n, name, data); err != nil {
			return err
		}
		l.objs[name] = fileformat.ManifestObject{Name: name, First: n, Last: n}
		l.bodies[name] = data[len("v1\n"):]
		l.latest = max(l.latest, n)
		return nil
	}
	// n's lines join the compact without an entry of their own.
	l.bodies[name] = data[len("v1\n"):]
	defer func() {
		if _, ok := l.objs[name]; !ok {
			delete(l.bodies, name)
		}
	}()
	if err := l.compact(ctx, n, span); err != nil {
		return err
	}
	l.latest = max(l.latest, n)
	l.retain(ctx, n)
	return nil
}

// create writes a manifest object create-if-absent; an existing object
// with other content means another writer.
func (l *manifestLog) create(ctx context.Context, n int64, name string, data []byte) error {
	p := path.Join(l.logDir, name)
	err := l.fs.WriteFile(ctx, p, data, storage.WriteOptions{CreateIfAbsent: true})
	if errors.Is(err, storage.ErrExist) {
		old, rerr := l.fs.ReadFile(ctx, p)
		if rerr != nil {
			return fmt.Errorf("%w: file sink %s: manifest %s exists but cannot be read: %w", sinks.ErrSink, l.dir, p, rerr)
		}
		if !bytes.Equal(old, data) {
			return fmt.Errorf("%w: %s already exists with other files: another query may be writing to %s. Give each query its own output directory",
				ErrConcurrentWriter, p, l.dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: file sink %s: write manifest of batch %d: %w", sinks.ErrSink, l.dir, n, err)
	}
	return nil
}

// due reports the span of the compact that batch n closes (0 if none).
func (l *manifestLog) due(n int64) int64 {
	if (n+1)%l.interval != 0 {
		return 0
	}
	span := l.interval
	for span*l.interval <= l.maxSpan && (n+1)%(span*l.interval) == 0 {
		span *= l.interval
	}
	return span
}

// compact writes the compact of the span batches ending at n, from the
// widest objects below it (and n's lines, cached by commit).
func (l *manifestLog) compact(ctx context.Context, n, span int64) error {
	first := max(n+1-span, l.start)
	name := fileformat.ManifestCompactName(first, n, 0)
	if _, ok := l.objs[name]; ok {
		return nil
	}
	body, err := l.rangeBody(ctx, n+1-span, n, span)
	if err != nil {
		return err
	}
	sealed := span == l.maxSpan
	data, err := fileformat.EncodeManifestCompact(fileformat.ManifestHeader{First: first, Last: n, Sealed: sealed}, body)
	if err != nil {
		return err
	}
	if err := l.create(ctx, n, name, data); err != nil {
		return err
	}
	l.objs[name] = fileformat.ManifestObject{Name: name, First: first, Last: n, Compact: true}
	if !sealed {
		l.bodies[name] = body
	}
	return nil
}

// rangeBody is the concatenated file lines of batches lo..hi (an aligned
// range of span batches), from the widest objects available.
func (l *manifestLog) rangeBody(ctx context.Context, lo, hi, span int64) ([]byte, error) {
	if hi < l.start {
		return nil, nil
	}
	first := max(lo, l.start)
	if span == 1 {
		return l.body(ctx, fileformat.ManifestEntryName(hi), false)
	}
	if b, ok, err := l.compactBody(ctx, first, hi); ok || err != nil {
		return b, err
	}
	sub := span / l.interval
	var out []byte
	for s := lo; s <= hi; s += sub {
		b, err := l.rangeBody(ctx, s, s+sub-1, sub)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// compactBody returns the body of the best known compact of exactly
// first..last, if there is one.
func (l *manifestLog) compactBody(ctx context.Context, first, last int64) ([]byte, bool, error) {
	var best fileformat.ManifestObject
	found := false
	for g := 0; ; g++ {
		o, ok := l.objs[fileformat.ManifestCompactName(first, last, g)]
		if !ok {
			if g == 0 {
				continue
			}
			break
		}
		best, found = o, true
	}
	if !found {
		return nil, false, nil
	}
	b, err := l.body(ctx, best.Name, true)
	return b, true, err
}

// body returns an object's file lines, from the cache or storage.
func (l *manifestLog) body(ctx context.Context, name string, compact bool) ([]byte, error) {
	if b, ok := l.bodies[name]; ok {
		return b, nil
	}
	if _, ok := l.objs[name]; !ok {
		return nil, fmt.Errorf("%w: file sink %s: manifest object %s is missing, so its batches cannot be compacted (was it deleted by hand?)",
			sinks.ErrSink, l.dir, path.Join(l.logDir, name))
	}
	p := path.Join(l.logDir, name)
	data, err := l.fs.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%w: file sink %s: read %s: %w", sinks.ErrSink, l.dir, p, err)
	}
	_, b, err := fileformat.ManifestBody(p, data, compact)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// retain deletes the objects covered by compacts written at least one
// interval before batch n, and drops cached bodies no longer needed.
// Deletion is best effort: what fails stays and is retried later.
func (l *manifestLog) retain(ctx context.Context, n int64) {
	all := make([]fileformat.ManifestObject, 0, len(l.objs))
	for _, o := range l.objs {
		all = append(all, o)
	}
	chain, err := fileformat.ChainManifest(all)
	if err != nil {
		return
	}
	inChain := make(map[string]bool, len(chain))
	for _, c := range chain {
		inChain[c.Name] = true
	}
	for _, o := range all {
		if inChain[o.Name] {
			continue
		}
		i := sort.Search(len(chain), func(i int) bool { return chain[i].Last >= o.Last })
		if i == len(chain) || chain[i].First > o.First {
			continue // not covered (cannot happen for a valid chain)
		}
		cover := chain[i]
		if cover.Compact && cover.Last <= n-l.interval {
			if err := l.fs.Remove(ctx, path.Join(l.logDir, o.Name)); err == nil {
				delete(l.objs, o.Name)
				delete(l.bodies, o.Name)
			}
		} else if cover.Compact {
			delete(l.bodies, o.Name) // covered: its body is never read again
		}
	}
}
