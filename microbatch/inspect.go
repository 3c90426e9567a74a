package microbatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/wal"
)

// CheckpointInfo is what a checkpoint says about its query, for people
// (`sluice checkpoint inspect DIR`). It holds no secret: the location's
// credentials and secret-looking settings are redacted.
//
// The last progress report is not here: progress is reported to
// listeners and kept in memory by the running query, never written to
// the checkpoint.
type CheckpointInfo struct {
	// Location is the checkpoint, credentials redacted.
	Location string `json:"location"`
	// QueryID is the query's id, the same across restarts.
	QueryID string `json:"queryId"`
	// FirstCommitted..LastCommitted are the committed batches the commit
	// log holds (older entries are purged); both -1 when no batch has
	// committed.
	FirstCommitted int64 `json:"firstCommitted"`
	LastCommitted  int64 `json:"lastCommitted"`
	// Pending lists the batches whose offsets are logged but which have
	// not committed: the batch a running query is executing, or the one a
	// stopped or crashed query re-runs when it starts again.
	Pending []int64 `json:"pending"`
	// Offsets are the end offsets of the last committed batch, one per
	// source in the query's order, as the sources' JSON ("null": the
	// source had no data yet). Empty when no batch committed.
	Offsets []string `json:"offsets"`
	// BatchTimestampMs is the processing time of the last committed batch.
	BatchTimestampMs int64 `json:"batchTimestampMs"`
	// WatermarkMs is the event-time watermark the next batch runs with
	// (0: no watermark yet).
	WatermarkMs int64 `json:"watermarkMs"`
	// Conf is the configuration logged with the last committed batch,
	// secret-looking values redacted.
	Conf map[string]string `json:"conf,omitempty"`
	// Operators are the stateful operators, by id.
	Operators []OperatorCheckpointInfo `json:"operators"`
}

// OperatorCheckpointInfo is one stateful operator's state in a
// checkpoint.
type OperatorCheckpointInfo struct {
	StateOperatorInfo
	// Rows is the number of keys (all partitions and stores) at RowsBatch,
	// the newest committed batch whose state is readable (-1: none).
	Rows      int64 `json:"rows"`
	RowsBatch int64 `json:"rowsBatch"`
	// Bytes is the size of the operator's state files on storage.
	Bytes int64 `json:"bytes"`
}

// Inspect reads the checkpoint at location (a path or storage URL)
// without taking it over, so it also works on the checkpoint of a running
// query. Counting an operator's rows loads its newest committed state,
// one partition at a time.
func Inspect(ctx context.Context, location string) (*CheckpointInfo, error) {
	c, err := OpenCheckpointReader(ctx, location)
	if err != nil {
		return nil, err
	}
	return c.Inspect(ctx)
}

// Inspect is the package's Inspect on an open reader.
func (c *CheckpointReader) Inspect(ctx context.Context) (*CheckpointInfo, error) {
	info := &CheckpointInfo{Location: c.location, QueryID: c.meta.ID, FirstCommitted: -1, LastCommitted: -1}
	committed, err := c.Committed(ctx)
	if err != nil {
		return nil, err
	}
	offsets, err := c.offsets.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
	}
	if len(committed) > 0 {
		info.FirstCommitted, info.LastCommitted = committed[0], committed[len(committed)-1]
		last := info.LastCommitted
		cm, err := c.commits.Get(ctx, last)
		if err != nil {
			return nil, fmt.Errorf("microbatch: checkpoint %s: commit of batch %d: %w", c.location, last, err)
		}
		info.WatermarkMs = cm.NextBatchWatermarkMs
		seq, err := c.offsets.Get(ctx, last)
		switch {
		case errors.Is(err, wal.ErrNotFound):
			// purged with its commit still there: say nothing of offsets
		case err != nil:
			return nil, fmt.Errorf("microbatch: checkpoint %s: offsets of batch %d: %w", c.location, last, err)
		default:
			info.BatchTimestampMs = seq.Metadata.BatchTimestampMs
			info.Conf = redactConf(seq.Metadata.Conf)
			for _, o := range seq.Offsets {
				if len(o) == 0 {
					info.Offsets = append(info.Offsets, "null")
				} else {
					info.Offsets = append(info.Offsets, string(o))
				}
			}
		}
	}
	for _, id := range offsets {
		if id > info.LastCommitted {
			info.Pending = append(info.Pending, id)
		}
	}
	ops, err := c.StateOperators(ctx)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		oi := OperatorCheckpointInfo{StateOperatorInfo: op, RowsBatch: -1}
		r, err := c.OpenState(ctx, op.ID, nil)
		if err != nil {
			return nil, err
		}
		for _, st := range op.Stores {
			oi.Bytes += st.Bytes
			if st.MaxBatchID < 0 {
				continue
			}
			oi.RowsBatch = max(oi.RowsBatch, st.MaxBatchID)
			for p := 0; p < op.NumPartitions; p++ {
				n, err := r.NumRows(ctx, p, st.Name, st.MaxBatchID+1)
				if err != nil {
					return nil, fmt.Errorf("microbatch: checkpoint %s: %w", c.location, err)
				}
				oi.Rows += n
			}
		}
		info.Operators = append(info.Operators, oi)
	}
	return info, nil
}

// LastBatchTime is the processing time (the query clock's, when the
// batch was planned) of the last committed batch: when the query last
// found new data. ok is false when no batch has committed or its offsets
// were purged. The scheduler decides from it whether a cron firing was
// missed while it was down.
func (c *CheckpointReader) LastBatchTime(ctx context.Context) (batchID int64, t time.Time, ok bool, err error) {
	committed, err := c.Committed(ctx)
	if err != nil || len(committed) == 0 {
		return -1, time.Time{}, false, err
	}
	last := committed[len(committed)-1]
	seq, err := c.offsets.Get(ctx, last)
	switch {
	case errors.Is(err, wal.ErrNotFound):
		return last, time.Time{}, false, nil
	case err != nil:
		return last, time.Time{}, false, fmt.Errorf("microbatch: checkpoint %s: offsets of batch %d: %w", c.location, last, err)
	}
	return last, time.UnixMilli(seq.Metadata.BatchTimestampMs), true, nil
}

// secretWords mark configuration keys whose values are not shown.
var secretWords = []string{"secret", "password", "passwd", "token", "credential", "sasl.jaas", "accesskey", "access.key", "private"}

func redactConf(conf map[string]string) map[string]string {
	if len(conf) == 0 {
		return nil
	}
	out := make(map[string]string, len(conf))
	for k, v := range conf {
		lk := strings.ToLower(k)
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				v = "*****"
				break
			}
		}
		if strings.Contains(v, "://") {
			v = storage.RedactLocation(v)
		}
		out[k] = v
	}
	return out
}
