package crashtest

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/sluicehq/sluice/internal/storage"
)

// Killer SIGKILLs its own process the nth time the process reaches a
// named point: a crash test's child process calls Hit at the points of
// its loop (its source, its sink) and installs CheckpointHooks on the
// checkpoint's FS for the points of the engine's writes. A nil Killer
// never kills.
type Killer struct {
	point string
	n     int64
	seen  atomic.Int64
}

// KillSpec formats the spec ParseKiller reads: kill the nth time (from 1)
// point is reached.
func KillSpec(point string, n int) string { return point + ":" + strconv.Itoa(n) }

// ParseKiller reads a KillSpec; the empty spec is the nil Killer.
func ParseKiller(spec string) (*Killer, error) {
	if spec == "" {
		return nil, nil
	}
	point, n, _ := strings.Cut(spec, ":")
	nn, err := strconv.ParseInt(n, 10, 64)
	if err != nil || nn < 1 || point == "" {
		return nil, fmt.Errorf("crashtest: kill spec %q is not point:n with n >= 1", spec)
	}
	return &Killer{point: point, n: nn}, nil
}

// Hit counts point and kills the process when it is the nth time.
func (k *Killer) Hit(point string) {
	if k == nil || point != k.point {
		return
	}
	if k.seen.Add(1) == k.n {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

// The points CheckpointHooks hits, at the writes of a checkpoint.
const (
	PointBeforeMetadata  = "before-metadata"   // first start: metadata not yet written
	PointBeforeSourceLog = "before-source-log" // first start: a source's initial offset not yet logged
	PointBeforeOffsets   = "before-offsets"    // about to write offsets/N
	PointAfterOffsets    = "after-offsets"     // offsets/N durable, nothing of the batch run
	PointBeforeCommit    = "before-commit"     // the sink has the batch, commits/N not written
	PointAfterCommit     = "after-commit"      // commits/N durable, purge and progress not done
	PointPurge           = "purge"             // removing old log entries
	PointBeforeState     = "before-state"      // about to write a state store's delta for the batch
	PointAfterState      = "after-state"       // a state delta durable, the batch not finished
	PointStateSnapshot   = "state-snapshot"    // writing a state snapshot (in the background)
	PointStatePurge      = "state-purge"       // removing old state files
	PointStateMetadata   = "state-metadata"    // first start of a stateful query: state/<op>/_metadata not yet written
)

// CheckpointPoints are the points of CheckpointHooks every batch of a
// stateless query reaches (PointPurge once the logs are longer than the
// retention); StatePoints those of a stateful one.
var (
	CheckpointPoints = []string{PointBeforeOffsets, PointAfterOffsets, PointBeforeCommit, PointAfterCommit, PointPurge}
	StatePoints      = []string{PointBeforeState, PointAfterState, PointStateSnapshot, PointStatePurge}
)

// CheckpointHooks returns FS hooks that Hit the points above when the
// checkpoint's files are written or removed.
func (k *Killer) CheckpointHooks() storage.Hooks {
	kind := func(name string) string {
		switch {
		case strings.Contains(name, "/state/"):
			switch {
			case path.Base(name) == "_metadata":
				return "state-metadata"
			case strings.HasSuffix(name, ".delta"):
				return "state-delta"
			case strings.HasSuffix(name, ".snapshot"):
				return "state-snapshot"
			}
			return "state"
		case path.Base(name) == "metadata":
			return "metadata"
		case strings.Contains(name, "/sources/"):
			return "source-log"
		}
		return path.Base(path.Dir(name)) // offsets, commits
	}
	return storage.Hooks{
		Before: func(op storage.Op, name string) error {
			k2 := kind(name)
			switch {
			case op == storage.OpRemove && strings.HasPrefix(k2, "state"):
				k.Hit(PointStatePurge)
			case op == storage.OpRemove:
				k.Hit(PointPurge)
			case op == storage.OpWrite && k2 == "state-snapshot":
				k.Hit(PointStateSnapshot)
			case op == storage.OpWriteFile:
				switch k2 {
				case "offsets":
					k.Hit(PointBeforeOffsets)
				case "commits":
					k.Hit(PointBeforeCommit)
				case "metadata":
					k.Hit(PointBeforeMetadata)
				case "source-log":
					k.Hit(PointBeforeSourceLog)
				case "state-delta":
					k.Hit(PointBeforeState)
				case "state-metadata":
					k.Hit(PointStateMetadata)
				}
			}
			return nil
		},
		After: func(op storage.Op, name string, err error) error {
			if op == storage.OpWriteFile && err == nil {
				switch kind(name) {
				case "offsets":
					k.Hit(PointAfterOffsets)
				case "commits":
					k.Hit(PointAfterCommit)
				case "state-delta":
					k.Hit(PointAfterState)
				}
			}
			return err
		},
	}
}
