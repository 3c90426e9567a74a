// Package dataframe is sluice's public API: a Spark-style DataFrame over
// Apache Arrow record batches. Transformations are lazy and chain without
// an error check per step: the first error is kept in the DataFrame and
// returned by every action (and by Err and Explain), so none is lost.
package dataframe

import (
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/plan"
)

// Clock tells the time; sessions take one so current_timestamp() and
// streaming triggers are testable.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config is a session's configuration. Zero values take the documented
// defaults.
type Config struct {
	// ShufflePartitions is the number of partitions aggregations and joins
	// hash-partition into, and the parallelism of scans. Default
	// runtime.GOMAXPROCS(0). Spark: spark.sql.shuffle.partitions.
	ShufflePartitions int
	// BatchSize caps rows per batch produced by scans and operators.
	// Default 65536.
	BatchSize int
	// Allocator for every Arrow buffer the session makes. Default the Go
	// allocator.
	Allocator memory.Allocator
	// Clock supplies current_timestamp(). Default the system clock.
	Clock Clock
}

func (c Config) withDefaults() Config {
	if c.ShufflePartitions <= 0 {
		c.ShufflePartitions = runtime.GOMAXPROCS(0)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 64 * 1024
	}
	if c.Allocator == nil {
		c.Allocator = memory.DefaultAllocator
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c
}

// Session is the entry point: it reads data into DataFrames and holds the
// configuration they run with. A Session is safe for concurrent use.
type Session struct {
	conf Config

	mu    sync.Mutex
	views map[string]plan.Node
	// memTables are memory sinks by name, freed by DropTempView.
	memTables map[string]*memorySinkTable
	once      sync.Once
	manager   *StreamingQueryManager
}

// NewSession makes a session with the default configuration.
func NewSession() *Session { return NewSessionWith(Config{}) }

// NewSessionWith makes a session with the given configuration.
func NewSessionWith(c Config) *Session { return &Session{conf: c.withDefaults()} }

// Conf returns the session's effective configuration.
func (s *Session) Conf() Config { return s.conf }

// Allocator is the session's Arrow allocator (memory streams take it).
func (s *Session) Allocator() memory.Allocator { return s.conf.Allocator }
