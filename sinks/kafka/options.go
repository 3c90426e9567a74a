package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/sinks"
)

// Delivery guarantees.
const (
	ExactlyOnce = "exactly-once"
	AtLeastOnce = "at-least-once"
)

// Options configure the Kafka sink. Names (and yaml keys) follow Spark's
// Kafka sink where it has them. Zero values take the documented default.
type Options struct {
	// BootstrapServers is required: comma-separated host:port list.
	// Spark: kafka.bootstrap.servers.
	BootstrapServers string `yaml:"kafka.bootstrap.servers"`
	// Topic every row goes to; it overrides a topic column (Spark). Without
	// it the rows need a string topic column.
	Topic string `yaml:"topic"`
	// DeliveryGuarantee is exactly-once (default: one Kafka transaction per
	// batch, the batch id committed inside it) or at-least-once (an
	// idempotent producer; a replayed batch is written again).
	DeliveryGuarantee string `yaml:"deliveryGuarantee"`
	// TransactionalID identifies this query's sink across restarts; it must
	// be stable for one checkpoint and unique across checkpoints (the engine
	// fills it from the query id and the sink's name). A second instance
	// with the same id fences the first. The batch ids are committed to the
	// consumer group of the same name. Required for exactly-once.
	TransactionalID string `yaml:"transactionalId"`
	// TransactionTimeout is how long the broker waits for an open
	// transaction before aborting it (a crashed writer's transaction).
	// Default 1m. Kafka: transaction.timeout.ms.
	TransactionTimeout time.Duration `yaml:"transactionTimeout"`

	// Kafka holds the other kafka.* client options, as in Spark:
	// kafka.client.id, kafka.security.protocol, kafka.sasl.*, kafka.ssl.*
	// (see the source), kafka.compression.type (none, gzip, snappy, lz4,
	// zstd; default none), kafka.linger.ms (default 0), kafka.batch.size
	// (bytes per partition batch, default 1048576), kafka.acks (all only:
	// the producer is idempotent). Secrets never appear in errors or logs.
	Kafka map[string]string `yaml:",inline"`

	// Logger receives skipped replays and client warnings. Default slog.Default().
	Logger *slog.Logger `yaml:"-"`
	// ClientOpts are extra franz-go options (Go callers only).
	ClientOpts []kgo.Opt `yaml:"-"`
}

var sinkKeys = []kafkaconf.Key{
	{Name: "compression.type", Doc: "none (default), gzip, snappy, lz4 or zstd"},
	{Name: "linger.ms", Doc: "how long a partition batch waits for more records (default 0)"},
	{Name: "batch.size", Doc: "most bytes per partition batch (default 1048576)"},
	{Name: "acks", Doc: "all (the only value: the producer is idempotent)"},
	{Name: "enable.idempotence", Doc: "true (the only value)"},
	{Name: "transaction.timeout.ms", Doc: "same as transactionTimeout"},
}

// String prints the options with secrets redacted (safe to log).
func (o Options) String() string {
	parts := []string{"kafka.bootstrap.servers=" + o.BootstrapServers}
	if o.Topic != "" {
		parts = append(parts, "topic="+o.Topic)
	}
	if o.DeliveryGuarantee != "" {
		parts = append(parts, "deliveryGuarantee="+o.DeliveryGuarantee)
	}
	if o.TransactionalID != "" {
		parts = append(parts, "transactionalId="+o.TransactionalID)
	}
	if len(o.Kafka) > 0 {
		parts = append(parts, "kafka={"+kafkaconf.FormatMap(o.Kafka)+"}")
	}
	return "kafkaSink{" + strings.Join(parts, ", ") + "}"
}

// ParseOptions reads Spark-style string options into Options and
// validates them.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	var errs []error
	for k, v := range m {
		switch k {
		case "kafka.bootstrap.servers":
			o.BootstrapServers = v
		case "topic":
			o.Topic = v
		case "deliveryGuarantee":
			o.DeliveryGuarantee = v
		case "transactionalId":
			o.TransactionalID = v
		case "transactionTimeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("option transactionTimeout=%q: want a duration such as 1m", v))
			}
			o.TransactionTimeout = d
		default:
			if o.Kafka == nil {
				o.Kafka = map[string]string{}
			}
			o.Kafka[k] = v
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("%w: kafka sink options:\n%w", sinks.ErrSink, err)
	}
	return o, o.Validate()
}

type resolved struct {
	conf        *kafkaconf.Client
	eos         bool
	txnTimeout  time.Duration
	compression kgo.CompressionCodec
	linger      time.Duration
	batchBytes  int32
}

// Validate reports every problem at once; secrets never appear.
func (o *Options) Validate() error {
	_, err := o.resolve()
	return err
}

func (o *Options) resolve() (*resolved, error) {
	var errs []error
	r := &resolved{eos: true, txnTimeout: time.Minute, compression: kgo.NoCompression(), batchBytes: 1 << 20}
	conf, cerrs := kafkaconf.Parse(o.BootstrapServers, o.Kafka, sinkKeys)
	errs = append(errs, cerrs...)
	r.conf = conf
	switch strings.ToLower(o.DeliveryGuarantee) {
	case "", ExactlyOnce, "exactly_once":
		if strings.TrimSpace(o.TransactionalID) == "" {
			errs = append(errs, errors.New("exactly-once delivery needs transactionalId, stable for this query's checkpoint and unique to it (the engine sets it from the query id); or set deliveryGuarantee to at-least-once"))
		}
	case AtLeastOnce, "at_least_once":
		r.eos = false
	default:
		errs = append(errs, fmt.Errorf("option deliveryGuarantee=%q: use exactly-once or at-least-once", o.DeliveryGuarantee))
	}
	if o.TransactionTimeout < 0 {
		errs = append(errs, fmt.Errorf("option transactionTimeout=%s must be positive", o.TransactionTimeout))
	} else if o.TransactionTimeout > 0 {
		r.txnTimeout = o.TransactionTimeout
	}
	get := func(k string) (string, bool) {
		v, ok := o.Kafka["kafka."+k]
		return strings.TrimSpace(v), ok
	}
	if v, ok := get("transaction.timeout.ms"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("option kafka.transaction.timeout.ms=%q must be a positive integer", v))
		} else if o.TransactionTimeout == 0 {
			r.txnTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if v, ok := get("compression.type"); ok {
		switch strings.ToLower(v) {
		case "none", "":
		case "gzip":
			r.compression = kgo.GzipCompression()
		case "snappy":
			r.compression = kgo.SnappyCompression()
		case "lz4":
			r.compression = kgo.Lz4Compression()
		case "zstd":
			r.compression = kgo.ZstdCompression()
		default:
			errs = append(errs, fmt.Errorf("option kafka.compression.type=%q: use none, gzip, snappy, lz4 or zstd", v))
		}
	}
	if v, ok := get("linger.ms"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("option kafka.linger.ms=%q must be a non-negative integer", v))
		}
		r.linger = time.Duration(n) * time.Millisecond
	}
	if v, ok := get("batch.size"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("option kafka.batch.size=%q must be a positive integer", v))
		}
		r.batchBytes = int32(n)
	}
	if v, ok := get("acks"); ok && v != "all" && v != "-1" {
		errs = append(errs, fmt.Errorf("option kafka.acks=%q: the sink's producer is idempotent and needs acks=all", v))
	}
	if v, ok := get("enable.idempotence"); ok && v != "true" {
		errs = append(errs, fmt.Errorf("option kafka.enable.idempotence=%q: the sink's producer is always idempotent", v))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: kafka sink options:\n%w", sinks.ErrSink, err)
	}
	return r, nil
}
