package oracle

import (
	"github.com/sluicehq/sluice/dataframe"
)

// A Case is one streaming query the oracle checks in every mode of Modes.
//
// To add a case, append an entry to cases below: a unique Name, the Query
// over the input streams (schema inputSchema: k string, g int64, v int64,
// s string, ts timestamp; NULLs in k, v, s and ts), the output modes the
// engine must accept for it, the output columns that identify a result
// row (Key) and, when the watermark bounds its state, the key column that
// carries the event time (EventTime). Both the in-process test (restarts)
// and the SIGKILL test pick it up; run
//
//	go test ./internal/oracle -run 'TestOracle/<name>' -oracle.seeds=200
//
// The batch result the stream must match is the same Query over static
// DataFrames of the same rows (see expected in oracle_test.go); Count adds
// a check of the late-data sink, Then a second, chained operator. Joins
// and session windows, which the grouped model does not fit, have their
// own models (cases_join_test.go, cases_session_test.go). A case that
// finds an engine bug not fixed yet gets an entry in knownBugs.
type Case struct {
	Name string
	// Inputs is the number of input streams (default 1). Each gets its own
	// random rows; micro-batch b reads chunk b of every one of them.
	Inputs int
	// Watermark, when set, is the delay of WithWatermark("ts", Watermark),
	// which the harness applies to every input before Query (so the test
	// knows the rows the watermark sees: all of them).
	Watermark string
	// Query builds the query over the inputs: streaming DataFrames in the
	// stream run, static ones (CreateDataFrame) for the batch result.
	Query func(in ...*dataframe.DataFrame) *dataframe.DataFrame
	// Modes are the output modes to run; the engine must accept each one.
	Modes []dataframe.OutputMode
	// Key names the output columns that identify a row of the result (the
	// grouping columns; none for a global aggregation): Update replays
	// upserts by it, Append checks that no key is emitted twice.
	Key []string
	// EventTime names the Key column the watermark bounds: a window
	// (bounded by its end) or the event-time column itself. Input for a
	// group at or below the watermark is late and dropped, and Append
	// emits a group once the watermark reaches it. Empty when the watermark
	// bounds no key (or there is none): nothing is late.
	EventTime string
	// Sets names array columns compared without regard to element order
	// (collect_set, collect_list).
	Sets []string
	// Then, when set, is a second stateful operator over Query's result
	// (chained aggregations, Spark 3.4+; Append mode): the stream runs
	// Then(Query(in...)). Input is late at the first operator, so
	// FirstEventTime names Query's event-time key column; Key, EventTime
	// and Count describe Then's output.
	Then           func(df *dataframe.DataFrame) *dataframe.DataFrame
	FirstEventTime string
	// Count, when set, names an output column holding count(*) of an
	// aggregation with an EventTime key: the in-process test then also
	// routes late rows to a late-data sink and checks it got exactly the
	// rows the watermark dropped (all rows' count minus the kept rows').
	Count string
}

// knownBugs are engine bugs the oracle found that are not fixed yet: the
// runs they match are skipped (with the text) unless -oracle.knownbugs.
// Delete an entry together with its fix.
var knownBugs = []struct {
	match func(c *Case, mode dataframe.OutputMode) bool
	text  string
}{}

// knownBug returns the text of the known bug that run (c, mode) hits.
func knownBug(c *Case, mode dataframe.OutputMode) string {
	for _, b := range knownBugs {
		if b.match(c, mode) {
			return b.text
		}
	}
	return ""
}

var (
	allModes    = []dataframe.OutputMode{dataframe.Complete, dataframe.Update}
	windowModes = []dataframe.OutputMode{dataframe.Append, dataframe.Update, dataframe.Complete}
)

// cases is the table the oracle runs. Keep entries small: one query each.
var cases = []Case{
	{
		Name: "global_count_sum",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Agg(dataframe.Count("*").As("n"), dataframe.Count("v").As("nv"), dataframe.Sum("v").As("sum"))
		},
		Modes: allModes,
	},
	{
		Name: "keyed_multi_agg",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy("k", "g").Agg(
				dataframe.Count("*").As("n"),
				dataframe.Sum("v").As("sum"),
				dataframe.Min("v").As("min"),
				dataframe.Max("v").As("max"),
				dataframe.Avg("v").As("avg"),
				dataframe.Min("ts").As("first_ts"),
				dataframe.ApproxCountDistinct("s").As("approx"),
				dataframe.CountDistinct("s").As("distinct"),
				dataframe.CollectSet("s").As("set"),
				dataframe.CollectList("v").As("list"),
			)
		},
		Modes: allModes,
		Key:   []string{"k", "g"},
		Sets:  []string{"set", "list"},
	},
	{
		Name:      "tumbling_window",
		Watermark: "10 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("k")).
				Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"), dataframe.Max("s").As("max_s"))
		},
		Modes:     windowModes,
		Key:       []string{"window", "k"},
		EventTime: "window",
		Count:     "n",
	},
	{
		Name:      "tumbling_window_global",
		Watermark: "3 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy(dataframe.Window(dataframe.Col("ts"), "5 seconds")).
				Agg(dataframe.Count("*").As("n"), dataframe.Avg("v").As("avg"), dataframe.ApproxCountDistinct("s").As("approx"))
		},
		Modes:     windowModes,
		Key:       []string{"window"},
		EventTime: "window",
		Count:     "n",
	},
	{
		Name:      "sliding_window",
		Watermark: "10 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds", "5 seconds"), dataframe.Col("g")).
				Agg(dataframe.Count("*").As("n"), dataframe.Min("v").As("min"), dataframe.CollectSet("k").As("keys"))
		},
		Modes:     []dataframe.OutputMode{dataframe.Append, dataframe.Update},
		Key:       []string{"window", "g"},
		EventTime: "window",
		Sets:      []string{"keys"},
		Count:     "n",
	},
	{
		Name:      "filter_project_window",
		Watermark: "5 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].
				Filter("v IS NULL OR v % 3 != 0").
				Select(dataframe.Col("ts"), dataframe.Coalesce(dataframe.Col("k"), dataframe.Lit("none")).As("key"),
					dataframe.Col("v").Multiply(2).As("v2")).
				GroupBy(dataframe.Window(dataframe.Col("ts"), "20 seconds", "10 seconds"), dataframe.Col("key")).
				Agg(dataframe.Sum("v2").As("sum2"), dataframe.Count("v2").As("nv"), dataframe.Count("*").As("n"))
		},
		Modes:     []dataframe.OutputMode{dataframe.Append, dataframe.Update},
		Key:       []string{"window", "key"},
		EventTime: "window",
		Count:     "n",
	},
	{
		Name: "filter_keyed",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].
				Filter(dataframe.Col("g").NotEq(2)).
				WithColumn("big", dataframe.Col("v").Gt(20)).
				GroupBy("big").
				Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"), dataframe.Max("k").As("max_k"))
		},
		Modes: allModes,
		Key:   []string{"big"},
	},
	{
		// A watermark that bounds no key: nothing is late, nothing evicted.
		Name:      "watermark_unused",
		Watermark: "1 second",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy("g").Agg(dataframe.Count("*").As("n"), dataframe.Max("ts").As("max_ts"))
		},
		Modes: allModes,
		Key:   []string{"g"},
	},
	{
		// Two streams, each with its watermark: the query's watermark is
		// the minimum of the two, held back until both have seen data.
		Name:      "union_window",
		Inputs:    2,
		Watermark: "4 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Union(in[1]).GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("g")).
				Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"))
		},
		Modes:     []dataframe.OutputMode{dataframe.Append, dataframe.Update},
		Key:       []string{"window", "g"},
		EventTime: "window",
		Count:     "n",
	},
	{
		// A windowed count per key, then per 20-second window over the
		// first windows' times: how many keys had rows, and how many rows.
		Name:      "chained_windows",
		Watermark: "5 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy(dataframe.Window(dataframe.Col("ts"), "5 seconds"), dataframe.Col("k")).
				Agg(dataframe.Count("*").As("n"), dataframe.Max("v").As("max_v"))
		},
		FirstEventTime: "window",
		Then: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.GroupBy(dataframe.Window(dataframe.WindowTime(dataframe.Col("window")), "20 seconds")).
				Agg(dataframe.Count("*").As("keys"), dataframe.Sum("n").As("rows"), dataframe.Max("max_v").As("max_v"))
		},
		Modes:     []dataframe.OutputMode{dataframe.Append},
		Key:       []string{"window"},
		EventTime: "window",
	},
	{
		// An aggregation over an aggregation in complete mode (Nexmark
		// q4/q6's shape; Spark refuses it): how many keys have each count.
		Name: "agg_of_agg_complete",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy("k").Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum_v"))
		},
		Then: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.GroupBy("n").Agg(dataframe.Count("*").As("keys"), dataframe.Sum("sum_v").As("sum_v"))
		},
		Modes: []dataframe.OutputMode{dataframe.Complete},
		Key:   []string{"n"},
	},
	{
		// A join of two aggregations in complete mode (Nexmark q5/q8's
		// shape): each key's count next to how many keys share it.
		Name: "join_of_aggs_complete",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy("k").Agg(dataframe.Count("*").As("n"))
		},
		Then: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.Join(df.GroupBy("n").Agg(dataframe.Count("*").As("same")), "n")
		},
		Modes: []dataframe.OutputMode{dataframe.Complete},
		Key:   []string{"k"},
	},
	{
		// Grouped by the event-time column itself: a group closes when the
		// watermark reaches its timestamp (Spark: ts <= watermark).
		Name:      "group_by_event_time",
		Watermark: "5 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].GroupBy("ts").Agg(dataframe.Count("*").As("n"), dataframe.Sum("v").As("sum"))
		},
		Modes:     []dataframe.OutputMode{dataframe.Append, dataframe.Update},
		Key:       []string{"ts"},
		EventTime: "ts",
	},
	{
		// Streaming dropDuplicates without a watermark: every key is kept
		// forever, so each distinct key is emitted once. Only key columns
		// are selected: which duplicate is "first" depends on the split.
		Name: "dedup_keys",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Select(dataframe.Col("k"), dataframe.Col("g")).DropDuplicates("k", "g")
		},
		Modes: []dataframe.OutputMode{dataframe.Append, dataframe.Update},
		Key:   []string{"k", "g"},
	},
	{
		// With the event time among the keys, a row at or below the
		// watermark is late and its key leaves the state. Update mode only:
		// dedup emits a key at once, where the oracle's Append model waits
		// for the watermark to close it.
		Name:      "dedup_event_time",
		Watermark: "5 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Select(dataframe.Col("k"), dataframe.Col("ts")).DropDuplicates("k", "ts")
		},
		Modes:     []dataframe.OutputMode{dataframe.Update},
		Key:       []string{"k", "ts"},
		EventTime: "ts",
	},
	{
		// Keyed by a window (the raw event time not selected): a row whose
		// window end is at or below the watermark is late.
		Name:      "dedup_window",
		Watermark: "10 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Select(dataframe.Window(dataframe.Col("ts"), "10 seconds").As("window"), dataframe.Col("k")).
				DropDuplicates("window", "k")
		},
		Modes:     []dataframe.OutputMode{dataframe.Update},
		Key:       []string{"window", "k"},
		EventTime: "window",
	},
	{
		// Within the watermark, keyed by the event time too: a key expires
		// when the watermark reaches ts + delay, after which a repeat is
		// late anyway, so the result is the event-time dedup's.
		Name:      "dedup_within_watermark",
		Watermark: "3 seconds",
		Query: func(in ...*dataframe.DataFrame) *dataframe.DataFrame {
			return in[0].Select(dataframe.Col("ts"), dataframe.Col("g")).DropDuplicatesWithinWatermark("g", "ts")
		},
		Modes:     []dataframe.OutputMode{dataframe.Update},
		Key:       []string{"g", "ts"},
		EventTime: "ts",
	},
}
