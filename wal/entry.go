package wal

import (
	"bytes"
	"fmt"
	"strconv"
)

// logVersion is the format version of offset and commit entries that this
// build writes and reads (the first line of each entry, "v1").
const logVersion = 1

var versionLine = []byte("v" + strconv.Itoa(logVersion))

// splitEntry checks the version line of a log entry and returns the lines
// after it. One trailing newline is tolerated (an entry edited by hand);
// entries are written without one.
func splitEntry(name string, data []byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, corrupt(name, "the file is empty")
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	v := lines[0]
	if bytes.Equal(v, versionLine) {
		return lines[1:], nil
	}
	n, ok := parseVersion(v)
	if !ok {
		return nil, corrupt(name, fmt.Sprintf("line 1 is %s, want the log version %s", clip(v), versionLine))
	}
	newer := ""
	if n > logVersion {
		newer = " (it was written by a newer sluice: upgrade to read this checkpoint)"
	}
	return nil, fmt.Errorf("%w: %s has log version v%d but this build reads only %s%s",
		ErrUnsupportedVersion, name, n, versionLine, newer)
}

func parseVersion(v []byte) (int, bool) {
	if len(v) < 2 || len(v) > 10 || v[0] != 'v' {
		return 0, false
	}
	for _, c := range v[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(string(v[1:]))
	return n, err == nil
}

// corrupt is the error for an entry that cannot be decoded.
func corrupt(name, detail string) error {
	return fmt.Errorf("%w %s: %s (was it truncated or edited?)", ErrCorrupt, name, detail)
}

// clip quotes at most 60 bytes of b for an error message.
func clip(b []byte) string {
	if len(b) > 60 {
		return strconv.Quote(string(b[:60])) + "..."
	}
	return strconv.Quote(string(b))
}

// isObject reports whether b, trimmed, looks like a JSON object: json
// decodes "null" into a struct without complaint, and a metadata line
// must never be that.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}
