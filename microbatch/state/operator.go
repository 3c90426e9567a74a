package state

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"sync"

	"github.com/sluicehq/sluice/internal/storage"
)

// Operator is the state of one stateful operator for one run of a query:
// its checked metadata and its stores, created on first use and kept (in
// memory, with their loaded version) until Close.
type Operator struct {
	fs       storage.FS
	stateDir string
	spec     OperatorSpec
	opts     Options

	mu     sync.Mutex
	stores map[storeKey]*Store
	closed bool
}

type storeKey struct {
	partition int
	name      string
}

// OpenOperator checks spec against the operator's state/<ID>/_metadata
// (creating it on the first run) and returns the operator, ready to hand
// out stores. stateDir is the checkpoint's state directory
// (wal.Checkpoint.StateDir()). A partition count or column types that
// differ from the checkpoint's fail here, with ErrPartitionsChanged or
// ErrSchemaChanged: the engine calls it at Start, so a changed query is
// refused before its first batch.
func OpenOperator(ctx context.Context, fsys storage.FS, stateDir string, spec OperatorSpec, opts Options) (*Operator, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := loadOrCreateMetadata(ctx, fsys, stateDir, &spec); err != nil {
		return nil, err
	}
	return &Operator{fs: fsys, stateDir: stateDir, spec: spec, opts: opts.withDefaults(), stores: map[storeKey]*Store{}}, nil
}

// Spec is the operator's spec as given to OpenOperator.
func (o *Operator) Spec() OperatorSpec { return o.spec }

func (o *Operator) dir() string { return path.Join(o.stateDir, strconv.Itoa(o.spec.ID)) }

// storeDir is state/<op>/<partition>[/<name>].
func storeDir(stateDir string, op, partition int, name string) string {
	return path.Join(stateDir, strconv.Itoa(op), strconv.Itoa(partition), name)
}

// Store returns the store of a partition and store name ("" for the
// main store), the same object on every call. A new store has no version
// loaded: call Load.
func (o *Operator) Store(partition int, name string) (*Store, error) {
	st, ok := o.spec.store(name)
	if !ok {
		return nil, fmt.Errorf("%w: operator %s has no store %q (it has %s)", ErrBadInput, o.spec.label(), name, storeNames(&o.spec))
	}
	if partition < 0 || partition >= o.spec.NumPartitions {
		return nil, fmt.Errorf("%w: operator %s: partition %d out of range 0..%d", ErrBadInput, o.spec.label(), partition, o.spec.NumPartitions-1)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("%w: operator %s", ErrClosed, o.spec.label())
	}
	k := storeKey{partition, name}
	if s := o.stores[k]; s != nil {
		return s, nil
	}
	s, err := newStore(o.fs, o.stateDir, &o.spec, st, partition, o.opts)
	if err != nil {
		return nil, err
	}
	o.stores[k] = s
	return s, nil
}

// Metrics sums the metrics of the operator's stores opened in this run
// (what a progress report shows per operator). CommitTimeMs is the
// largest of the last commits (partitions commit in parallel); the rest
// are sums.
func (o *Operator) Metrics() Metrics {
	o.mu.Lock()
	defer o.mu.Unlock()
	var m Metrics
	m.Version = -1
	for _, s := range o.stores {
		sm := s.Metrics()
		m.add(sm)
	}
	return m
}

// Purge deletes the files of every partition and store that restoring
// versions >= minVersion does not need, including stores not opened in
// this run. The engine calls it with the first batch id kept by the logs
// (wal.Checkpoint.Purge's keepFrom): version keepFrom is the state that
// batch keepFrom starts from.
func (o *Operator) Purge(ctx context.Context, minVersion int64) error {
	var errs []error
	for p := 0; p < o.spec.NumPartitions; p++ {
		for _, st := range o.spec.Stores {
			dir := storeDir(o.stateDir, o.spec.ID, p, st.Name)
			if err := purgeDir(ctx, o.fs, dir, minVersion); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every store (abandoning snapshots being written, which is
// harmless) and frees their memory.
func (o *Operator) Close() error {
	o.mu.Lock()
	stores := o.stores
	o.stores, o.closed = nil, true
	o.mu.Unlock()
	var errs []error
	for _, s := range stores {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
