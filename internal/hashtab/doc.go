// Package hashtab is the engine's vectorised hash table: it maps the rows
// of one or more Arrow key columns to dense group ids, the core of hash
// aggregation (GROUP BY), hash joins (build with Insert, probe with
// Lookup), DISTINCT/dropDuplicates and the streaming state store.
//
// Group ids are dense and in first-seen order. Keys are stored by group id
// in typed, growable buffers, column by column (canonical uint64 patterns
// for values of at most 8 bytes; for strings, binaries and wide decimals a
// 24-byte record per group holding values of up to 16 bytes inline, longer
// ones spilling to an arena; a NULL bitmap per column): no per-key
// allocation, no map[any], and Keys rebuilds Arrow arrays straight from the
// buffers. Because ids follow arrival order, the keys of groups created
// together sit together: with time-ordered input (windows) the keys being
// compared are a small, hot range.
//
// # Normalising a batch
//
// Insert and Lookup work a batch at a time. The key columns are first
// normalised into plain slices: integers widened to 64 bits (zero-copy for
// 64-bit types), floats with -0.0 made 0.0 and every NaN one NaN,
// dictionaries resolved to values (so batches with different dictionaries
// agree), strings as views into the Arrow buffers, struct/list/map keys
// row-encoded to bytes. Hashes are computed in one loop per column.
//
// # Tables
//
// Every table is open addressing with linear probing over a power-of-two
// array; a probe's cost is its cache misses, so the layouts minimise the
// memory touched per row:
//
//   - One key of at most 8 bytes (int8..int64, uint*, date, time,
//     timestamp, duration, float, bool): the key is stored inline in the
//     slot with its group id, so a probe is one access. Slots are 8 bytes
//     while every key is a sign-extended 32-bit value (ids, counts) and
//     widen to 16 bytes at the first key that is not. Load <= 3/4.
//   - One byte-like key, two fixed-width keys, and the general path: 8-byte
//     slots {32-bit hash tag, group id + 1} at load <= 1/2 (1/4 while the
//     table is at most 256 KiB, for shorter probe paths); keys live only
//     in the key buffers. A million groups need 16-32 MiB of slots, which
//     mostly stays in the last-level cache and the TLB's reach, and the tag
//     rejects almost every slot of another key without reading keys. A
//     key's home slot is the top bits of its tag, so growing walks the old
//     slots in order and writes the new ones in order, reading no key.
//     These tables resolve 256 rows at a time: touch every row's home slot
//     (independent loads whose misses overlap), find each row's first
//     tag-matching slot, verify those candidates against the key buffers
//     column by column in typed loops, then resolve what is left (new
//     keys, NULLs, tag collisions) one row at a time in row order, which is
//     where groups are created: hence first-seen numbering.
//   - Two fixed-width keys where one column has few distinct values that
//     arrive clustered (GROUP BY (key, window) over time-ordered input): one
//     inline-key sub-table per value of that column, so the rows of a batch
//     probe the current window's sub-table (a MiB or two, in cache) rather
//     than a table of every group so far. The choice is made from a sample
//     of the first batch and dropped for the flat table, for good, as soon
//     as a batch is not clustered or there are too many distinct values.
//
// The specialised paths keep keys with a NULL outside their tables (one
// NULL group, or a small map for pairs), so their hot loops never read
// validity; the general path stores NULL as a value with its bitmap.
//
// # Concurrency
//
// A Grouper is used by one goroutine at a time. Lookup never writes to the
// table (a Lookup that would make Insert change the layout leaves it as
// is), and the per-call working memory lives outside it, so once inserting
// is done any number of Probers (NewProber) may look up in parallel: the
// probe partitions of a hash join share one build table without a lock.
//
// # Hashes
//
// HashColumns is the partitioning hash (shuffle, state store partitions).
// It is deterministic across processes and versions: changing it moves keys
// between partitions of existing checkpoints. The Grouper hashes with a
// different seed so that a table filled with one partition's rows does not
// inherit the partition's bit pattern.
package hashtab
