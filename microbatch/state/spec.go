package state

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultSnapshotInterval is how many versions apart snapshots are written
// by default (Spark: spark.sql.streaming.stateStore.minDeltasForSnapshot).
const DefaultSnapshotInterval = 10

// OperatorSpec is what one stateful operator keeps: its identity in the
// plan, the shuffle partition count and the shape of each of its stores.
// It is recorded in state/<ID>/_metadata when the state is created, and
// every later OpenOperator must agree with it.
type OperatorSpec struct {
	// ID is the operator's id in the plan, the directory state/<ID>
	// (Spark: operatorId, numbered from 0 in plan order).
	ID int
	// Name is a human name for messages and the state reader, such as
	// "aggregate", "dedup" or "join". Not checked against the checkpoint.
	Name string
	// NumPartitions is the number of shuffle partitions, one store per
	// partition (and name). Fixed for the life of the checkpoint.
	NumPartitions int
	// Stores lists the operator's stores, at least one. An aggregation has
	// one with Name ""; a stream-stream join may have one per side.
	Stores []StoreSpec
}

// StoreSpec is the shape of one store: key columns -> value columns.
type StoreSpec struct {
	// Name is "" for an operator's main store, files directly under
	// state/<op>/<partition>/; another name puts the store's files in
	// state/<op>/<partition>/<name>/. Letters, digits, '-', '_' and '.'.
	Name string
	// Key has at least one column, of any type internal/hashtab can group
	// on (a global aggregation uses a single column of type arrow.Null,
	// which has one value). NULL is a key value like any other.
	Key *arrow.Schema
	// Value may have no columns (dropDuplicates keeps keys only). Any
	// Arrow type: fixed-width types, booleans and strings/binaries are
	// stored in typed buffers, other types (lists, structs, maps, ...) as
	// Arrow arrays referenced by row, a slower path.
	Value *arrow.Schema
}

// Clock is the source of time for commit timings (trigger.Clock fits).
type Clock interface{ Now() time.Time }

// Options configure the stores of an operator. Zero values take the
// documented default.
type Options struct {
	// SnapshotInterval is how many versions may pass between snapshots:
	// restoring reads at most this many deltas after a snapshot (more if
	// a snapshot was still being written when its turn came). Default 10;
	// negative disables snapshots (restores then replay every delta).
	SnapshotInterval int
	// Mem allocates the Arrow arrays the stores return and build. Default
	// memory.DefaultAllocator. The table itself lives in Go memory,
	// reported by Metrics.MemoryUsedBytes.
	Mem memory.Allocator
	// Clock times commits (Metrics.CommitTimeMs). Nil: timings are 0.
	Clock Clock
	// OnReplayMismatch says what Commit does when the version's delta file
	// already exists (a batch re-run after a crash) with different
	// changes. Default ReplayFail.
	OnReplayMismatch ReplayPolicy
	// EventTime, when set, gives each key an event time (from the key
	// alone, e.g. its window's end) so that Store.Expire finds the keys a
	// watermark closed without scanning the state. Nil: Expire fails.
	EventTime EventTimeFunc
}

// ReplayPolicy is what Commit does when a re-run batch's changes differ
// from the delta file its first run left.
type ReplayPolicy int

const (
	// ReplayFail fails the commit with ErrDeltaConflict, as the logs fail
	// a second writer: the re-run was not deterministic or another query
	// writes the checkpoint, and someone should look.
	ReplayFail ReplayPolicy = iota
	// ReplayKeepFile keeps the existing file (the first committed write
	// wins) and reloads the version from the files, so the query goes on.
	// For batches that are deterministic only up to floating-point
	// rounding (sums folded in a different order). Counted in
	// Metrics.ReplayMismatches.
	ReplayKeepFile
)

func (o Options) withDefaults() Options {
	if o.SnapshotInterval == 0 {
		o.SnapshotInterval = DefaultSnapshotInterval
	}
	if o.Mem == nil {
		o.Mem = memory.DefaultAllocator
	}
	return o
}

// Validate reports every problem of the spec at once.
func (s *OperatorSpec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: operator %s: "+format, append([]any{ErrBadInput, s.label()}, args...)...))
	}
	if s.ID < 0 {
		bad("id %d is negative", s.ID)
	}
	if s.NumPartitions < 1 {
		bad("NumPartitions is %d; it must be at least 1", s.NumPartitions)
	}
	if len(s.Stores) == 0 {
		bad("no stores; list at least one StoreSpec")
	}
	seen := map[string]bool{}
	for i, st := range s.Stores {
		if seen[st.Name] {
			bad("store name %q is listed twice", st.Name)
		}
		seen[st.Name] = true
		if err := validStoreName(st.Name); err != nil {
			bad("store %d: %v", i, err)
		}
		if st.Key == nil || st.Key.NumFields() == 0 {
			bad("store %q: no key columns; use one column of type null for a global aggregation", st.Name)
		} else if _, err := storedKeyTypes(schemaTypes(st.Key)); err != nil {
			bad("store %q: %v", st.Name, errors.Unwrap(err))
		}
		if st.Value == nil {
			bad("store %q: Value schema is nil; use arrow.NewSchema(nil, nil) for a store without values", st.Name)
		}
	}
	return errors.Join(errs...)
}

func (s *OperatorSpec) label() string {
	if s.Name == "" {
		return fmt.Sprint(s.ID)
	}
	return fmt.Sprintf("%d (%s)", s.ID, s.Name)
}

func (s *OperatorSpec) store(name string) (*StoreSpec, bool) {
	for i := range s.Stores {
		if s.Stores[i].Name == name {
			return &s.Stores[i], true
		}
	}
	return nil, false
}

func schemaTypes(s *arrow.Schema) []arrow.DataType {
	out := make([]arrow.DataType, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Type
	}
	return out
}

func validStoreName(name string) error {
	if name == "" {
		return nil
	}
	if name == "." || name == ".." || strings.HasPrefix(name, "_") {
		return fmt.Errorf("store name %q is reserved", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("store name %q has %q; use letters, digits, '-', '_' and '.'", name, r)
		}
	}
	if isDigits(name) {
		return fmt.Errorf("store name %q is all digits, which a version file could be mistaken for", name)
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
