package microbatch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// eventEnds reads an event-time column the way every stateful operator
// bounds it by the watermark: a timestamp column is its own time; a window
// struct's time is its end (its last field), and a NULL window is a NULL
// time, so parent (the struct, nil for a timestamp) is returned too.
func eventEnds(col arrow.Array) (ends *array.Timestamp, parent arrow.Array, err error) {
	switch c := col.(type) {
	case *array.Timestamp:
		return c, nil, nil
	case *array.Struct:
		if c.NumField() > 0 {
			if e, ok := c.Field(c.NumField() - 1).(*array.Timestamp); ok {
				return e, c, nil
			}
		}
		return nil, nil, fmt.Errorf("%w: event-time window %s has no timestamp end", ErrQuery, col.DataType())
	}
	return nil, nil, fmt.Errorf("%w: event-time column of type %s, not a timestamp or window", ErrQuery, col.DataType())
}

// microsPer converts a timestamp unit to microseconds: v*mul/div.
func microsPer(u arrow.TimeUnit) (mul, div int64) {
	switch u {
	case arrow.Second:
		return 1_000_000, 1
	case arrow.Millisecond:
		return 1000, 1
	case arrow.Nanosecond:
		return 1, 1000
	}
	return 1, 1
}
