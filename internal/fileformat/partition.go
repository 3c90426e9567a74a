package fileformat

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// HiveDefaultPartition is the directory value of a NULL partition value.
const HiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// PartitionSchema infers the Hive partition columns of files: every file
// must have the same partition keys (else an error naming two files); a
// column whose values are all integers (or NULL) is bigint, any other is
// string. It returns nil when the files have no partitions.
func PartitionSchema(files []FileInfo) (*arrow.Schema, error) {
	if len(files) == 0 || len(files[0].Partition) == 0 {
		for _, f := range files {
			if len(f.Partition) > 0 {
				return nil, conflictingPartitions(files[0], f)
			}
		}
		return nil, nil
	}
	keys := files[0].PartitionKeys
	if len(keys) != len(files[0].Partition) {
		keys = sortedKeys(files[0].Partition)
	}
	isInt := make([]bool, len(keys))
	for i := range isInt {
		isInt[i] = true
	}
	for _, f := range files {
		if len(f.Partition) != len(keys) {
			return nil, conflictingPartitions(files[0], f)
		}
		for i, k := range keys {
			v, ok := f.Partition[k]
			if !ok {
				return nil, conflictingPartitions(files[0], f)
			}
			if isInt[i] && v != HiveDefaultPartition {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					isInt[i] = false
				}
			}
		}
	}
	fields := make([]arrow.Field, len(keys))
	for i, k := range keys {
		t := arrow.DataType(arrow.BinaryTypes.String)
		if isInt[i] {
			t = arrow.PrimitiveTypes.Int64
		}
		fields[i] = arrow.Field{Name: k, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func conflictingPartitions(a, b FileInfo) error {
	return fmt.Errorf("%w: conflicting partition directories: %s has %s but %s has %s; point the read at one consistent directory tree",
		ErrSchemaMismatch, a.Path, describePartition(a), b.Path, describePartition(b))
}

func describePartition(f FileInfo) string {
	if len(f.Partition) == 0 {
		return "no partition columns"
	}
	return "partition columns " + strings.Join(sortedKeys(f.Partition), ", ")
}

// PartitionValueOf converts a directory value to the engine value of a
// partition column of type dt (bigint or string; other types parse as
// Spark would cast the string). __HIVE_DEFAULT_PARTITION__ is NULL.
func PartitionValueOf(s string, dt arrow.DataType) (any, error) {
	if s == HiveDefaultPartition {
		return nil, nil
	}
	switch dt.ID() {
	case arrow.STRING:
		return s, nil
	case arrow.INT64:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not a bigint", ErrMalformed, s)
		}
		return v, nil
	case arrow.INT32:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not an int", ErrMalformed, s)
		}
		return int32(v), nil
	case arrow.FLOAT64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not a double", ErrMalformed, s)
		}
		return v, nil
	case arrow.DATE32:
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not a date (yyyy-MM-dd)", ErrMalformed, s)
		}
		return arrow.Date32FromTime(t), nil
	case arrow.TIMESTAMP:
		t, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not a timestamp (yyyy-MM-dd HH:mm:ss[.ffffff])", ErrMalformed, s)
		}
		return arrow.Timestamp(t.UnixMicro()), nil
	case arrow.BOOL:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%w: partition value %q is not a boolean", ErrMalformed, s)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: partition column type %s is not supported", ErrSchemaMismatch, expr.TypeName(dt))
}

// AppendPartitionColumns returns b with one constant column per field of
// partSchema appended, taking the values from the file's Partition map.
// b is not released; the result is owned by the caller.
func AppendPartitionColumns(mem memory.Allocator, b arrow.RecordBatch, partSchema *arrow.Schema, file FileInfo) (arrow.RecordBatch, error) {
	if partSchema == nil || partSchema.NumFields() == 0 {
		b.Retain()
		return b, nil
	}
	n := int(b.NumRows())
	cols := make([]arrow.Array, 0, int(b.NumCols())+partSchema.NumFields())
	fields := append([]arrow.Field(nil), b.Schema().Fields()...)
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for i := 0; i < int(b.NumCols()); i++ {
		c := b.Column(i)
		c.Retain()
		cols = append(cols, c)
	}
	for _, f := range partSchema.Fields() {
		s, ok := file.Partition[f.Name]
		var v any
		if ok {
			var err error
			if v, err = PartitionValueOf(s, f.Type); err != nil {
				release()
				return nil, fmt.Errorf("file %s: partition column %q: %w", file.Path, f.Name, err)
			}
		}
		a, err := expr.ConstArray(mem, v, f.Type, n)
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, a)
		fields = append(fields, f)
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	release()
	return out, nil
}

// PrunePartitions drops the files whose partition values cannot pass every
// filter on a partition column (filters on other columns are ignored). The
// partition column types are inferred as PartitionSchema does.
func PrunePartitions(files []FileInfo, filters []Filter) ([]FileInfo, error) {
	ps, err := PartitionSchema(files)
	if err != nil || ps == nil || len(filters) == 0 {
		return files, err
	}
	var relevant []Filter
	for _, f := range filters {
		if len(ps.FieldIndices(f.Column)) > 0 {
			relevant = append(relevant, f)
		}
	}
	if len(relevant) == 0 {
		return files, nil
	}
	out := make([]FileInfo, 0, len(files))
	for _, file := range files {
		keep := true
		for _, f := range relevant {
			dt := ps.Field(ps.FieldIndices(f.Column)[0]).Type
			v, err := PartitionValueOf(file.Partition[f.Column], dt)
			if err != nil {
				continue
			}
			if res, known := evalFilter(v, f); known && !res {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, file)
		}
	}
	return out, nil
}

// evalFilter evaluates a filter on one known value (nil is NULL) with SQL
// semantics: a comparison with NULL is not true. known is false when the
// value and the filter's literal do not compare.
func evalFilter(v any, f Filter) (result, known bool) {
	switch f.Op {
	case "isnull":
		return v == nil, true
	case "isnotnull":
		return v != nil, true
	}
	if v == nil || f.Value == nil {
		return false, true
	}
	if f.Op == "in" {
		vs, ok := f.Value.([]any)
		if !ok {
			return false, false
		}
		allKnown := true
		for _, x := range vs {
			if x == nil {
				continue
			}
			c, ok := compareValues(v, x)
			if !ok {
				allKnown = false
				continue
			}
			if c == 0 {
				return true, true
			}
		}
		return false, allKnown
	}
	c, ok := compareValues(v, f.Value)
	if !ok {
		return false, false
	}
	switch f.Op {
	case "=", "==":
		return c == 0, true
	case "!=", "<>":
		return c != 0, true
	case "<":
		return c < 0, true
	case "<=":
		return c <= 0, true
	case ">":
		return c > 0, true
	case ">=":
		return c >= 0, true
	}
	return false, false
}

// GroupFiles spreads files over n partitions for parallel reading,
// balancing bytes: largest files first, each to the lightest partition.
// The result is deterministic; empty partitions are dropped.
func GroupFiles(files []FileInfo, n int) [][]FileInfo {
	if n < 1 {
		n = 1
	}
	order := slices.Clone(files)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Size > order[j].Size })
	groups := make([][]FileInfo, n)
	load := make([]int64, n)
	for _, f := range order {
		best := 0
		for i := 1; i < n; i++ {
			if load[i] < load[best] {
				best = i
			}
		}
		groups[best] = append(groups[best], f)
		load[best] += f.Size + 1
	}
	out := groups[:0]
	for _, g := range groups {
		if len(g) > 0 {
			sort.Slice(g, func(i, j int) bool { return g[i].Path < g[j].Path })
			out = append(out, g)
		}
	}
	return out
}

// escapePathName escapes a partition value for a directory name the way
// Spark's ExternalCatalogUtils.escapePathName does.
func escapePathName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(c byte) bool {
	if c < 0x20 || c == 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

// unescapePathName reverses escapePathName (invalid escapes stay as is).
func unescapePathName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
