package dataframe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/sinks"
	kafkasink "github.com/sluicehq/sluice/sinks/kafka"
	"github.com/sluicehq/sluice/sources"
	kafkasrc "github.com/sluicehq/sluice/sources/kafka"
)

// Kafka reads Kafka topics once, between startingOffsets and
// endingOffsets (default earliest to latest), with the options set on r
// (kafka.bootstrap.servers, subscribe, ...): s.Read().Kafka() is
// s.Read().Format("kafka").Load(), the same code as the stream reads.
func (r *DataFrameReader) Kafka() *DataFrame { return r.Format("kafka").Load() }

// The kafka format: a replayable stream source, a batch read between two
// offsets and an exactly-once sink, all with Spark's option names
// (sources/kafka and sinks/kafka document them). Option values that hold
// secrets (kafka.sasl.*) never appear in errors, EXPLAIN or progress: the
// source and sink describe themselves by topics only.
var kafkaFormat = Format{
	Name:      "kafka",
	Doc:       "Kafka topics: offsets in the checkpoint, exactly-once transactional sink",
	Source:    openKafkaSource,
	Batch:     readKafka,
	Sink:      openKafkaSink,
	CheckSink: checkKafkaSink,
	Aliases: map[string]string{
		"bootstrapServers":  "kafka.bootstrap.servers",
		"isolationLevel":    "kafka.isolation.level",
		"clientId":          "kafka.client.id",
		"securityProtocol":  "kafka.security.protocol",
		"saslMechanism":     "kafka.sasl.mechanism",
		"saslUsername":      "kafka.sasl.username",
		"saslPassword":      "kafka.sasl.password",
		"schemaRegistryUrl": "schema.registry.url",
		"pollTimeoutMs":     "kafkaConsumer.pollTimeoutMs",
		// A job spec's value: {format: json, schema: "a INT, ..."} block.
		"value.format":                 "valueFormat",
		"value.schema":                 "valueSchema",
		"value.subject":                "valueSubject",
		"value.avroSchema":             "avroSchema",
		"value.schemaRegistryUrl":      "schema.registry.url",
		"value.schemaRegistryUserInfo": "schema.registry.basic.auth.user.info",
		"value.protobufSchema":         "protobufSchema",
		"value.message":                "protobufMessage",
	},
}

func kafkaSourceOptions(s *Session, o FormatOptions) (kafkasrc.Options, error) {
	var errs []error
	if o.Schema != nil {
		errs = append(errs, errors.New("the kafka source has a fixed schema (key, value, topic, partition, offset, timestamp, timestampType[, headers]); remove Schema(...) and decode value with valueFormat/valueSchema or from_json"))
	}
	if len(o.Paths) > 0 {
		errs = append(errs, errors.New("the kafka source takes no paths; name topics with the option subscribe, subscribePattern or assign"))
	}
	ko, err := kafkasrc.ParseOptions(o.Options)
	if err != nil {
		errs = append(errs, err)
	}
	ko.Mem = s.Allocator()
	return ko, errors.Join(errs...)
}

func openKafkaSource(_ context.Context, s *Session, o FormatOptions) (sources.Source, error) {
	ko, err := kafkaSourceOptions(s, o)
	if err != nil {
		return nil, err
	}
	return kafkasrc.New(ko)
}

// readKafka is s.Read().Format("kafka"): the records between
// startingOffsets (default earliest) and endingOffsets (default latest),
// resolved when the query runs, as in Spark.
func readKafka(_ context.Context, s *Session, o FormatOptions) (*DataFrame, error) {
	ko, err := kafkaSourceOptions(s, o)
	if err != nil {
		return nil, err
	}
	if err := ko.ValidateBatch(); err != nil {
		return nil, err
	}
	src, err := kafkasrc.New(ko) // for its schema and description; it connects lazily, so this costs nothing
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rel := &plan.LocalRelation{
		Attrs: plan.AttrsOf(src.Schema(), ""),
		Name:  src.Description(),
		Open: func(ctx context.Context, mem memory.Allocator) (array.RecordReader, error) {
			ro := ko
			ro.Mem = mem
			return kafkasrc.Read(ctx, ro)
		},
	}
	return &DataFrame{s: s, plan: rel}, nil
}

// openKafkaSink makes the sink. Its transactional id (and the consumer
// group that keeps the committed batch ids) is derived from the query id,
// which the checkpoint keeps, and the sink's topic: stable across restarts
// of one query, distinct between queries. The option transactionalId
// overrides it.
func openKafkaSink(_ context.Context, _ *Session, o FormatOptions) (sinks.Sink, error) {
	ko, err := kafkaSinkOptions(o, o.QueryID)
	if err != nil {
		return nil, err
	}
	sk, err := kafkasink.New(ko)
	if err != nil {
		return nil, err
	}
	if o.Input != nil {
		if err := sk.CheckSchema(o.Input); err != nil {
			sk.Close()
			return nil, err
		}
	}
	return sk, nil
}

// kafkaSinkOptions parses the sink's options; queryID names its
// transactions unless the options set transactionalId or opt out.
func kafkaSinkOptions(o FormatOptions, queryID string) (kafkasink.Options, error) {
	if _, path := o.Options["path"]; path || len(o.Paths) > 0 {
		return kafkasink.Options{}, errors.New("the kafka sink takes no path; set the option topic or give the rows a topic column")
	}
	opts := make(map[string]string, len(o.Options)+1)
	for k, v := range o.Options {
		opts[k] = v
	}
	if _, set := opts["transactionalId"]; !set && !strings.EqualFold(opts["deliveryGuarantee"], kafkasink.AtLeastOnce) {
		id, err := KafkaTransactionalID(queryID, opts["topic"])
		if err != nil {
			return kafkasink.Options{}, err
		}
		opts["transactionalId"] = id
	}
	return kafkasink.ParseOptions(opts)
}

// checkKafkaSink checks the sink's options without connecting (a job
// spec's typo is a validation error); every output mode is accepted.
func checkKafkaSink(o FormatOptions, _ sinks.OutputMode) error {
	_, err := kafkaSinkOptions(o, "validate") // the query id is the checkpoint's, not known here
	return err
}

// KafkaTransactionalID is the transactional id the kafka format gives a
// query's sink: "sluice-<query id>-<topic>" ("-by-column" when rows name
// their topics). The query id comes from the checkpoint, so a restarted
// query fences its predecessor and finds the batch ids it committed,
// while two queries never share an id.
func KafkaTransactionalID(queryID, topic string) (string, error) {
	if strings.TrimSpace(queryID) == "" {
		return "", fmt.Errorf("%w: the exactly-once kafka sink needs the query id from the checkpoint to name its transactions; set the option transactionalId or deliveryGuarantee=at-least-once", ErrStreaming)
	}
	if topic == "" {
		topic = "by-column"
	}
	return "sluice-" + queryID + "-" + topic, nil
}
