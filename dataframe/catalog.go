package dataframe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/plan"
	"github.com/sluicehq/sluice/sinks/memory"
)

// CreateOrReplaceTempView names df so Session.Table (and SQL) can use it.
func (df *DataFrame) CreateOrReplaceTempView(name string) error {
	if df.err != nil {
		return df.err
	}
	df.s.setView(name, df.plan)
	return nil
}

// Table returns the temporary view or memory-sink table called name.
func (s *Session) Table(name string) *DataFrame {
	s.mu.Lock()
	n, ok := s.views[strings.ToLower(name)]
	names := make([]string, 0, len(s.views))
	for k := range s.views {
		names = append(names, k)
	}
	s.mu.Unlock()
	if !ok {
		sort.Strings(names)
		return &DataFrame{s: s, err: fmt.Errorf("%w: table or view %q not found; known: %s", plan.ErrAnalysis, name, strings.Join(names, ", "))}
	}
	return &DataFrame{s: s, plan: &plan.SubqueryAlias{Child: n, Alias: name}}
}

// DropTempView forgets a view (and frees a memory sink's rows); it reports
// whether the view existed.
func (s *Session) DropTempView(name string) bool {
	s.mu.Lock()
	_, ok := s.views[strings.ToLower(name)]
	delete(s.views, strings.ToLower(name))
	m := s.memTables[strings.ToLower(name)]
	delete(s.memTables, strings.ToLower(name))
	s.mu.Unlock()
	if m != nil {
		m.Drop()
	}
	return ok
}

func (s *Session) setView(name string, n plan.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.views == nil {
		s.views = map[string]plan.Node{}
	}
	s.views[strings.ToLower(name)] = n
}

// memorySinkTable is the memory sink of a query, registered as a table.
type memorySinkTable struct {
	*memory.Sink
	name   string
	schema *arrow.Schema
}

func newMemorySinkTable(name string, schema *arrow.Schema) *memorySinkTable {
	return &memorySinkTable{Sink: memory.New(name), name: name, schema: schema}
}

func (s *Session) registerView(name string, m *memorySinkTable) {
	s.mu.Lock()
	if s.memTables == nil {
		s.memTables = map[string]*memorySinkTable{}
	}
	if old := s.memTables[strings.ToLower(name)]; old != nil && old != m {
		defer old.Drop()
	}
	s.memTables[strings.ToLower(name)] = m
	s.mu.Unlock()
	s.setView(name, &plan.LocalRelation{Attrs: plan.AttrsOf(m.schema, ""), Name: "MemorySink[" + name + "]",
		Snapshot: func() ([]arrow.RecordBatch, func()) {
			_, bs, release := m.Snapshot()
			return bs, release
		}})
}
