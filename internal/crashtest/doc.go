// Package crashtest proves the stream engine exactly-once under real
// crashes: its test runs a streaming query in a child process, kills it
// with SIGKILL at random moments and at chosen points of the micro-batch
// loop (before the offsets write, between offsets and sink, inside the
// sink, between sink and commit, ...), restarts it on the same checkpoint,
// and finally checks the sink's output record by record: nothing lost,
// nothing twice, and a replayed batch identical to its first attempt.
//
// Run many kills with
//
//	go test ./internal/crashtest -crash.kills=5000 [-crash.seed=N]
//
// Its non-test code is what other crash tests reuse (internal/oracle):
// Killer, which SIGKILLs a child at named points (CheckpointHooks names
// the points of the checkpoint's and the state stores' writes), and
// Child, which re-executes the test binary as a child process.
package crashtest
