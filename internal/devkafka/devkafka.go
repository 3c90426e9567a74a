// Package devkafka runs an embedded Kafka-compatible broker (franz-go's
// kfake) for trying sluice and for tests: `sluice dev kafka` and the Kafka
// source/sink tests start it on a loopback TCP port, so outside clients
// such as kcat can talk to it too.
package devkafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrBroker wraps failures to start or use the embedded broker.
var ErrBroker = errors.New("devkafka")

// Config says how to start the broker. Zero values take the defaults.
type Config struct {
	// Addr is host:port to listen on. Default "127.0.0.1:0": a free port
	// on loopback (read it back with Broker.Addr).
	Addr string
	// Partitions of each topic in Topics and of topics created on first
	// use. Default 1.
	Partitions int32
	// Topics to create at start (existing ones are kept).
	Topics []string
	// DataDir keeps the log, offsets and transactions on disk, so a
	// broker restarted on the same directory carries on. Default: memory.
	DataDir string
	// SyncWrites fsyncs every produce (only with DataDir): slower, but a
	// killed process loses nothing acknowledged.
	SyncWrites bool
	// BrokerConfigs are Kafka broker settings kfake understands
	// (log.retention.ms, transaction.max.timeout.ms, ...).
	BrokerConfigs map[string]string
	// Opts are extra kfake options (SASL users, TLS) for tests.
	Opts []kfake.Opt
	// ClientOpts are what Client (and Start, to create Topics) need to
	// connect when Opts turn on SASL or TLS.
	ClientOpts []kgo.Opt
	// Logger receives the broker's warnings and errors. Default: none.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	c          *kfake.Cluster
	addr       string
	clientOpts []kgo.Opt
}

// Start listens on cfg.Addr and creates cfg.Topics.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 1
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: want host:port, e.g. 127.0.0.1:9092", ErrBroker, cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: address %q: port must be a number 0..65535", ErrBroker, cfg.Addr)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ClusterID("sluice-dev"),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(cfg.Partitions)),
		// kfake builds 127.0.0.1:<port>; listen on the host asked for.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	if len(cfg.BrokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(cfg.BrokerConfigs))
	}
	if cfg.Logger != nil {
		opts = append(opts, kfake.WithLogger(&logger{cfg.Logger}))
	}
	opts = append(opts, cfg.Opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: start broker on %s: %w", ErrBroker, cfg.Addr, err)
	}
	b := &Broker{c: c, addr: c.ListenAddrs()[0], clientOpts: cfg.ClientOpts}
	if len(cfg.Topics) > 0 {
		if err := b.CreateTopics(ctx, cfg.Partitions, cfg.Topics...); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Addr is the broker's host:port, for kafka.bootstrap.servers.
func (b *Broker) Addr() string { return b.addr }

// Cluster is the underlying kfake cluster (tests use it to inject faults).
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// Client makes a franz-go client connected to the broker; the caller
// closes it.
func (b *Broker) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	all := append([]kgo.Opt{kgo.SeedBrokers(b.addr)}, b.clientOpts...)
	return kgo.NewClient(append(all, opts...)...)
}

// CreateTopics creates topics with the given partitions; topics that exist
// are left as they are.
func (b *Broker) CreateTopics(ctx context.Context, partitions int32, topics ...string) error {
	cl, err := b.Client()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBroker, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		return fmt.Errorf("%w: create topics %v: %w", ErrBroker, topics, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("%w: create topic %q: %w", ErrBroker, r.Topic, r.Err)
		}
	}
	return nil
}

// Close stops the broker; with a DataDir its state is saved first.
func (b *Broker) Close() error {
	b.c.Close()
	return nil
}

type logger struct{ l *slog.Logger }

func (l *logger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.l.Error("kafka broker: " + fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		l.l.Warn("kafka broker: " + fmt.Sprintf(msg, args...))
	}
}
