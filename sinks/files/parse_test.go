package files

import (
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions("json", []string{"d"}, map[string]string{
		"path": "s3://b/out", "Codec": "gzip", "maxRecordsPerFile": "10", "targetFileSize": "64MB",
		"manifestCompactInterval": "5", "manifestMaxCompactBatches": "125", "timestampFormat": "yyyy",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Path != "s3://b/out" || o.Compression != "gzip" || o.MaxRecordsPerFile != 10 || o.TargetFileSize != 64<<20 ||
		o.ManifestCompactInterval != 5 || o.ManifestMaxCompactBatches != 125 || o.FormatOptions["timestampFormat"] != "yyyy" ||
		len(o.PartitionBy) != 1 {
		t.Fatalf("parsed %+v", o)
	}
	for _, c := range []struct {
		format string
		m      map[string]string
		want   string
	}{
		{"parquet", map[string]string{"path": "/o", "maxRecordsPerFile": "0"}, "maxRecordsPerFile"},
		{"parquet", map[string]string{"path": "/o", "targetFileSize": "huge"}, "targetFileSize"},
		{"parquet", map[string]string{"path": "/o", "rowGroupSize": "-3"}, "rowGroupSize"},
		{"csv", map[string]string{"path": "/o", "rowGroupSize": "100"}, "applies to parquet only"},
		{"parquet", map[string]string{"path": "/o", "manifestMaxCompactBatches": "50"}, "power of manifestCompactInterval"},
		{"parquet", map[string]string{"path": "/o", "partitionBy": "d"}, "PartitionBy(...)"},
		{"parquet", map[string]string{"path": "/o", "compression": "brotli"}, "compression"},
		{"text", map[string]string{"path": "/o"}, "not supported by the file sink"},
		{"parquet", map[string]string{}, "path is required"},
	} {
		_, err := ParseOptions(c.format, nil, c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want %q", c.format, c.m, err, c.want)
		}
	}
}
