// Package kafkacrash proves the Kafka pipeline exactly-once end to end
// under real crashes. Its tests run Kafka -> windowed count (update mode)
// -> Kafka as a child process against an embedded broker in the parent
// (the one `sluice dev kafka` runs), kill the child with SIGKILL at random
// moments and at chosen points (inside the sink's transaction, right after
// the commit request left, between the sink and the commit log, ...),
// restart it on the same checkpoint, and finally read the output topic
// with read_committed consumers (franz-go and, where installed, kcat):
// every (user, window) count appears once per update, counts only grow,
// the last one of each key equals the count over the whole input, and
// nothing of the aborted transactions is visible.
//
// Two instances on one checkpoint: a second query is refused while the
// first runs (the checkpoint lock); and when the lock is bypassed (a lost
// lease, simulated with DisableLock and SIGSTOP), the newer instance fences
// the stalled one, whose transaction is aborted, and the output is still
// exactly once.
//
//	go test ./internal/kafkacrash -kafkacrash.kills=500 [-kafkacrash.seed=N]
//
// The package has no non-test code.
package kafkacrash
