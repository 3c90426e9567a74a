package expr

import "github.com/apache/arrow-go/v18/arrow"

// ParseInterval reads interval text as Spark does in window('5 minutes')
// and CAST('1 day 2 hours' AS INTERVAL): "5 minutes", "1 hour 30 minutes",
// "10 seconds", optionally prefixed by "interval".
func ParseInterval(s string) (arrow.MonthDayNanoInterval, error) { return parseIntervalString(s) }
