package microbatch

import (
	"encoding/json"
	"time"

	"github.com/sluicehq/sluice/sources"
)

// Progress reports one micro-batch, shaped like Spark's
// StreamingQueryProgress so dashboards and people who know Spark read it
// as is.
type Progress struct {
	ID                     string           `json:"id"`
	RunID                  string           `json:"runId"`
	Name                   string           `json:"name"`
	Timestamp              string           `json:"timestamp"`
	BatchID                int64            `json:"batchId"`
	BatchDuration          int64            `json:"batchDuration"`
	NumInputRows           int64            `json:"numInputRows"`
	InputRowsPerSecond     float64          `json:"inputRowsPerSecond"`
	ProcessedRowsPerSecond float64          `json:"processedRowsPerSecond"`
	DurationMs             map[string]int64 `json:"durationMs"`
	// Durations are the exact times behind DurationMs, which Spark rounds
	// down to milliseconds: too coarse for sub-millisecond batch overheads
	// (benchmarks, sluice bench). Not part of the JSON.
	Durations      map[string]time.Duration `json:"-"`
	EventTime      map[string]string        `json:"eventTime,omitempty"`
	StateOperators []StateOperator          `json:"stateOperators"`
	Sources        []SourceProgress         `json:"sources"`
	Sink           SinkProgress             `json:"sink"`
}

// StateOperator reports one stateful operator's state.
type StateOperator struct {
	OperatorName              string `json:"operatorName"`
	NumRowsTotal              int64  `json:"numRowsTotal"`
	NumRowsUpdated            int64  `json:"numRowsUpdated"`
	NumRowsRemoved            int64  `json:"numRowsRemoved"`
	MemoryUsedBytes           int64  `json:"memoryUsedBytes"`
	CommitTimeMs              int64  `json:"commitTimeMs"`
	NumRowsDroppedByWatermark int64  `json:"numRowsDroppedByWatermark"`
	NumShufflePartitions      int    `json:"numShufflePartitions"`
}

// SourceProgress reports one source.
type SourceProgress struct {
	Description            string          `json:"description"`
	StartOffset            json.RawMessage `json:"startOffset"`
	EndOffset              json.RawMessage `json:"endOffset"`
	LatestOffset           json.RawMessage `json:"latestOffset"`
	NumInputRows           int64           `json:"numInputRows"`
	InputRowsPerSecond     float64         `json:"inputRowsPerSecond"`
	ProcessedRowsPerSecond float64         `json:"processedRowsPerSecond"`
	// Metrics are the source's extra figures under Spark's names
	// (avgOffsetsBehindLatest, numFilesOutstanding), from its Backlog.
	Metrics map[string]string `json:"metrics,omitempty"`
	// Backlog is what the batch read and what is left after it, for
	// sources with the sources.Backlogger capability; nil otherwise.
	Backlog *sources.Backlog `json:"backlog,omitempty"`
}

// SinkProgress reports the sink.
type SinkProgress struct {
	Description   string `json:"description"`
	NumOutputRows int64  `json:"numOutputRows"`
}

// JSON renders the progress as one line of JSON.
func (p *Progress) JSON() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// PrettyJSON renders the progress indented, as Spark's prettyJson.
func (p *Progress) PrettyJSON() string {
	b, _ := json.MarshalIndent(p, "", "  ")
	return string(b)
}

// Status is what the query is doing right now (Spark's StreamingQueryStatus).
type Status struct {
	Message         string `json:"message"`
	IsDataAvailable bool   `json:"isDataAvailable"`
	IsTriggerActive bool   `json:"isTriggerActive"`
}

func formatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func rawOffset(o []byte) json.RawMessage {
	if len(o) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(o)
}
