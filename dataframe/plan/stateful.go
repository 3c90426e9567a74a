package plan

// StateOp marks a node that keeps state across micro-batches when it reads
// a stream (a streaming aggregation, deduplication, stream-stream join).
// The stream engine sets it at Start; StateID names the checkpoint
// directory state/<StateID>. Batch queries leave it zero.
type StateOp struct {
	Stateful bool
	StateID  int
}

// State returns the node's marker, so the engine can set it on a copy.
func (s *StateOp) State() *StateOp { return s }

// Stateful is a node that may keep state when streaming. WithChildren must
// carry the marker over to the copy.
type Stateful interface {
	Node
	State() *StateOp
}
