package storage

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseS3Location: no panic on any location, and a secret key in it
// shows neither in the error nor in the redacted location.
func FuzzParseS3Location(f *testing.F) {
	for _, s := range [][3]string{
		{"prefix", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "region=us-east-1"},
		{"", "abc", "endpoint=http://127.0.0.1:7070&pathStyle=true"},
		{"a/b/c", "secret%zz", "partSize=5MiB&leaseTTL=3s"},
		{"p", "s", "nope=1&secretAccessKey=again"},
		{"p?x", "s&t", "%"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, prefix, secret, rest string) {
		loc := "s3://bucket/" + prefix + "?secretAccessKey=" + url.QueryEscape(secret) + "&" + rest
		_, _, err := ParseS3Location(loc)
		red := RedactLocation(loc)
		esc := url.QueryEscape(secret)
		if len(secret) < 8 || strings.Contains(prefix, secret) || strings.Contains(rest, secret) ||
			strings.Contains(prefix, esc) || strings.Contains(rest, esc) || strings.ContainsAny(prefix, "?#") {
			return // too short to tell, or also present elsewhere
		}
		if strings.Contains(red, esc) || strings.Contains(red, secret) {
			t.Fatalf("RedactLocation(%q) = %q shows the secret", loc, red)
		}
		if err != nil && (strings.Contains(err.Error(), esc) || strings.Contains(err.Error(), secret)) {
			t.Fatalf("ParseS3Location(%q) error shows the secret: %v", loc, err)
		}
	})
}
