package dataframe_test

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
)

// SQL over a temporary view; the query plans into the same plan as the
// DataFrame chain, and errors point into the text.
func ExampleSession_SQL() {
	s := dataframe.NewSession()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range [][2]string{{"u1", "view"}, {"u2", "view"}, {"u1", "view"}, {"u1", "click"}} {
		b.Field(0).(*array.StringBuilder).Append(r[0])
		b.Field(1).(*array.StringBuilder).Append(r[1])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.CreateDataFrame(schema, rec).CreateOrReplaceTempView("clicks"); err != nil {
		fmt.Println(err)
	}

	views := s.SQL(`SELECT user_id, count(*) AS views
	                FROM clicks WHERE event_type = 'view'
	                GROUP BY user_id ORDER BY views DESC`)
	if err := views.Show(); err != nil {
		fmt.Println(err)
	}
	fmt.Println(s.SQL("SELECT usr_id FROM clicks").Err())
	// Output:
	// +-------+-----+
	// |user_id|views|
	// +-------+-----+
	// |     u1|    2|
	// |     u2|    1|
	// +-------+-----+
	// analysis error at 1:8: column `usr_id` does not exist in the select list. Available columns: `user_id`, `event_type`
	// SELECT usr_id FROM clicks
	//        ^
	// hint: did you mean `user_id`?
}
