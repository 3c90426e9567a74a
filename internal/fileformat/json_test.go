package fileformat

import "testing"

func TestJSONReadCases(t *testing.T) { runTextCases(t, JSON, "testdata/json/*.txt") }
