package microbatch

import (
	"maps"
	"testing"
)

// Settings logged with a batch may hold credentials; Inspect hides them.
func TestRedactConf(t *testing.T) {
	for _, tc := range []struct{ in, want map[string]string }{
		{nil, nil},
		{map[string]string{}, nil},
		{map[string]string{"spark.sql.shufflePartitions": "4"}, map[string]string{"spark.sql.shufflePartitions": "4"}},
		{map[string]string{"kafka.sasl.password": "hunter2", "kafka.ssl.key.password": "x", "s3.secretAccessKey": "k",
			"auth.Token": "t", "kafka.sasl.jaas.config": "user=u pass=p", "accessKeyId": "AKIA"},
			map[string]string{"kafka.sasl.password": "*****", "kafka.ssl.key.password": "*****", "s3.secretAccessKey": "*****",
				"auth.Token": "*****", "kafka.sasl.jaas.config": "*****", "accessKeyId": "*****"}},
		{map[string]string{"sink.path": "s3://bucket/out?secretAccessKey=abc&region=x"},
			map[string]string{"sink.path": "s3://bucket/out?secretAccessKey=REDACTED&region=x"}},
	} {
		got := redactConf(tc.in)
		if !maps.Equal(got, tc.want) {
			t.Errorf("redactConf(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
