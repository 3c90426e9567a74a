package microbatch

import "time"

// Listener hears about query lifecycle events (Spark's
// StreamingQueryListener). Calls come from the query's goroutine, one at a
// time; a slow listener slows the query.
type Listener interface {
	OnQueryStarted(e StartedEvent)
	OnQueryProgress(e ProgressEvent)
	OnQueryIdle(e IdleEvent)
	OnQueryTerminated(e TerminatedEvent)
}

// StartedEvent: the query started (or restarted on its checkpoint).
type StartedEvent struct {
	ID, RunID, Name string
	Timestamp       time.Time
}

// ProgressEvent: a micro-batch finished.
type ProgressEvent struct{ Progress *Progress }

// IdleEvent: the trigger fired and there was nothing to do.
type IdleEvent struct {
	ID, RunID string
	Timestamp time.Time
}

// TerminatedEvent: the query stopped; Err is nil after Stop.
type TerminatedEvent struct {
	ID, RunID string
	Err       error
}

// ListenerFuncs adapts plain functions to Listener; nil fields are skipped.
type ListenerFuncs struct {
	Started    func(StartedEvent)
	Progress   func(ProgressEvent)
	Idle       func(IdleEvent)
	Terminated func(TerminatedEvent)
}

func (l ListenerFuncs) OnQueryStarted(e StartedEvent) {
	if l.Started != nil {
		l.Started(e)
	}
}
func (l ListenerFuncs) OnQueryProgress(e ProgressEvent) {
	if l.Progress != nil {
		l.Progress(e)
	}
}
func (l ListenerFuncs) OnQueryIdle(e IdleEvent) {
	if l.Idle != nil {
		l.Idle(e)
	}
}
func (l ListenerFuncs) OnQueryTerminated(e TerminatedEvent) {
	if l.Terminated != nil {
		l.Terminated(e)
	}
}
