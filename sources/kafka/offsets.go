package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/sluicehq/sluice/sources"
)

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

func (p tp) String() string { return p.topic + "-" + strconv.Itoa(int(p.part)) }

func tpLess(a, b tp) bool {
	if a.topic != b.topic {
		return a.topic < b.topic
	}
	return a.part < b.part
}

// offsets maps partitions to the next offset to read (exclusive ends,
// like Spark's KafkaSourceOffset).
type offsets map[tp]int64

func (o offsets) sorted() []tp {
	out := make([]tp, 0, len(o))
	for p := range o {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return tpLess(out[i], out[j]) })
	return out
}

func (o offsets) clone() offsets {
	c := make(offsets, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// encode writes canonical JSON: topics sorted, partitions sorted by
// number, {"t":{"0":5,"1":7}} — byte-equal for equal offsets.
func (o offsets) encode() sources.Offset {
	var b bytes.Buffer
	b.WriteByte('{')
	last := ""
	first := true
	for _, p := range o.sorted() {
		if first || p.topic != last {
			if !first {
				b.WriteString("},")
			}
			t, _ := json.Marshal(p.topic)
			b.Write(t)
			b.WriteString(":{")
			last, first = p.topic, false
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strconv.Itoa(int(p.part)))
		b.WriteString(`":`)
		b.WriteString(strconv.FormatInt(o[p], 10))
	}
	if !first {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// decodeOffsets reads an offset written by encode (or by hand in the same
// shape). nil is the empty position.
func decodeOffsets(off sources.Offset) (offsets, error) {
	if len(off) == 0 {
		return offsets{}, nil
	}
	m, err := parsePartitionJSON(string(off))
	if err != nil {
		return nil, fmt.Errorf("%w: kafka offset %s: %w", sources.ErrSource, off, err)
	}
	for p, v := range m {
		if v < 0 {
			return nil, fmt.Errorf("%w: kafka offset %s: %s has negative offset %d", sources.ErrSource, off, p, v)
		}
	}
	return m, nil
}

// parsePartitionJSON reads {"topic":{"0":23,"1":-2}}.
func parsePartitionJSON(s string) (offsets, error) {
	var raw map[string]map[string]int64
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of topics to {partition: number}: %v", err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	out := offsets{}
	for t, ps := range raw {
		if t == "" {
			return nil, errors.New("empty topic name")
		}
		for ps, v := range ps {
			n, err := strconv.ParseInt(ps, 10, 32)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("topic %q: partition %q is not a non-negative number", t, ps)
			}
			out[tp{t, int32(n)}] = v
		}
	}
	return out, nil
}

// parseAssign reads {"topicA":[0,1],"topicB":[2,4]}.
func parseAssign(s string) ([]tp, error) {
	var raw map[string][]int32
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf(`want JSON like {"topicA":[0,1],"topicB":[2,4]}: %v`, err)
	}
	var out []tp
	seen := map[tp]bool{}
	for t, ps := range raw {
		if t == "" {
			return nil, errors.New("empty topic name")
		}
		for _, p := range ps {
			if p < 0 {
				return nil, fmt.Errorf("topic %q: partition %d is negative", t, p)
			}
			k := tp{t, p}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no partitions")
	}
	sort.Slice(out, func(i, j int) bool { return tpLess(out[i], out[j]) })
	return out, nil
}
