package dataframe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/plan"
)

// Catalog lists and drops the session's temporary views, like Spark's
// spark.catalog. Views are made with DataFrame.CreateOrReplaceTempView
// (and by memory sinks, under their query name).
type Catalog struct{ s *Session }

// Catalog returns the session's catalog.
func (s *Session) Catalog() *Catalog { return &Catalog{s: s} }

// TableInfo describes one view.
type TableInfo struct {
	// Name is the view's name as SQL finds it (case-insensitively; stored
	// in lower case).
	Name   string
	Schema *arrow.Schema
	// IsStreaming is true for a view over a streaming DataFrame: queries
	// reading it are streaming queries.
	IsStreaming bool
}

// ListTables lists the views, sorted by name.
func (c *Catalog) ListTables() []TableInfo {
	c.s.mu.Lock()
	out := make([]TableInfo, 0, len(c.s.views))
	for name, n := range c.s.views {
		out = append(out, TableInfo{Name: name, Schema: plan.SchemaOf(n), IsStreaming: plan.IsStreaming(n)})
	}
	c.s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TableExists reports whether a view called name exists.
func (c *Catalog) TableExists(name string) bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.views[strings.ToLower(name)]
	return ok
}

// ListColumns returns the columns of view name.
func (c *Catalog) ListColumns(name string) ([]arrow.Field, error) {
	c.s.mu.Lock()
	n, ok := c.s.views[strings.ToLower(name)]
	c.s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: table or view %q not found", plan.ErrAnalysis, name)
	}
	return plan.SchemaOf(n).Fields(), nil
}

// DropTempView removes view name; it reports whether the view existed.
// DataFrames and queries already built from it are unaffected.
func (c *Catalog) DropTempView(name string) bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	k := strings.ToLower(name)
	_, ok := c.s.views[k]
	delete(c.s.views, k)
	return ok
}
