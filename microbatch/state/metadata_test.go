package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/internal/storage"
)

func TestOpenOperatorRefusesChangedState(t *testing.T) {
	fsys := storage.NewMem()
	base := pairSpec(4)
	if _, err := OpenOperator(ctx, fsys, "s", base, Options{}); err != nil {
		t.Fatal(err)
	}
	field := func(name string, dt arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: dt, Nullable: true}
	}
	i64 := arrow.PrimitiveTypes.Int64
	tests := []struct {
		name   string
		change func(s *OperatorSpec)
		err    error
		msg    []string // all must appear
	}{
		{"same", func(s *OperatorSpec) {}, nil, nil},
		{"renamed columns are fine", func(s *OperatorSpec) {
			s.Stores[0].Key = arrow.NewSchema([]arrow.Field{field("uid", i64), field("w", i64)}, nil)
			s.Name = "other name"
		}, nil, nil},
		{"partitions", func(s *OperatorSpec) { s.NumPartitions = 8 }, ErrPartitionsChanged,
			[]string{"operator 0 (aggregate)", "4 shuffle partitions", "asks for 8", "new checkpoint"}},
		{"key type", func(s *OperatorSpec) {
			s.Stores[0].Key = arrow.NewSchema([]arrow.Field{field("user_id", arrow.BinaryTypes.String), field("window", i64)}, nil)
		}, ErrSchemaChanged, []string{"operator 0 (aggregate)", `key column 0 "user_id"`, "was int64", "is utf8"}},
		{"value added", func(s *OperatorSpec) {
			s.Stores[0].Value = arrow.NewSchema([]arrow.Field{field("count", i64), field("sum", arrow.PrimitiveTypes.Float64)}, nil)
		}, ErrSchemaChanged, []string{`value column 1 "sum"`, "was added"}},
		{"key dropped", func(s *OperatorSpec) {
			s.Stores[0].Key = arrow.NewSchema([]arrow.Field{field("user_id", i64)}, nil)
		}, ErrSchemaChanged, []string{`key column 1 "window"`, "dropped"}},
		{"store renamed", func(s *OperatorSpec) { s.Stores[0].Name = "left" }, ErrSchemaChanged,
			[]string{`store "left" is not in the checkpoint`, `store "" of the checkpoint is not in the query`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := pairSpec(4)
			tc.change(&spec)
			_, err := OpenOperator(ctx, fsys, "s", spec, Options{})
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	k := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil)
	empty := arrow.NewSchema(nil, nil)
	bad := []OperatorSpec{
		{ID: -1, NumPartitions: 1, Stores: []StoreSpec{{Key: k, Value: empty}}},
		{NumPartitions: 0, Stores: []StoreSpec{{Key: k, Value: empty}}},
		{NumPartitions: 1},
		{NumPartitions: 1, Stores: []StoreSpec{{Key: empty, Value: empty}}},
		{NumPartitions: 1, Stores: []StoreSpec{{Key: k}}},
		{NumPartitions: 1, Stores: []StoreSpec{{Name: "a/b", Key: k, Value: empty}}},
		{NumPartitions: 1, Stores: []StoreSpec{{Name: "_x", Key: k, Value: empty}}},
		{NumPartitions: 1, Stores: []StoreSpec{{Key: k, Value: empty}, {Key: k, Value: empty}}},
		{NumPartitions: 1, Stores: []StoreSpec{{Key: arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64)}}, nil), Value: empty}}},
	}
	for i, s := range bad {
		_, err := OpenOperator(ctx, storage.NewMem(), "s", s, Options{})
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("spec %d: got %v, want ErrBadInput", i, err)
		}
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	spec := pairSpec(3)
	spec.Stores = append(spec.Stores, StoreSpec{Name: "right",
		Key:   arrow.NewSchema([]arrow.Field{{Name: "k", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}}}, nil),
		Value: arrow.NewSchema([]arrow.Field{{Name: "row", Type: arrow.StructOf(arrow.Field{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us})}}, nil)})
	data, err := EncodeMetadata(spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMetadata("m", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkCompatible(&got, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"user_id: int64"`) {
		t.Errorf("metadata lacks the readable columns:\n%s", data)
	}
	for _, s := range []string{"", "{}", "[]", `{"version":2}`, `{"version":1,"numPartitions":1,"stores":[{"keySchema":"!!"}]}`} {
		if _, err := DecodeMetadata("m", []byte(s)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "m") {
			t.Errorf("%q: got %v, want ErrCorrupt naming the file", s, err)
		}
	}
}
