// Package state is the versioned state store of stateful streaming
// operators (aggregation, dropDuplicates, stream-stream joins): one Store
// per (operator, shuffle partition, store name), kept in memory across
// micro-batches and checkpointed every batch (DESIGN.md §3, §4).
//
// # Versions
//
// Version v is the state after batch v-1 committed (Spark: version =
// batchId + 1); version 0 is the empty state. The engine running batch N
// calls Load(N), changes the state, and Commit, which makes version N+1
// durable and returns it. Abort drops the changes; a failed Commit keeps
// them pending, to retry Commit or Abort. Only Abort after changes costs
// much: the next Load restores the version from the files (as Spark's
// providers do), since the table is changed in place.
//
// # A keyed columnar table
//
// A Store maps key rows to value rows. Both are Arrow columns, fixed per
// store by StoreSpec (Key and Value schemas), and every operation takes or
// returns whole columns: nothing is done per row through `any`.
//
// Every key of the state has a slot, a dense uint32 from the store's hash
// table (internal/hashtab). The slot-level calls (Lookup, Insert, Set,
// Values, Keys, Remove) let an operator probe once and then read and write
// values by slot; Get, Put and Delete are the key-level shorthands. Slots
// stay valid until the next Commit, Abort, Load or Close: Commit may
// compact the table and renumber them.
//
// Streaming aggregation, per batch: Insert the batch's keys (slots, and
// which keys are new), read the old buffers of the others with Values,
// fold them and the batch's rows into accumulators, Set the new buffers
// (SetAndKeys in update mode: it also returns the keys to emit, and the
// delta then writes those rows as they are), emit; then evict with Expire
// (Options.EventTime gives each key its event time, so the keys a
// watermark closed are found without scanning the state; Scan + Remove
// works for any other rule), and Commit. dropDuplicates: Insert, and the created flags
// are the rows to keep. Join buffers: one key row per buffered input row
// (join key + a sequence number), or Spark's two stores (key -> count and
// (key, index) -> row), as the operator prefers: a Store has as many value
// columns of any Arrow type as needed.
//
// # Files
//
//	state/<op>/_metadata                 partitions and key/value schemas
//	state/<op>/<partition>/[<name>/]<v>.delta
//	state/<op>/<partition>/[<name>/]<v>.snapshot
//
// Commit writes <v>.delta: the keys changed in the batch with their new
// values and the keys removed, nothing else, so a commit costs the changed
// keys, never the size of the state. Every SnapshotInterval versions a
// goroutine writes <v>.snapshot, the whole table, while the next batches
// run: the snapshot reads rows that have not changed since version v
// straight from the live table, and a batch about to change a row first
// copies the 16K-row chunk holding it into the snapshot (copy on write),
// so the snapshot is exactly version v and the batch never waits for the
// file. A crash before the snapshot lands loses nothing: restoring reads
// an older snapshot and more deltas. Restore(v) = the newest snapshot at or
// below v + the deltas after it.
//
// A file is a 16-byte header, a zstd frame holding an Arrow IPC stream
// (schema metadata names the file's kind, operator, partition, store and
// version) byte-shuffled in 64 KiB blocks (shuffle.go: small integers
// compress five times faster and smaller), and a 16-byte trailer with the
// row count and a CRC-32C of everything before it, so a damaged file is
// reported by name, never loaded. Every file is written create-if-absent. A batch re-run after a
// crash finds its delta already written: the store reads it and checks
// that it holds exactly the changes the re-run made (same keys, removals
// and values, in any order); then the commit succeeds. If not (a
// non-deterministic batch, or two queries on one checkpoint) it fails with
// ErrDeltaConflict, or with Options.OnReplayMismatch = ReplayKeepFile
// keeps the file and reloads the version from it (for batches that are
// deterministic only up to floating-point rounding). A committed file is
// never overwritten.
//
// Decoding trusts nothing in a file: the checksum comes first, then each
// Arrow IPC message's flatbuffer metadata is bounds-checked before
// arrow-go reads it (ipcsafe.go), every array is validated, and no
// allocation can exceed a fixed limit.
//
// The partition count and the schemas are fixed by the operator's
// _metadata when the state is first created; OpenOperator refuses a
// different partition count (ErrPartitionsChanged) or a key/value column
// whose type changed, or columns added or dropped (ErrSchemaChanged),
// naming the operator and the column. Column names may change (as in
// Spark, only positions and types are checked).
//
// # Concurrency and memory
//
// A Store is used by one goroutine at a time; different stores (the
// partitions of an operator) run in parallel. Its own snapshot goroutine
// shares the table under a mutex taken once per call, never per row.
// Arrow arrays returned by the store are owned by the caller; arrays passed
// in are never retained (values are copied into the store's own buffers).
package state
