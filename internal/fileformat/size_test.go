package fileformat

import "testing"

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1234", 1234, true},
		{"128MB", 128 << 20, true},
		{"128mb", 128 << 20, true},
		{"128MiB", 128 << 20, true},
		{"128m", 128 << 20, true},
		{" 1.5 GiB ", 3 << 29, true},
		{"64k", 64 << 10, true},
		{"2TB", 2 << 40, true},
		{"10B", 10, true},
		{"", 0, false},
		{"MB", 0, false},
		{"12XB", 0, false},
		{"-5", 0, false},
		{"1.2.3MB", 0, false},
		{"99999999TB", 0, false},
	} {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}
