package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/avro"
	"github.com/sluicehq/sluice/internal/kafkaconf"
	"github.com/sluicehq/sluice/internal/protobuf"
	"github.com/sluicehq/sluice/sources"
	"github.com/sluicehq/sluice/trigger"
)

// Options configure the Kafka source. Names (and yaml keys) are Spark's, so
// a Spark job's options carry over. Zero values take the documented
// default.
type Options struct {
	// BootstrapServers is required: comma-separated host:port list.
	// Spark: kafka.bootstrap.servers.
	BootstrapServers string `yaml:"kafka.bootstrap.servers"`

	// Exactly one of Subscribe, SubscribePattern and Assign says what to
	// read. Subscribe is a comma-separated topic list; SubscribePattern a
	// regular expression matched against whole topic names (topics that
	// appear later are picked up); Assign a JSON object of partitions,
	// {"topicA":[0,1],"topicB":[2,4]}.
	Subscribe        string `yaml:"subscribe"`
	SubscribePattern string `yaml:"subscribePattern"`
	Assign           string `yaml:"assign"`

	// StartingOffsets is where a new query (or a batch read) starts:
	// "earliest", "latest" or JSON per partition, {"t":{"0":23,"1":-2}},
	// -2 meaning earliest and -1 latest. Default latest for streams,
	// earliest for batch reads. Partitions found later start at earliest.
	StartingOffsets string `yaml:"startingOffsets"`
	// StartingTimestamp (ms since the epoch) starts every partition at the
	// first record with a timestamp >= it. Overrides StartingOffsets.
	StartingTimestamp *int64 `yaml:"startingTimestamp"`
	// StartingOffsetsByTimestamp is JSON per partition, {"t":{"0":1700000000000}}.
	// Overrides StartingOffsets; StartingTimestamp wins over it.
	StartingOffsetsByTimestamp string `yaml:"startingOffsetsByTimestamp"`
	// StartingOffsetsByTimestampStrategy says what happens when no record
	// is at or after the timestamp: "error" (default) or "latest".
	StartingOffsetsByTimestampStrategy string `yaml:"startingOffsetsByTimestampStrategy"`

	// EndingOffsets (batch reads only): "latest" (default) or JSON per
	// partition, -1 meaning latest. Exclusive, like Spark.
	EndingOffsets string `yaml:"endingOffsets"`
	// EndingTimestamp / EndingOffsetsByTimestamp (batch reads only) end
	// each partition before the first record with a timestamp >= it.
	EndingTimestamp          *int64 `yaml:"endingTimestamp"`
	EndingOffsetsByTimestamp string `yaml:"endingOffsetsByTimestamp"`

	// MaxOffsetsPerTrigger caps the offsets of one batch across all
	// partitions, split across partitions in proportion to their backlog
	// as Spark does. Default 0: no cap.
	MaxOffsetsPerTrigger int64 `yaml:"maxOffsetsPerTrigger"`
	// MinOffsetsPerTrigger delays a batch until this many offsets are
	// waiting, or MaxTriggerDelay passed since the last batch. Default 0.
	MinOffsetsPerTrigger int64 `yaml:"minOffsetsPerTrigger"`
	// MaxTriggerDelay bounds the wait of MinOffsetsPerTrigger. Default 15m.
	MaxTriggerDelay time.Duration `yaml:"maxTriggerDelay"`

	// FailOnDataLoss fails the query when offsets it needs are gone
	// (deleted by retention, topic deleted or recreated). With false the
	// gap is skipped and logged. Default true.
	FailOnDataLoss *bool `yaml:"failOnDataLoss"`
	// IncludeHeaders adds the headers column. Default false.
	IncludeHeaders bool `yaml:"includeHeaders"`
	// IsolationLevel is read_committed (default: records of aborted
	// transactions are skipped, open transactions are waited for) or
	// read_uncommitted. Spark: kafka.isolation.level.
	IsolationLevel string `yaml:"kafka.isolation.level"`
	// PollTimeout bounds the wait for offsets that should be there.
	// Default 2m. Spark: kafkaConsumer.pollTimeoutMs.
	PollTimeoutMs int64 `yaml:"kafkaConsumer.pollTimeoutMs"`

	// ValueFormat "binary" (default) keeps value as bytes; "json" decodes
	// each value with ValueSchema straight into a struct column named
	// value (like from_json(value, schema) AS value, without the detour);
	// "avro" and "protobuf" decode with a schema registry's schemas (or a
	// schema given here) the same way.
	ValueFormat string `yaml:"valueFormat"`
	// ValueSchema is the DDL of the JSON values: "ad_id STRING, ts TIMESTAMP".
	ValueSchema string `yaml:"valueSchema"`
	// ValueOptions are JSON options for the values (mode, timestampFormat,
	// dateFormat, timeZone, columnNameOfCorruptRecord). Default mode
	// FAILFAST: a malformed value fails the batch, naming its offset.
	ValueOptions map[string]string `yaml:"valueOptions"`

	// SchemaRegistryURL (valueFormat "avro" or "protobuf") is the
	// Confluent schema registry the values are framed by (magic byte,
	// schema id; Protobuf adds the message index). Avro values decode with
	// their writer schema resolved against the reader schema, the latest
	// version of ValueSubject when the source starts; Protobuf values
	// decode by field number into the reader schema's message, and must be
	// of that message (by full name).
	SchemaRegistryURL string `yaml:"schema.registry.url"`
	// SchemaRegistryUserInfo is "user:password" for the registry's basic
	// authentication. Secret: never printed.
	SchemaRegistryUserInfo string `yaml:"schema.registry.basic.auth.user.info"`
	// ValueSubject is the registry subject of the values. Default
	// "<topic>-value" when the source subscribes to one topic.
	ValueSubject string `yaml:"valueSubject"`
	// AvroSchema (valueFormat "avro", without a registry) is the Avro
	// schema (JSON) of raw Avro values, as Spark's from_avro takes it.
	AvroSchema string `yaml:"avroSchema"`
	// ProtobufSchema (valueFormat "protobuf", without a registry) is the
	// .proto text of raw (unframed) Protobuf values; it may import only the
	// well-known google/protobuf files.
	ProtobufSchema string `yaml:"protobufSchema"`
	// ProtobufMessage (valueFormat "protobuf") is the message type of the
	// values, by full name (package.Message) or unambiguous short name.
	// Default: the schema's first message, as Confluent's serializers.
	ProtobufMessage string `yaml:"protobufMessage"`

	// Kafka holds the other kafka.* client options, as in Spark:
	// kafka.client.id, kafka.security.protocol, kafka.sasl.mechanism,
	// kafka.sasl.jaas.config (or kafka.sasl.username/kafka.sasl.password),
	// kafka.ssl.ca.location, kafka.ssl.certificate.location,
	// kafka.ssl.key.location, kafka.ssl.endpoint.identification.algorithm,
	// kafka.fetch.max.bytes, kafka.max.partition.fetch.bytes. Secret
	// values never appear in errors, logs or descriptions.
	Kafka map[string]string `yaml:",inline"`

	// Mem allocates the batches. Default memory.DefaultAllocator.
	Mem memory.Allocator `yaml:"-"`
	// Clock times MaxTriggerDelay. Default the system clock.
	Clock trigger.Clock `yaml:"-"`
	// Logger receives data-loss notices and client warnings. Default slog.Default().
	Logger *slog.Logger `yaml:"-"`
	// ClientOpts are extra franz-go options (Go callers only).
	ClientOpts []kgo.Opt `yaml:"-"`
}

// sourceKeys are the kafka.* keys only the source takes.
var sourceKeys = []kafkaconf.Key{
	{Name: "fetch.max.bytes", Doc: "most bytes per fetch request (default 52428800)"},
	{Name: "max.partition.fetch.bytes", Doc: "most bytes per partition and fetch (default 1048576)"},
	{Name: "isolation.level", Doc: "read_committed (default) or read_uncommitted"},
}

// String prints the options with secrets redacted (safe to log).
func (o Options) String() string {
	var b strings.Builder
	add := func(k, v string) {
		if v != "" {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + v)
		}
	}
	add("kafka.bootstrap.servers", o.BootstrapServers)
	add("subscribe", o.Subscribe)
	add("subscribePattern", o.SubscribePattern)
	add("assign", o.Assign)
	add("startingOffsets", o.StartingOffsets)
	add("endingOffsets", o.EndingOffsets)
	if o.MaxOffsetsPerTrigger > 0 {
		add("maxOffsetsPerTrigger", strconv.FormatInt(o.MaxOffsetsPerTrigger, 10))
	}
	add("valueFormat", o.ValueFormat)
	add("valueSchema", o.ValueSchema)
	add("schema.registry.url", o.SchemaRegistryURL)
	if o.SchemaRegistryUserInfo != "" {
		add("schema.registry.basic.auth.user.info", "***")
	}
	add("valueSubject", o.ValueSubject)
	add("protobufMessage", o.ProtobufMessage)
	if len(o.Kafka) > 0 {
		add("kafka", "{"+kafkaconf.FormatMap(o.Kafka)+"}")
	}
	return "kafka{" + b.String() + "}"
}

// ParseOptions reads Spark-style string options (DataStreamReader.Option,
// a job spec's map) into Options. Every problem is reported at once.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	var errs []error
	num := func(k string, dst *int64) {
		if v, ok := m[k]; ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("option %s=%q must be an integer", k, v))
			}
			*dst = n
		}
	}
	numPtr := func(k string, dst **int64) {
		if _, ok := m[k]; ok {
			var n int64
			num(k, &n)
			*dst = &n
		}
	}
	for k, v := range m {
		switch k {
		case "kafka.bootstrap.servers":
			o.BootstrapServers = v
		case "subscribe":
			o.Subscribe = v
		case "subscribePattern":
			o.SubscribePattern = v
		case "assign":
			o.Assign = v
		case "startingOffsets":
			o.StartingOffsets = v
		case "startingOffsetsByTimestamp":
			o.StartingOffsetsByTimestamp = v
		case "startingOffsetsByTimestampStrategy":
			o.StartingOffsetsByTimestampStrategy = v
		case "endingOffsets":
			o.EndingOffsets = v
		case "endingOffsetsByTimestamp":
			o.EndingOffsetsByTimestamp = v
		case "failOnDataLoss":
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("option failOnDataLoss=%q must be true or false", v))
			}
			o.FailOnDataLoss = &b
		case "includeHeaders":
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("option includeHeaders=%q must be true or false", v))
			}
			o.IncludeHeaders = b
		case "kafka.isolation.level":
			o.IsolationLevel = v
		case "maxTriggerDelay":
			d, err := parseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("option maxTriggerDelay=%q: %v", v, err))
			}
			o.MaxTriggerDelay = d
		case "valueFormat":
			o.ValueFormat = v
		case "valueSchema":
			o.ValueSchema = v
		case "schema.registry.url":
			o.SchemaRegistryURL = v
		case "schema.registry.basic.auth.user.info":
			o.SchemaRegistryUserInfo = v
		case "valueSubject":
			o.ValueSubject = v
		case "avroSchema":
			o.AvroSchema = v
		case "protobufSchema":
			o.ProtobufSchema = v
		case "protobufMessage":
			o.ProtobufMessage = v
		case "startingTimestamp", "endingTimestamp", "maxOffsetsPerTrigger", "minOffsetsPerTrigger", "kafkaConsumer.pollTimeoutMs":
			// below
		default:
			if vk, ok := strings.CutPrefix(k, "valueOption."); ok {
				if o.ValueOptions == nil {
					o.ValueOptions = map[string]string{}
				}
				o.ValueOptions[vk] = v
				continue
			}
			if o.Kafka == nil {
				o.Kafka = map[string]string{}
			}
			o.Kafka[k] = v
		}
	}
	numPtr("startingTimestamp", &o.StartingTimestamp)
	numPtr("endingTimestamp", &o.EndingTimestamp)
	num("maxOffsetsPerTrigger", &o.MaxOffsetsPerTrigger)
	num("minOffsetsPerTrigger", &o.MinOffsetsPerTrigger)
	num("kafkaConsumer.pollTimeoutMs", &o.PollTimeoutMs)
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("%w: kafka source: %w", sources.ErrSource, err)
	}
	return o, o.Validate()
}

// parseDuration takes Go durations ("15m") and Spark's ("15 minutes", "30s").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	f := strings.Fields(s)
	if len(f) == 2 {
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err == nil {
			unit := map[string]time.Duration{"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
				"s": time.Second, "second": time.Second, "seconds": time.Second, "m": time.Minute, "minute": time.Minute, "minutes": time.Minute,
				"h": time.Hour, "hour": time.Hour, "hours": time.Hour}[strings.ToLower(f[1])]
			if unit > 0 {
				return time.Duration(n) * unit, nil
			}
		}
	}
	return 0, errors.New(`want a duration such as "15m", "30s" or "15 minutes"`)
}

// resolved are the checked, defaulted options.
type resolved struct {
	conf          *kafkaconf.Client
	topics        []string
	pattern       *regexp.Regexp
	assign        []tp
	starting      startSpec
	ending        startSpec
	failOnLoss    bool
	readCommitted bool
	pollTimeout   time.Duration
	fetchMax      int32
	partMax       int32
	valueSchema   *arrow.Schema
	// valueFormat avro: the reader schema given (raw values), or the
	// registry subject to take it from (framed values) when the source
	// is made.
	avroSchema *avro.Schema
	subject    string
	// valueFormat protobuf: the message of raw values (nil with a
	// registry: the subject's latest schema gives it).
	protoMsg *protobuf.Message
}

// startSpec is a parsed startingOffsets/endingOffsets family.
type startSpec struct {
	kind     string  // earliest, latest, offsets, timestamp, timestamps, "" (unset)
	offsets  offsets // kind offsets: -2 earliest, -1 latest
	ts       int64   // kind timestamp
	tsByPart offsets // kind timestamps
	strategy string  // error | latest
	raw      string
}

// Validate reports every problem at once, so a job spec is fixed in one
// pass. Secrets never appear in the messages.
func (o *Options) Validate() error {
	_, err := o.resolve()
	return err
}

func (o *Options) resolve() (*resolved, error) {
	var errs []error
	r := &resolved{failOnLoss: true, readCommitted: true, pollTimeout: 2 * time.Minute, fetchMax: 52428800, partMax: 1048576}
	kmap := map[string]string{}
	for k, v := range o.Kafka {
		kmap[k] = v
	}
	conf, cerrs := kafkaconf.Parse(o.BootstrapServers, kmap, sourceKeys)
	errs = append(errs, cerrs...)
	r.conf = conf

	n := 0
	if strings.TrimSpace(o.Subscribe) != "" {
		n++
		for _, t := range strings.Split(o.Subscribe, ",") {
			if t = strings.TrimSpace(t); t != "" {
				r.topics = append(r.topics, t)
			}
		}
	}
	if o.SubscribePattern != "" {
		n++
		re, err := regexp.Compile("^(?:" + o.SubscribePattern + ")$")
		if err != nil {
			errs = append(errs, fmt.Errorf("option subscribePattern=%q is not a valid regular expression: %v", o.SubscribePattern, err))
		}
		r.pattern = re
	}
	if o.Assign != "" {
		n++
		a, err := parseAssign(o.Assign)
		if err != nil {
			errs = append(errs, fmt.Errorf("option assign: %w", err))
		}
		r.assign = a
	}
	if n != 1 {
		errs = append(errs, fmt.Errorf("set exactly one of subscribe, subscribePattern and assign (%d set)", n))
	}

	st, err := parseSpec("startingOffsets", o.StartingOffsets, o.StartingTimestamp, "startingOffsetsByTimestamp", o.StartingOffsetsByTimestamp)
	if err != nil {
		errs = append(errs, err)
	}
	switch strings.ToLower(o.StartingOffsetsByTimestampStrategy) {
	case "", "error":
		st.strategy = "error"
	case "latest":
		st.strategy = "latest"
	default:
		errs = append(errs, fmt.Errorf("option startingOffsetsByTimestampStrategy=%q: use error or latest", o.StartingOffsetsByTimestampStrategy))
	}
	r.starting = st
	en, err := parseSpec("endingOffsets", o.EndingOffsets, o.EndingTimestamp, "endingOffsetsByTimestamp", o.EndingOffsetsByTimestamp)
	if err != nil {
		errs = append(errs, err)
	}
	en.strategy = "latest"
	r.ending = en

	if o.MaxOffsetsPerTrigger < 0 {
		errs = append(errs, fmt.Errorf("option maxOffsetsPerTrigger=%d must be positive (0: no cap)", o.MaxOffsetsPerTrigger))
	}
	if o.MinOffsetsPerTrigger < 0 {
		errs = append(errs, fmt.Errorf("option minOffsetsPerTrigger=%d must be positive (0: off)", o.MinOffsetsPerTrigger))
	}
	if o.MaxOffsetsPerTrigger > 0 && o.MinOffsetsPerTrigger > o.MaxOffsetsPerTrigger {
		errs = append(errs, fmt.Errorf("option minOffsetsPerTrigger=%d exceeds maxOffsetsPerTrigger=%d", o.MinOffsetsPerTrigger, o.MaxOffsetsPerTrigger))
	}
	if o.MaxTriggerDelay < 0 {
		errs = append(errs, fmt.Errorf("option maxTriggerDelay=%s must not be negative", o.MaxTriggerDelay))
	}
	if o.FailOnDataLoss != nil {
		r.failOnLoss = *o.FailOnDataLoss
	}
	iso := o.IsolationLevel
	if v, ok := o.Kafka["kafka.isolation.level"]; ok && iso == "" {
		iso = v
	}
	switch strings.ToLower(iso) {
	case "", "read_committed":
	case "read_uncommitted":
		r.readCommitted = false
	default:
		errs = append(errs, fmt.Errorf("option kafka.isolation.level=%q: use read_committed or read_uncommitted", iso))
	}
	if o.PollTimeoutMs < 0 {
		errs = append(errs, fmt.Errorf("option kafkaConsumer.pollTimeoutMs=%d must be positive", o.PollTimeoutMs))
	} else if o.PollTimeoutMs > 0 {
		r.pollTimeout = time.Duration(o.PollTimeoutMs) * time.Millisecond
	}
	for k, dst := range map[string]*int32{"kafka.fetch.max.bytes": &r.fetchMax, "kafka.max.partition.fetch.bytes": &r.partMax} {
		if v, ok := o.Kafka[k]; ok {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("option %s=%q must be a positive integer", k, v))
			} else {
				*dst = int32(n)
			}
		}
	}

	vf := strings.ToLower(o.ValueFormat)
	if vf != "avro" && vf != "protobuf" {
		for k, v := range map[string]string{"schema.registry.url": o.SchemaRegistryURL, "valueSubject": o.ValueSubject} {
			if v != "" {
				errs = append(errs, fmt.Errorf(`option %s needs valueFormat "avro" or "protobuf"`, k))
			}
		}
	}
	if vf != "avro" && o.AvroSchema != "" {
		errs = append(errs, errors.New(`option avroSchema needs valueFormat "avro"`))
	}
	if vf != "protobuf" {
		for k, v := range map[string]string{"protobufSchema": o.ProtobufSchema, "protobufMessage": o.ProtobufMessage} {
			if v != "" {
				errs = append(errs, fmt.Errorf(`option %s needs valueFormat "protobuf"`, k))
			}
		}
	}
	switch strings.ToLower(o.ValueFormat) {
	case "", "binary":
		if o.ValueSchema != "" {
			errs = append(errs, errors.New(`option valueSchema needs valueFormat "json"`))
		}
	case "avro":
		if o.ValueSchema != "" {
			errs = append(errs, errors.New(`option valueSchema is for valueFormat "json"; Avro values take their schema from the registry (schema.registry.url) or from avroSchema`))
		}
		switch {
		case o.AvroSchema != "" && o.SchemaRegistryURL != "":
			errs = append(errs, errors.New(`set one of schema.registry.url (values framed by a schema registry) and avroSchema (raw Avro values)`))
		case o.AvroSchema != "":
			as, err := avro.Parse(o.AvroSchema)
			if err == nil {
				r.valueSchema, err = as.ArrowSchema()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("option avroSchema: %w", err))
			}
			r.avroSchema = as
		case o.SchemaRegistryURL != "":
			errs = append(errs, r.registrySubject(o, "avro")...)
		default:
			errs = append(errs, errors.New(`valueFormat "avro" needs schema.registry.url (values framed by a Confluent schema registry) or avroSchema (raw Avro values with this schema)`))
		}
	case "protobuf":
		if o.ValueSchema != "" {
			errs = append(errs, errors.New(`option valueSchema is for valueFormat "json"; Protobuf values take their schema from the registry (schema.registry.url) or from protobufSchema`))
		}
		switch {
		case o.ProtobufSchema != "" && o.SchemaRegistryURL != "":
			errs = append(errs, errors.New(`set one of schema.registry.url (values framed by a schema registry) and protobufSchema (raw Protobuf values)`))
		case o.ProtobufSchema != "":
			ps, err := protobuf.Parse(o.ProtobufSchema)
			var m *protobuf.Message
			if err == nil {
				m, err = ps.Message(o.ProtobufMessage)
			}
			if err == nil {
				r.valueSchema, err = m.ArrowSchema()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("option protobufSchema: %w", err))
			}
			r.protoMsg = m
		case o.SchemaRegistryURL != "":
			errs = append(errs, r.registrySubject(o, "protobuf")...)
		default:
			errs = append(errs, errors.New(`valueFormat "protobuf" needs schema.registry.url (values framed by a Confluent schema registry) or protobufSchema (raw Protobuf values of this .proto schema)`))
		}
	case "json":
		if strings.TrimSpace(o.ValueSchema) == "" {
			errs = append(errs, errors.New(`valueFormat "json" needs valueSchema, the DDL of the values, e.g. "ad_id STRING, event_time TIMESTAMP"`))
			break
		}
		s, err := expr.ParseDDL(o.ValueSchema)
		if err != nil {
			errs = append(errs, fmt.Errorf("option valueSchema: %w", err))
			break
		}
		r.valueSchema = s
	default:
		errs = append(errs, fmt.Errorf("option valueFormat=%q: use binary, json, avro or protobuf", o.ValueFormat))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: kafka source options:\n%w", sources.ErrSource, err)
	}
	return r, nil
}

// registrySubject sets the subject whose latest schema is the values'
// (reader) schema: valueSubject, or "<topic>-value" for one topic.
func (r *resolved) registrySubject(o *Options, format string) []error {
	var errs []error
	r.subject = o.ValueSubject
	if r.subject == "" {
		if len(r.topics) != 1 {
			errs = append(errs, fmt.Errorf(`valueFormat %q reads the schema of subject "<topic>-value" when the source subscribes to one topic; with several topics or a pattern set valueSubject`, format))
		} else {
			r.subject = r.topics[0] + "-value"
		}
	}
	if _, _, ok := strings.Cut(o.SchemaRegistryUserInfo, ":"); o.SchemaRegistryUserInfo != "" && !ok {
		errs = append(errs, errors.New(`option schema.registry.basic.auth.user.info (value hidden) must be "user:password"`))
	}
	return errs
}

// parseSpec reads one of the starting/ending families; timestamp options
// override offsets (single timestamp first), as in Spark.
func parseSpec(name, offsets string, ts *int64, tsName, byTS string) (startSpec, error) {
	sp := startSpec{raw: offsets}
	switch {
	case ts != nil:
		sp.kind, sp.ts = "timestamp", *ts
		if *ts < 0 {
			return sp, fmt.Errorf("option %s timestamp %d must not be negative", name, *ts)
		}
		return sp, nil
	case strings.TrimSpace(byTS) != "":
		m, err := parsePartitionJSON(byTS)
		if err != nil {
			return sp, fmt.Errorf("option %s: %w", tsName, err)
		}
		for p, v := range m {
			if v < 0 {
				return sp, fmt.Errorf("option %s: %s: timestamp %d must not be negative", tsName, p, v)
			}
		}
		sp.kind, sp.tsByPart = "timestamps", m
		return sp, nil
	}
	switch s := strings.ToLower(strings.TrimSpace(offsets)); s {
	case "":
	case "earliest", "latest":
		sp.kind = s
	default:
		m, err := parsePartitionJSON(offsets)
		if err != nil {
			return sp, fmt.Errorf(`option %s=%q: want "earliest", "latest" or JSON like {"topic":{"0":23,"1":-2}}: %w`, name, offsets, err)
		}
		for p, v := range m {
			if v < -2 {
				return sp, fmt.Errorf("option %s: %s: offset %d is invalid (-2 earliest, -1 latest, or >= 0)", name, p, v)
			}
		}
		sp.kind, sp.offsets = "offsets", m
	}
	return sp, nil
}
