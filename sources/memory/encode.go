package memory

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe/expr"
)

// encoder turns structs into record batches. Field names come from a
// `sluice:"name"` tag or the Go name in snake_case; pointer fields are
// nullable.
type encoder struct {
	schema *arrow.Schema
	fields []int // struct field index per column
}

var timeType = reflect.TypeOf(time.Time{})

// SchemaOf derives the Arrow schema of a struct value.
func SchemaOf(v any) (*arrow.Schema, error) {
	e, err := newEncoder(v)
	if err != nil {
		return nil, err
	}
	return e.schema, nil
}

func newEncoder(v any) (*encoder, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("memory stream rows must be structs, got %v", t)
	}
	e := &encoder{}
	var fs []arrow.Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name := sf.Tag.Get("sluice")
		if name == "-" {
			continue
		}
		if name == "" {
			name = snake(sf.Name)
		}
		ft := sf.Type
		nullable := false
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
			nullable = true
		}
		dt, err := arrowType(ft)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", sf.Name, err)
		}
		fs = append(fs, arrow.Field{Name: name, Type: dt, Nullable: nullable || ft == reflect.TypeOf([]byte(nil))})
		e.fields = append(e.fields, i)
	}
	e.schema = arrow.NewSchema(fs, nil)
	return e, nil
}

func arrowType(t reflect.Type) (arrow.DataType, error) {
	if t == timeType {
		return expr.Timestamp, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return expr.Boolean, nil
	case reflect.Int8:
		return expr.Int8, nil
	case reflect.Int16:
		return expr.Int16, nil
	case reflect.Int32:
		return expr.Int32, nil
	case reflect.Int, reflect.Int64:
		return expr.Int64, nil
	case reflect.Float32:
		return expr.Float32, nil
	case reflect.Float64:
		return expr.Float64, nil
	case reflect.String:
		return expr.String, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return expr.Binary, nil
		}
		et, err := arrowType(t.Elem())
		if err != nil {
			return nil, err
		}
		return arrow.ListOf(et), nil
	}
	return nil, fmt.Errorf("unsupported Go type %s", t)
}

func (e *encoder) encode(mem memory.Allocator, rows any) (arrow.RecordBatch, error) {
	rv := reflect.ValueOf(rows)
	b := array.NewRecordBuilder(mem, e.schema)
	defer b.Release()
	for r := 0; r < rv.Len(); r++ {
		row := rv.Index(r)
		for c, fi := range e.fields {
			if err := expr.AppendValue(b.Field(c), goToEngine(row.Field(fi))); err != nil {
				return nil, err
			}
		}
	}
	return b.NewRecordBatch(), nil
}

// goToEngine converts a Go value to the engine representation (see
// expr.Literal).
func goToEngine(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		return arrow.Timestamp(v.Interface().(time.Time).UnixMicro())
	}
	switch v.Kind() {
	case reflect.Int:
		return v.Int()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.IsNil() {
				return nil
			}
			return v.Bytes()
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = goToEngine(v.Index(i))
		}
		return out
	}
	return v.Interface()
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
