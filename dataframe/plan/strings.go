package plan

import "strings"

func lowerASCII(s string) string { return strings.ToLower(s) }

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
