package fileformat

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads a byte size (file sizes, byte caps in options): a plain
// number of bytes, or a number with a unit K, M, G, T, optionally followed
// by B or iB, any case. Units are powers of 1024 whatever the spelling, as
// in Spark's byte strings (128m, 128MB and 128MiB are all 134217728).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	}[unit]
	if mult == 0 || num == "" {
		return 0, fmt.Errorf("size %q: want bytes or a number with a unit (128MB, 1GiB, 64k)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*mult >= 1<<62 {
		return 0, fmt.Errorf("size %q: want bytes or a number with a unit (128MB, 1GiB, 64k)", s)
	}
	return int64(f * mult), nil
}
