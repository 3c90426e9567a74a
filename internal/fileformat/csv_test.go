package fileformat

import (
	"testing"
)

func TestCSVReadCases(t *testing.T) { runTextCases(t, CSV, "testdata/csv/*.txt") }
