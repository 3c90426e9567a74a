// Package hashtab is the engine's vectorised hash table: it maps the rows
// of one or more Arrow key columns to dense group ids, the core of hash
// aggregation (GROUP BY), hash joins (build with Insert, probe with
// Lookup), DISTINCT/dropDuplicates and the streaming state store.
//
// # Layout
//
// A Grouper has two parts:
//
//   - The slot table: open addressing with linear probing over a
//     power-of-two array of 8-byte slots {32-bit hash tag, group id + 1},
//     doubled before it is half full. Slots hold no keys, so a million
//     groups need 16-32 MiB of slots, which mostly stays within the
//     last-level cache and the TLB's reach; the tag rejects almost every
//     slot that belongs to another key without touching the keys. A key's
//     home slot is the top bits of its tag, so growing walks the old slots
//     in order and writes the new ones in order, reading no key.
//   - The keys, stored by group id in typed, growable buffers, column by
//     column: canonical uint64 patterns for values of at most 8 bytes;
//     for strings, binaries and wide decimals a 24-byte record per group
//     that holds values of up to 16 bytes inline (longer ones spill to an
//     arena), so verifying a row reads one record; a NULL bitmap per
//     column. Group ids are dense and in first-seen order,
//     so the keys of groups created together sit together: with time-ordered
//     input (windows) the keys being compared are a small, hot range.
//
// No per-key allocation and no map[any]: Keys rebuilds Arrow arrays straight
// from the buffers.
//
// # Probing a batch
//
// Insert and Lookup work on a batch at a time. The key columns are first
// normalised into plain slices (integers widened to 64 bits, zero-copy for
// 64-bit types; floats with -0.0 made 0.0 and every NaN one NaN;
// dictionaries resolved to values, so batches with different dictionaries
// agree; strings as views into the Arrow buffers; struct/list/map keys
// row-encoded to bytes). All hashes are computed in one loop. Then, 256 rows
// at a time:
//
//  1. touch the home slot of every row: independent loads whose cache
//     misses overlap (this, not hashing, is what a large table costs);
//  2. find each row's candidate, the first slot on its probe path with a
//     matching tag;
//  3. verify candidates against the stored keys, column by column in typed
//     loops;
//  4. resolve the rest (new keys, NULLs, tag collisions) one row at a time,
//     in row order, creating groups: hence first-seen numbering.
//
// # Specialisations
//
// New picks the implementation from the key types: one key of at most 8
// bytes (int8..int64, uint*, date32/64, timestamp, time, duration, float,
// bool), two such keys (GROUP BY (user_id, window): stored as one 128-bit
// key per group), one byte-like key (string, binary, decimal128/256, their
// large and view variants), and the general path for anything else. The
// specialised paths keep NULL-containing keys outside the table (a single
// NULL group, or a small map for pairs), so their hot loops never look at
// validity.
//
// The two-column path has a second layout for the streaming aggregation
// shape, GROUP BY (key, window) over time-ordered input: when one column
// has few distinct values that arrive clustered, the table is split into one
// sub-table per value, with keys inline in 8-byte slots (16 once a key
// column value needs more than 32 bits). The rows of a
// batch then probe the current window's sub-table (a few MiB, in cache)
// rather than a table of every group so far. The choice is made from a
// sample of the first batch and dropped for the flat table, for good, as
// soon as a batch is not clustered or there are too many distinct values.
// Group ids, keys and results are the same in both layouts.
//
// # Hashes
//
// HashColumns is the partitioning hash (shuffle, state store partitions).
// It is deterministic across processes and versions: changing it moves keys
// between partitions of existing checkpoints. The Grouper hashes with a
// different seed so that a table filled with one partition's rows does not
// inherit the partition's bit pattern.
package hashtab
