package fileformat

import "testing"

func TestInferCSVCases(t *testing.T)  { runTextCases(t, CSV, "testdata/infer/csv.txt") }
func TestInferJSONCases(t *testing.T) { runTextCases(t, JSON, "testdata/infer/json.txt") }

func TestSampler(t *testing.T) {
	s := sampler{ratio: 0.25}
	n := 0
	for i := 0; i < 1000; i++ {
		if s.take() {
			n++
		}
	}
	if n != 250 {
		t.Errorf("took %d of 1000 at 0.25", n)
	}
	s = sampler{ratio: 1, max: 3}
	for !s.full() {
		s.take()
	}
	if s.taken != 3 {
		t.Errorf("maxRows: %d", s.taken)
	}
}
