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

// FuzzParseSize: any text either parses to a non-negative size or is an
// error naming the text; nothing panics.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"128MB", "1.5GiB", "64k", "0", "", "12XB", "9e99", ".", "1..2m", " 7 tb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}
