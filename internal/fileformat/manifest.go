package fileformat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
)

// The manifest log of a file sink makes its output exactly-once: data files
// are written first, then one manifest object names them, and readers of
// the directory see only files named by manifest objects. A crashed
// half-batch leaves files that no manifest names, so nobody ever reads
// them. Layout, inside the output directory:
//
//	_sluice_log/version            "v1" (then the sink's compaction
//	                               settings): written before any data file,
//	                               so a reader knows the directory is
//	                               managed even before the first commit
//	_sluice_log/<N>                batch N: the files it added
//	_sluice_log/<F>-<L>.compact    batches F..L merged (written by the sink;
//	                               batch L, which closes the range, has no
//	                               entry: this compact is its commit)
//	_sluice_log/<F>-<L>.<g>.compact  the same range rewritten by Compact
//	                               (generation g >= 1; the highest wins)
//
// Objects are immutable once written and every name carries the batch
// range it covers, so a listing's order never matters (object stores do
// not promise one). A reader picks a chain of objects that tiles the
// batches from the newest backwards, preferring the widest compact that
// ends at each point (ChainManifest), and reads only those.
//
// Entry format: the line "v1", then one JSON object per file
// (ManifestFile), each line ending in "\n". A compact is "v1", one JSON
// header line (ManifestHeader), then the file lines of the batches it
// covers, in batch order, so compacting is concatenation.
const (
	// ManifestDir is the manifest log's directory inside a dataset
	// directory. Its leading underscore hides it from plain listings.
	ManifestDir = "_sluice_log"
	// ManifestMarker is the first object a sink writes in ManifestDir.
	ManifestMarker = "version"
)

// ErrManifest: a manifest log cannot be read (a gap in its batches, a
// corrupt object).
var ErrManifest = errors.New("fileformat: manifest log")

const manifestVersion = "v1"

// ManifestFile is one data file named by the manifest.
type ManifestFile struct {
	// Path is relative to the dataset directory, slash-separated
	// ("date=2024-01-01/part-000000000042-00000.parquet").
	Path string `json:"path"`
	Size int64  `json:"size"`
	Rows int64  `json:"rows"`
	// ModTimeMs is when the sink finished the file (Unix milliseconds).
	ModTimeMs int64 `json:"modTime"`
	// Batch is the streaming batch that wrote the file; for files
	// rewritten by Compact, the newest batch whose rows it holds.
	Batch int64 `json:"batch"`
	// Partition holds the Hive partition values, unescaped.
	Partition map[string]string `json:"partition,omitempty"`
	// Rewritten marks a file written by Compact out of older files: its
	// rows are not new (Delta's dataChange=false), so a streaming reader
	// of the directory skips it.
	Rewritten bool `json:"rewritten,omitempty"`
}

// ManifestHeader is the second line of a compact object.
type ManifestHeader struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Sealed compacts are never rewritten by the sink again; only they
	// may be rewritten by Compact.
	Sealed bool `json:"sealed,omitempty"`
	// Gen is 0 for the sink's compacts, g >= 1 for Compact's rewrites.
	Gen int `json:"gen,omitempty"`
	// WrittenMs and Replaced are set by Compact: the files its rewrite
	// replaced, deleted by a later Compact once they are old enough that
	// no reader can still be reading them.
	WrittenMs int64    `json:"writtenMs,omitempty"`
	Replaced  []string `json:"replaced,omitempty"`
}

// ManifestObject is one object of a manifest log, described by its name.
type ManifestObject struct {
	Name        string
	First, Last int64
	Gen         int
	Compact     bool
}

// ManifestEntryName is the name of batch n's entry.
func ManifestEntryName(n int64) string { return strconv.FormatInt(n, 10) }

// ManifestCompactName names the compact of batches first..last,
// generation gen.
func ManifestCompactName(first, last int64, gen int) string {
	if gen == 0 {
		return fmt.Sprintf("%d-%d.compact", first, last)
	}
	return fmt.Sprintf("%d-%d.%d.compact", first, last, gen)
}

// ParseManifestName recognises entry and compact names; anything else
// (the marker, temp files) is not an object.
func ParseManifestName(name string) (ManifestObject, bool) {
	if id, ok := parseBatchID(name); ok {
		return ManifestObject{Name: name, First: id, Last: id}, true
	}
	rest, ok := strings.CutSuffix(name, ".compact")
	if !ok {
		return ManifestObject{}, false
	}
	gen := 0
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		g, err := strconv.Atoi(rest[i+1:])
		if err != nil || g < 1 || strconv.Itoa(g) != rest[i+1:] {
			return ManifestObject{}, false
		}
		gen, rest = g, rest[:i]
	}
	a, b, ok := strings.Cut(rest, "-")
	if !ok {
		return ManifestObject{}, false
	}
	first, ok1 := parseBatchID(a)
	last, ok2 := parseBatchID(b)
	if !ok1 || !ok2 || first > last {
		return ManifestObject{}, false
	}
	return ManifestObject{Name: name, First: first, Last: last, Gen: gen, Compact: true}, true
}

// parseBatchID parses a canonical non-negative decimal (no sign, no
// leading zeros).
func parseBatchID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ChainManifest picks the objects a reader reads: walking down from the
// newest batch, at each point the object ending there that covers the
// most batches (then the highest generation, then a compact over an
// entry). The result is in batch order and tiles the batches from the
// oldest reachable one to the newest without gaps. A batch with no object
// ending at it while older objects exist is a gap: ErrManifest.
func ChainManifest(objs []ManifestObject) ([]ManifestObject, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	best := make(map[int64]ManifestObject, len(objs))
	maxLast, minFirst := int64(-1), objs[0].First
	for _, o := range objs {
		maxLast = max(maxLast, o.Last)
		minFirst = min(minFirst, o.First)
		cur, ok := best[o.Last]
		if !ok || o.First < cur.First || (o.First == cur.First && betterObject(o, cur)) {
			best[o.Last] = o
		}
	}
	var chain []ManifestObject
	for pos := maxLast; pos >= minFirst; {
		o, ok := best[pos]
		if !ok {
			return nil, fmt.Errorf("%w: no entry or compact ends at batch %d although older objects exist (was an object deleted by hand?)", ErrManifest, pos)
		}
		chain = append(chain, o)
		pos = o.First - 1
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

func betterObject(a, b ManifestObject) bool {
	if a.Gen != b.Gen {
		return a.Gen > b.Gen
	}
	if a.Compact != b.Compact {
		return a.Compact
	}
	return a.Name < b.Name
}

// EncodeManifestEntry renders a batch entry.
func EncodeManifestEntry(files []ManifestFile) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(manifestVersion)
	b.WriteByte('\n')
	for i := range files {
		line, err := json.Marshal(&files[i])
		if err != nil {
			return nil, fmt.Errorf("%w: encode %s: %v", ErrManifest, files[i].Path, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// EncodeManifestCompact renders a compact from its header and the bodies
// (ManifestBody) of the objects it merges, in batch order.
func EncodeManifestCompact(h ManifestHeader, bodies ...[]byte) ([]byte, error) {
	hj, err := json.Marshal(&h)
	if err != nil {
		return nil, fmt.Errorf("%w: encode compact header: %v", ErrManifest, err)
	}
	n := len(manifestVersion) + len(hj) + 2
	for _, b := range bodies {
		n += len(b)
	}
	out := make([]byte, 0, n)
	out = append(out, manifestVersion...)
	out = append(out, '\n')
	out = append(out, hj...)
	out = append(out, '\n')
	for _, b := range bodies {
		out = append(out, b...)
	}
	return out, nil
}

// ManifestBody splits an object into its header (zero for entries) and
// its file lines, checking the version line. name is for messages.
func ManifestBody(name string, data []byte, compact bool) (ManifestHeader, []byte, error) {
	var h ManifestHeader
	v, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || string(v) != manifestVersion {
		if ok && len(v) > 1 && v[0] == 'v' {
			return h, nil, fmt.Errorf("%w: %s has version %q; this build reads only %s (written by a newer sluice?)", ErrManifest, name, clipBytes(v), manifestVersion)
		}
		return h, nil, fmt.Errorf("%w: %s does not start with the line %q (truncated or not a manifest object?)", ErrManifest, name, manifestVersion)
	}
	if !compact {
		return h, rest, nil
	}
	hl, body, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok || len(hl) == 0 || hl[0] != '{' {
		return h, nil, fmt.Errorf("%w: %s: the compact header line is missing", ErrManifest, name)
	}
	if err := json.Unmarshal(hl, &h); err != nil {
		return h, nil, fmt.Errorf("%w: %s: compact header: %v", ErrManifest, name, err)
	}
	return h, body, nil
}

// DecodeManifestFiles parses the file lines of a body, appending to dst.
func DecodeManifestFiles(name string, body []byte, dst []ManifestFile) ([]ManifestFile, error) {
	line := 0
	for len(body) > 0 {
		line++
		l, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if len(l) == 0 {
			continue
		}
		var f ManifestFile
		if err := json.Unmarshal(l, &f); err != nil {
			return dst, fmt.Errorf("%w: %s: file line %d: %v", ErrManifest, name, line, err)
		}
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.Contains("/"+f.Path+"/", "/../") {
			return dst, fmt.Errorf("%w: %s: file line %d: path %q must be relative to the dataset directory", ErrManifest, name, line, f.Path)
		}
		dst = append(dst, f)
	}
	return dst, nil
}

func clipBytes(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Manifest is the committed content of a dataset directory.
type Manifest struct {
	// Present: the directory has a manifest log (it is a sink's output),
	// so only Files are its data, even when Files is empty.
	Present bool
	// Latest is the newest committed batch, -1 if none.
	Latest int64
	// Files are the committed data files, in batch order.
	Files []ManifestFile
	// Chain are the objects read.
	Chain []ManifestObject
	// Headers are the compact headers of Chain (zero for entries).
	Headers []ManifestHeader
}

// ReadManifest reads the manifest log of dataset directory dir. A
// directory without one gives a Manifest with Present false. An object
// that disappears between listing and reading (a concurrent compaction
// removed it) makes it list again, a few times.
func ReadManifest(ctx context.Context, fsys storage.FS, dir string) (*Manifest, error) {
	for attempt := 0; ; attempt++ {
		m, err := readManifestOnce(ctx, fsys, dir)
		if err == nil || !errors.Is(err, storage.ErrNotExist) || attempt == 4 {
			if err != nil {
				return nil, fmt.Errorf("read manifest of %s: %w", dir, err)
			}
			return m, nil
		}
	}
}

// ListManifestObjects lists the objects of dir's manifest log; present
// reports whether the log exists: its ManifestMarker does (a stray
// directory of that name without it is not a manifest log).
func ListManifestObjects(ctx context.Context, fsys storage.FS, dir string) (objs []ManifestObject, present bool, err error) {
	ents, err := fsys.List(ctx, path.Join(dir, ManifestDir))
	if err != nil {
		return nil, false, err
	}
	for _, e := range ents {
		if e.IsDir {
			continue
		}
		if e.Name == ManifestMarker {
			present = true
		}
		if o, ok := ParseManifestName(e.Name); ok {
			objs = append(objs, o)
		}
	}
	return objs, present, nil
}

func readManifestOnce(ctx context.Context, fsys storage.FS, dir string) (*Manifest, error) {
	objs, present, err := ListManifestObjects(ctx, fsys, dir)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Present: present, Latest: -1}
	if !present {
		return m, nil
	}
	chain, err := ChainManifest(objs)
	if err != nil {
		return nil, err
	}
	m.Chain = chain
	if len(chain) > 0 {
		m.Latest = chain[len(chain)-1].Last
	}
	datas := make([][]byte, len(chain))
	errs := make([]error, len(chain))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, o := range chain {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			datas[i], errs[i] = fsys.ReadFile(ctx, path.Join(dir, ManifestDir, o.Name))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.Headers = make([]ManifestHeader, len(chain))
	for i, o := range chain {
		name := path.Join(dir, ManifestDir, o.Name)
		h, body, err := ManifestBody(name, datas[i], o.Compact)
		if err != nil {
			return nil, err
		}
		m.Headers[i] = h
		if m.Files, err = DecodeManifestFiles(name, body, m.Files); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ListCommittedFiles lists the data files of dataset directory dir on
// fsys: with a manifest log, exactly the files it names (sorted by path);
// without one, every file as ListFilesFS finds it.
func ListCommittedFiles(ctx context.Context, fsys storage.FS, dir string) ([]FileInfo, error) {
	m, err := ReadManifest(ctx, fsys, dir)
	if err != nil {
		return nil, err
	}
	if !m.Present {
		return ListFilesFS(ctx, fsys, dir)
	}
	return manifestFileInfos(dir, m.Files, path.Join, slashPartitionOf), nil
}

func manifestFileInfos(dir string, files []ManifestFile, join func(...string) string, part func(base, file string) (map[string]string, []string)) []FileInfo {
	out := make([]FileInfo, 0, len(files))
	for _, f := range files {
		full := join(dir, f.Path)
		fi := FileInfo{Path: full, Size: f.Size, ModTime: time.UnixMilli(f.ModTimeMs)}
		fi.Partition, fi.PartitionKeys = part(dir, full)
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// listManifestLocal is ListFiles' view of a local directory written by a
// file sink: ok is false when dir has no manifest log.
func listManifestLocal(ctx context.Context, dir, base string) (files []FileInfo, ok bool, err error) {
	if st, err := os.Stat(filepath.Join(dir, ManifestDir)); err != nil || !st.IsDir() {
		return nil, false, nil
	}
	m, err := ReadManifest(ctx, storage.Local{}, dir)
	if err != nil {
		return nil, true, err
	}
	if !m.Present {
		return nil, false, nil
	}
	join := func(parts ...string) string {
		return filepath.Join(parts[0], filepath.FromSlash(parts[1]))
	}
	return manifestFileInfos(dir, m.Files, join, func(_, file string) (map[string]string, []string) {
		return partitionOf(base, file)
	}), true, nil
}
