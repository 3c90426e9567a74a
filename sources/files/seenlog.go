package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/wal"
)

// ErrConcurrentWriter: a seen-files log entry exists with other content:
// another query uses the same checkpoint.
var ErrConcurrentWriter = errors.New("file source: concurrent writer")

// seenFile is one file taken by a batch.
type seenFile struct {
	Path      string            `json:"path"`
	Size      int64             `json:"size"`
	ModTimeMs int64             `json:"modTime"`
	Partition map[string]string `json:"partition,omitempty"`
	// Rows is the file's row count when known without reading it (the
	// manifest of a file sink says it); nil when unknown.
	Rows *int64 `json:"rows,omitempty"`
}

// seenLog is the file source's log in its checkpoint directory
// (sources/<i>/):
//
//	<N>            the files log offset N added, one JSON line each
//	<N>.compact    the files seen up to N (path and modification time),
//	               after dropping those older than maxFileAge
//	schema         the schema fixed at the first start (schema.go)
//
// Entries are written create-if-absent before the offset that names them
// is returned, so GetBatch(start, end) always finds the same files.
// Every interval entries a compact snapshot is written and older
// snapshots, and entries no batch can replay any more, are deleted: the
// log holds the files of the maxFileAge window plus a few entries, not
// every file ever seen (Spark's compact files grow forever).
type seenLog struct {
	fs       storage.FS
	dir      string
	interval int64
	maxAgeMs int64 // 0: never forget

	latest      int64 // newest entry, -1 if none
	compactAt   int64 // offset of the newest compact, -1 if none
	latestMod   int64 // newest modification time seen
	purgeBefore int64 // files older than this are not new
	seen        map[string]int64
	entries     map[int64][]seenFile // entries in memory (newer than what was purged)
	present     map[int64]bool       // entry objects known to exist in storage
}

func newSeenLog(fsys storage.FS, dir string, interval int64, maxAgeMs int64) *seenLog {
	return &seenLog{fs: fsys, dir: dir, interval: interval, maxAgeMs: maxAgeMs, latest: -1, compactAt: -1,
		seen: map[string]int64{}, entries: map[int64][]seenFile{}, present: map[int64]bool{}}
}

const seenVersion = "v1"

type compactHeader struct {
	LogOffset     int64 `json:"logOffset"`
	LatestModTime int64 `json:"latestModTime"`
	PurgeBefore   int64 `json:"purgeBefore"`
}

type seenLine struct {
	Path      string `json:"path"`
	ModTimeMs int64  `json:"modTime"`
}

// load reads the newest compact and the entries after it.
func (l *seenLog) load(ctx context.Context) error {
	ents, err := l.fs.List(ctx, l.dir)
	if err != nil {
		return fmt.Errorf("%w: file source: list %s: %w", sources.ErrSource, l.dir, err)
	}
	var ids []int64
	compact := int64(-1)
	for _, e := range ents {
		if e.IsDir {
			continue
		}
		if id, ok := wal.ParseID(e.Name); ok {
			ids = append(ids, id)
			l.present[id] = true
		} else if s, ok := strings.CutSuffix(e.Name, ".compact"); ok {
			if id, ok := wal.ParseID(s); ok {
				compact = max(compact, id)
			}
		}
	}
	slices.Sort(ids)
	if compact >= 0 {
		if err := l.readCompact(ctx, compact); err != nil {
			return err
		}
		l.latest = compact
	}
	for _, id := range ids {
		if id <= compact {
			continue
		}
		if id != l.latest+1 && l.latest >= 0 {
			return fmt.Errorf("%w: file source: seen-files log %s has entry %d but not %d (deleted by hand?)", sources.ErrSource, l.dir, id, l.latest+1)
		}
		files, err := l.readEntry(ctx, id)
		if err != nil {
			return err
		}
		l.note(files)
		l.entries[id] = files
		l.latest = id
	}
	l.purge()
	return nil
}

func (l *seenLog) name(id int64) string { return path.Join(l.dir, strconv.FormatInt(id, 10)) }

func (l *seenLog) compactName(id int64) string {
	return path.Join(l.dir, strconv.FormatInt(id, 10)+".compact")
}

func (l *seenLog) readCompact(ctx context.Context, id int64) error {
	p := l.compactName(id)
	data, err := l.fs.ReadFile(ctx, p)
	if err != nil {
		return fmt.Errorf("%w: file source: read %s: %w", sources.ErrSource, p, err)
	}
	lines, err := splitSeen(p, data)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return corruptSeen(p, "the header line is missing")
	}
	var h compactHeader
	if err := json.Unmarshal(lines[0], &h); err != nil || h.LogOffset != id {
		return corruptSeen(p, fmt.Sprintf("bad header %q", clip(lines[0])))
	}
	for i, ln := range lines[1:] {
		var s seenLine
		if err := json.Unmarshal(ln, &s); err != nil || s.Path == "" {
			return corruptSeen(p, fmt.Sprintf("line %d: %q", i+3, clip(ln)))
		}
		l.seen[s.Path] = s.ModTimeMs
	}
	l.compactAt = id
	l.latestMod = h.LatestModTime
	l.purgeBefore = h.PurgeBefore
	return nil
}

func (l *seenLog) readEntry(ctx context.Context, id int64) ([]seenFile, error) {
	p := l.name(id)
	data, err := l.fs.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%w: file source: read seen-files entry %s: %w", sources.ErrSource, p, err)
	}
	return decodeEntry(p, data)
}

func decodeEntry(p string, data []byte) ([]seenFile, error) {
	lines, err := splitSeen(p, data)
	if err != nil {
		return nil, err
	}
	files := make([]seenFile, 0, len(lines))
	for i, ln := range lines {
		var f seenFile
		if err := json.Unmarshal(ln, &f); err != nil || f.Path == "" {
			return nil, corruptSeen(p, fmt.Sprintf("line %d: %q", i+2, clip(ln)))
		}
		files = append(files, f)
	}
	return files, nil
}

func splitSeen(p string, data []byte) ([][]byte, error) {
	v, rest, _ := bytes.Cut(data, []byte{'\n'})
	if string(v) != seenVersion {
		return nil, corruptSeen(p, fmt.Sprintf("line 1 is %q, want %s", clip(v), seenVersion))
	}
	var lines [][]byte
	for _, ln := range bytes.Split(rest, []byte{'\n'}) {
		if len(ln) > 0 {
			lines = append(lines, ln)
		}
	}
	return lines, nil
}

func corruptSeen(p, detail string) error {
	return fmt.Errorf("%w: file source: seen-files log %s: %s (truncated or edited?)", sources.ErrSource, p, detail)
}

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

func encodeEntry(files []seenFile) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(seenVersion)
	for i := range files {
		line, err := json.Marshal(&files[i])
		if err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		b.Write(line)
	}
	return b.Bytes(), nil
}

// isNew reports whether a listed file is new: not seen, and not older than
// the maxFileAge horizon.
func (l *seenLog) isNew(p string, modMs int64, ignoreAge bool) bool {
	if _, ok := l.seen[p]; ok {
		return false
	}
	return ignoreAge || modMs >= l.purgeBefore
}

func (l *seenLog) note(files []seenFile) {
	for _, f := range files {
		l.seen[f.Path] = f.ModTimeMs
		l.latestMod = max(l.latestMod, f.ModTimeMs)
	}
}

// purge forgets files older than the maxFileAge horizon.
func (l *seenLog) purge() {
	if l.maxAgeMs <= 0 {
		return
	}
	l.purgeBefore = max(l.purgeBefore, l.latestMod-l.maxAgeMs)
	for p, m := range l.seen {
		if m < l.purgeBefore {
			delete(l.seen, p)
		}
	}
}

// add logs files as entry id (= latest+1), durably, then compacts if due.
func (l *seenLog) add(ctx context.Context, id int64, files []seenFile) error {
	data, err := encodeEntry(files)
	if err != nil {
		return fmt.Errorf("%w: file source: encode seen-files entry %d: %w", sources.ErrSource, id, err)
	}
	p := l.name(id)
	err = l.fs.WriteFile(ctx, p, data, storage.WriteOptions{CreateIfAbsent: true})
	if errors.Is(err, storage.ErrExist) {
		old, rerr := l.fs.ReadFile(ctx, p)
		if rerr == nil && bytes.Equal(old, data) {
			err = nil
		} else {
			return fmt.Errorf("%w: %s already exists with other files: another query may be running on the same checkpoint. Stop it, or give this query its own checkpoint",
				ErrConcurrentWriter, p)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: file source: write seen-files entry %s: %w", sources.ErrSource, p, err)
	}
	l.entries[id] = files
	l.present[id] = true
	l.latest = id
	l.note(files)
	l.purge()
	if (id+1)%l.interval == 0 {
		return l.compact(ctx, id)
	}
	return nil
}

// compact writes the snapshot of the seen files as of entry id.
func (l *seenLog) compact(ctx context.Context, id int64) error {
	h, _ := json.Marshal(compactHeader{LogOffset: id, LatestModTime: l.latestMod, PurgeBefore: l.purgeBefore})
	paths := make([]string, 0, len(l.seen))
	for p := range l.seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var b bytes.Buffer
	b.WriteString(seenVersion)
	b.WriteByte('\n')
	b.Write(h)
	for _, p := range paths {
		line, _ := json.Marshal(seenLine{Path: p, ModTimeMs: l.seen[p]})
		b.WriteByte('\n')
		b.Write(line)
	}
	p := l.compactName(id)
	if err := l.fs.WriteFile(ctx, p, b.Bytes(), storage.WriteOptions{}); err != nil {
		return fmt.Errorf("%w: file source: write %s: %w", sources.ErrSource, p, err)
	}
	old := l.compactAt
	l.compactAt = id
	if old >= 0 {
		l.fs.Remove(ctx, l.compactName(old)) // best effort: a stale snapshot is harmless
	}
	return nil
}

// entry returns the files of entry id, from memory or storage.
func (l *seenLog) entry(ctx context.Context, id int64) ([]seenFile, error) {
	if f, ok := l.entries[id]; ok {
		return f, nil
	}
	if id > l.latest || id < 0 {
		return nil, fmt.Errorf("%w: file source: log offset %d was never logged in %s (latest %d): is this the checkpoint the offsets came from?", sources.ErrSource, id, l.dir, l.latest)
	}
	files, err := l.readEntry(ctx, id)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%w: file source: seen-files entry %d was purged from %s, so the batch cannot be replayed: %w", sources.ErrSource, id, l.dir, err)
	}
	return files, err
}

// release deletes the entries at or below upTo that a compact covers
// (no batch replays them any more) and drops them from memory.
func (l *seenLog) release(ctx context.Context, upTo int64) {
	limit := min(upTo, l.compactAt)
	for id := range l.entries {
		if id <= limit {
			delete(l.entries, id)
		}
	}
	for id := range l.present {
		if id <= limit {
			if err := l.fs.Remove(ctx, l.name(id)); err == nil {
				delete(l.present, id)
			}
		}
	}
}
