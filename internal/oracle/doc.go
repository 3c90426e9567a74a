// Package oracle checks the stream engine's stateful operators against
// the batch engine: for every case of its table (cases_test.go) and every
// output mode legal for it, the query runs as a stream over seeded random
// input split at random micro-batch boundaries, with restarts and SIGKILL
// crashes in between, and must end with exactly the batch query's result
// over all of the input (DESIGN.md §5):
//
//   - Complete: the last table emitted equals the batch result.
//   - Update: the emitted rows, replayed as upserts by key, equal it.
//   - Append: the emitted rows equal the batch result's rows whose
//     event time the final watermark closed, each emitted once.
//
// Input the watermark makes late is left out of the batch result the way
// the stream drops it: the test replays the watermark of every batch from
// the known split (max event time seen - delay, used by the next batch).
//
// The fast in-process test (restarts with Stop and Start) runs in -short;
// longer runs:
//
//	go test ./internal/oracle -oracle.seeds=500 -oracle.kills=2000
//
// A failure prints the flags that rerun it (-oracle.seed, the run's base
// seed; -oracle.scenario, one scenario). -oracle.norestart tells a restart
// bug from another; -oracle.knownbugs runs the cases of known, unfixed
// engine bugs (knownBugs in cases_test.go).
//
// The package has no non-test code.
package oracle
