package kafkacrash

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sinks"
	kafkasink "github.com/sluicehq/sluice/sinks/kafka"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// The child is this test binary re-executed with -test.run=^TestKafkaChild$
// and these variables.
const (
	envChild  = "SLUICE_KAFKACRASH_CHILD"   // "1" in a child
	envBroker = "SLUICE_KAFKACRASH_BROKER"  // bootstrap servers
	envCkpt   = "SLUICE_KAFKACRASH_CKPT"    // checkpoint directory
	envAPI    = "SLUICE_KAFKACRASH_API"     // "df": WriteStream().Format("kafka"); "engine": microbatch.Start with kill points
	envKill   = "SLUICE_KAFKACRASH_KILL"    // "[stop:]point:n": SIGKILL (SIGSTOP) itself the nth time it reaches point
	envFinal  = "SLUICE_KAFKACRASH_FINAL"   // "1": run with AvailableNow and exit 0 when done
	envNoLock = "SLUICE_KAFKACRASH_NO_LOCK" // "1": open the checkpoint without its lock (engine API), as after a lost lease
)

// The pipeline's topics and shape.
const (
	inTopic        = "clicks"
	outTopic       = "counts"
	inPartitions   = 3
	outPartitions  = 2
	maxPerTrigger  = 37 // small: many batches, so many transactions per run
	windowMs       = 10_000
	eventSpacingMs = 100
	users          = 7
	startMs        = 1_767_225_600_000 // 2026-01-01T00:00:00Z
	shuffle        = 2                 // state partitions: the same in both APIs
)

// Exit codes of a child.
const (
	exitDone   = 0 // final run: everything available was processed
	exitFailed = 2 // the query failed or could not start; stderr says why
)

// Kill points, reached only with the "engine" API.
var points = []string{
	"before-offsets",   // about to write offsets/N
	"after-offsets",    // offsets/N durable, nothing of the batch written to Kafka
	"sink-mid-txn",     // a record batch was acknowledged (the hook may run a little late: usually mid-transaction)
	"sink-batch-id",    // the TxnOffsetCommit with the batch id was sent
	"sink-end-txn",     // the EndTxn (commit) request was sent: committed or not, the child never knows
	"after-sink",       // the transaction committed; commits/N not written
	"after-commit",     // commits/N durable
	"before-state",     // a state store file is about to be written
	"sink-before-init", // the sink is about to fence its predecessor (InitProducerID)
}

// TestKafkaChild is the child process of the tests; run alone it skips.
func TestKafkaChild(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("the child process of TestKafkaCrash")
	}
	os.Exit(childMain())
}

// killer SIGKILLs (or SIGSTOPs) the process the nth time it reaches point.
type killer struct {
	point string
	n     int64
	stop  bool
	seen  atomic.Int64
}

func (k *killer) hit(point string) {
	if k == nil || point != k.point {
		return
	}
	if k.seen.Add(1) != k.n {
		return
	}
	if k.stop {
		syscall.Kill(os.Getpid(), syscall.SIGSTOP) // continues when the parent sends SIGCONT
		return
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// storageHooks kill at the checkpoint's writes.
func (k *killer) storageHooks() storage.Hooks {
	return storage.Hooks{
		Before: func(op storage.Op, name string) error {
			if op == storage.OpWriteFile || op == storage.OpCreate {
				switch {
				case strings.Contains(name, "/state/"):
					k.hit("before-state")
				case path.Base(path.Dir(name)) == "offsets":
					k.hit("before-offsets")
				}
			}
			return nil
		},
		After: func(op storage.Op, name string, err error) error {
			if op == storage.OpWriteFile && err == nil {
				switch path.Base(path.Dir(name)) {
				case "offsets":
					k.hit("after-offsets")
				case "commits":
					k.hit("after-commit")
				}
			}
			return err
		},
	}
}

// The franz-go hooks of the sink's client.
func (k *killer) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, _ kgo.ProduceBatchMetrics) {
	k.hit("sink-mid-txn")
}

func (k *killer) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil {
		return
	}
	switch kmsg.Key(key) {
	case kmsg.TxnOffsetCommit:
		k.hit("sink-batch-id")
	case kmsg.EndTxn:
		k.hit("sink-end-txn")
	case kmsg.InitProducerID:
		// After the request left: the predecessor may already be fenced.
	}
}

func (k *killer) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, _ kgo.BrokerE2E) {}

// killingSink adds kill points around the Kafka sink.
type killingSink struct {
	*kafkasink.Sink
	k      *killer
	inited bool
}

func (s *killingSink) AddBatch(ctx context.Context, id int64, mode sinks.OutputMode, rows array.RecordReader) error {
	if !s.inited {
		s.inited = true
		s.k.hit("sink-before-init")
	}
	if err := s.Sink.AddBatch(ctx, id, mode, rows); err != nil {
		return err
	}
	s.k.hit("after-sink")
	return nil
}

// pipeline is the query: JSON clicks decoded by the source, counted per
// user and 10-second window, written as upserts keyed by user.
func pipeline(s *dataframe.Session, broker string) *dataframe.DataFrame {
	return s.ReadStreamFormat("kafka").
		Option("kafka.bootstrap.servers", broker).
		Option("subscribe", inTopic).
		Option("startingOffsets", "earliest").
		Option("maxOffsetsPerTrigger", strconv.Itoa(maxPerTrigger)).
		Option("valueFormat", "json").
		Option("valueSchema", "user STRING, seq BIGINT, ts TIMESTAMP").
		Option("kafkaConsumer.pollTimeoutMs", "30000").
		Load().
		Select(dataframe.Col("value.user").As("user"), dataframe.Col("value.seq").As("seq"), dataframe.Col("value.ts").As("ts")).
		WithWatermark("ts", "1 hour").
		GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("user")).
		Agg(dataframe.Count("*").As("n"), dataframe.Sum("seq").As("s")).
		Select(dataframe.Col("user").As("key"),
			dataframe.ToJSON(dataframe.Struct(dataframe.Col("user"), dataframe.Col("window.start").As("start"), dataframe.Col("n"), dataframe.Col("s"))).As("value"))
}

// sinkOptions are the Kafka sink's options, the same in both APIs.
var sinkOptions = map[string]string{
	"topic":              outTopic,
	"transactionTimeout": "20s",
}

func childMain() int {
	broker, ckpt, api := os.Getenv(envBroker), os.Getenv(envCkpt), os.Getenv(envAPI)
	final, noLock := os.Getenv(envFinal) == "1", os.Getenv(envNoLock) == "1"
	var k *killer
	if spec := os.Getenv(envKill); spec != "" {
		k = &killer{}
		if rest, ok := strings.CutPrefix(spec, "stop:"); ok {
			k.stop, spec = true, rest
		}
		point, n, _ := strings.Cut(spec, ":")
		nn, err := strconv.ParseInt(n, 10, 64)
		if err != nil || nn < 1 {
			fmt.Fprintf(os.Stderr, "kafkacrash child: bad %s=%q\n", envKill, spec)
			return exitFailed
		}
		k.point, k.n = point, nn
	}
	trig := trigger.Default()
	if final {
		trig = trigger.AvailableNow()
	}
	ctx := context.Background()
	s := dataframe.NewSessionWith(dataframe.Config{ShufflePartitions: shuffle})
	out := pipeline(s, broker)
	type query interface {
		AwaitTermination(context.Context) error
		Done() <-chan struct{}
		Exception() error
	}
	var q query
	var err error
	switch api {
	case "df":
		w := out.WriteStream().Format("kafka").OutputMode(dataframe.Update).Trigger(trig).
			Option("kafka.bootstrap.servers", broker).Option("checkpointLocation", ckpt).QueryName("kafkacrash")
		for key, v := range sinkOptions {
			w = w.Option(key, v)
		}
		q, err = w.Start(ctx)
	case "engine":
		q, err = startEngine(ctx, out, broker, ckpt, trig, k, noLock)
	default:
		err = fmt.Errorf("bad %s=%q", envAPI, api)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkacrash child: start:", err)
		return exitFailed
	}
	fmt.Println("running") // the checkpoint is ours: the parent may start a rival
	if final {
		if err := q.AwaitTermination(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "kafkacrash child: query failed:", err)
			return exitFailed
		}
		return exitDone
	}
	<-q.Done()
	fmt.Fprintln(os.Stderr, "kafkacrash child: query stopped:", q.Exception())
	return exitFailed
}

// startEngine runs the same plan through microbatch.Start, with kill
// points at the checkpoint's writes and inside the sink.
func startEngine(ctx context.Context, out *dataframe.DataFrame, broker, ckpt string, trig trigger.Trigger, k *killer, noLock bool) (*microbatch.Query, error) {
	if err := out.Err(); err != nil {
		return nil, err
	}
	var fsys storage.FS = storage.Local{}
	if k != nil {
		fsys = storage.WithHooks(fsys, k.storageHooks())
	}
	ck, err := microbatch.OpenCheckpointFS(ctx, fsys, ckpt, wal.Options{DisableLock: noLock})
	if err != nil {
		return nil, err
	}
	txnID, err := dataframe.KafkaTransactionalID(ck.QueryID(), outTopic)
	if err != nil {
		ck.Close()
		return nil, err
	}
	opts := map[string]string{"kafka.bootstrap.servers": broker, "transactionalId": txnID}
	for key, v := range sinkOptions {
		opts[key] = v
	}
	so, err := kafkasink.ParseOptions(opts)
	if err != nil {
		ck.Close()
		return nil, err
	}
	if k != nil {
		so.ClientOpts = []kgo.Opt{kgo.WithHooks(k)}
	}
	sk, err := kafkasink.New(so)
	if err != nil {
		ck.Close()
		return nil, err
	}
	var sink sinks.Sink = sk
	if k != nil {
		sink = &killingSink{Sink: sk, k: k}
	}
	q, err := microbatch.Start(ctx, microbatch.Config{Name: "kafkacrash", Plan: out.Plan(), Sink: sink, Mode: sinks.Update,
		Trigger: trig, Checkpoint: ck, ShufflePartitions: shuffle})
	if err != nil {
		sk.Close()
		ck.Close()
		return nil, err
	}
	return q, nil
}
