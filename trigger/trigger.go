// Package trigger says when a streaming query runs its next micro-batch,
// and supplies the Clock the engine reads time from (a ManualClock in
// tests, so no test sleeps).
package trigger

import (
	"fmt"
	"time"
)

// Trigger is a query's batch schedule. The built-ins are ProcessingTime
// (Default is ProcessingTime(0)), Once and AvailableNow.
type Trigger interface {
	String() string
	isTrigger()
}

// ProcessingTimeTrigger runs a batch every Interval. A batch that overruns
// its interval is followed immediately by the next one, once: missed
// intervals are not made up (no catch-up storm). Interval 0 runs the next
// batch as soon as the previous one ends and data is available.
type ProcessingTimeTrigger struct{ Interval time.Duration }

// OnceTrigger runs one batch over everything available at start, then
// stops. Deprecated in Spark in favour of AvailableNow, kept for parity.
type OnceTrigger struct{}

// AvailableNowTrigger processes everything available when the query
// starts, in as many batches as the sources' read limits require, then
// stops.
type AvailableNowTrigger struct{}

// ProcessingTime runs a batch every d.
func ProcessingTime(d time.Duration) Trigger { return ProcessingTimeTrigger{Interval: d} }

// Default runs batches back to back while data arrives.
func Default() Trigger { return ProcessingTimeTrigger{} }

// Once runs a single batch and stops.
func Once() Trigger { return OnceTrigger{} }

// AvailableNow drains what is available at start, then stops.
func AvailableNow() Trigger { return AvailableNowTrigger{} }

func (t ProcessingTimeTrigger) String() string {
	if t.Interval == 0 {
		return "ProcessingTime(0)"
	}
	return fmt.Sprintf("ProcessingTime(%s)", t.Interval)
}
func (OnceTrigger) String() string         { return "Once" }
func (AvailableNowTrigger) String() string { return "AvailableNow" }

func (ProcessingTimeTrigger) isTrigger() {}
func (OnceTrigger) isTrigger()           {}
func (AvailableNowTrigger) isTrigger()   {}

// NextStart returns when the batch after one that started at start and
// ended at end should begin, for a ProcessingTime interval: start+interval,
// or end itself when the batch overran.
func NextStart(interval time.Duration, start, end time.Time) time.Time {
	next := start.Add(interval)
	if end.After(next) {
		return end
	}
	return next
}
