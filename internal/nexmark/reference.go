package nexmark

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is a query result computed in plain Go, for checking the engine.
// Values are int64, float64, string, time.Time (UTC) or nil; a DECIMAL is
// its canonical string ("108.960"). Compare by position: Columns only names
// them for messages.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Sort orders the rows by every column, so results compare regardless of
// row order.
func (r Result) Sort() {
	slices.SortFunc(r.Rows, compareRows)
}

func compareRows(a, b []any) int {
	for i := range a {
		if c := compareValue(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func compareValue(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	panic(fmt.Sprintf("nexmark: value of type %T in a Result", a))
}

// String renders the rows one per line, values separated by "|".
func (r Result) String() string {
	var sb strings.Builder
	sb.WriteString(strings.Join(r.Columns, "|"))
	for _, row := range r.Rows {
		sb.WriteByte('\n')
		for i, v := range row {
			if i > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(FormatValue(v))
		}
	}
	return sb.String()
}

// FormatValue renders a Result value: NULL, integers and decimals as is,
// floats with strconv's shortest form, times as "2006-01-02 15:04:05.999999".
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}

// Reference computes query name's result over the given rows in plain Go,
// independent of the engine. Rows are in no particular order (call Sort).
func Reference(name string, people []Person, auctions []Auction, bids []Bid) (Result, error) {
	switch name {
	case "q0":
		r := Result{Columns: []string{"auction", "bidder", "price", "dateTime", "extra"}}
		for _, b := range bids {
			r.Rows = append(r.Rows, []any{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
		}
		return r, nil
	case "q1":
		r := Result{Columns: []string{"auction", "bidder", "price", "dateTime", "extra"}}
		for _, b := range bids {
			r.Rows = append(r.Rows, []any{b.Auction, b.Bidder, decimal3(b.Price * 908), b.DateTime, b.Extra})
		}
		return r, nil
	case "q2":
		r := Result{Columns: []string{"auction", "price"}}
		for _, b := range bids {
			if b.Auction%123 == 0 {
				r.Rows = append(r.Rows, []any{b.Auction, b.Price})
			}
		}
		return r, nil
	case "q3":
		r := Result{Columns: []string{"name", "city", "state", "id"}}
		byID := map[int64][]Person{}
		for _, p := range people {
			if p.State == "OR" || p.State == "ID" || p.State == "CA" {
				byID[p.ID] = append(byID[p.ID], p)
			}
		}
		for _, a := range auctions {
			if a.Category != 10 {
				continue
			}
			for _, p := range byID[a.Seller] {
				r.Rows = append(r.Rows, []any{p.Name, p.City, p.State, a.ID})
			}
		}
		return r, nil
	case "q4":
		return avgClosing([]string{"category", "avg(final)"}, auctions, bids, func(a Auction) int64 { return a.Category }), nil
	case "q6":
		return avgClosing([]string{"seller", "avg_price"}, auctions, bids, func(a Auction) int64 { return a.Seller }), nil
	case "q5":
		return q5(bids), nil
	case "q7":
		return q7(bids), nil
	case "q8":
		return q8(people, auctions), nil
	}
	return Result{}, fmt.Errorf("nexmark: no query %q; the queries are q0..q8", name)
}

// decimal3 renders thousandths as a DECIMAL(_, 3).
func decimal3(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%03d", sign, v/1000, v%1000)
}

// avgClosing is q4's core: an auction's closing price is its highest bid
// between its dateTime and expires (inclusive); the result averages them
// per key.
func avgClosing(cols []string, auctions []Auction, bids []Bid, key func(Auction) int64) Result {
	byAuction := map[int64][]Bid{}
	for _, b := range bids {
		byAuction[b.Auction] = append(byAuction[b.Auction], b)
	}
	// Group by (A.id, key) as the SQL does: duplicate auction rows with one
	// id are one group.
	type group struct{ id, k int64 }
	final := map[group]int64{}
	for _, a := range auctions {
		for _, b := range byAuction[a.ID] {
			if b.DateTime.Before(a.DateTime) || b.DateTime.After(a.Expires) {
				continue
			}
			g := group{a.ID, key(a)}
			if m, ok := final[g]; !ok || b.Price > m {
				final[g] = b.Price
			}
		}
	}
	type acc struct {
		sum float64
		n   int64
	}
	avg := map[int64]*acc{}
	for g, v := range final {
		s := avg[g.k]
		if s == nil {
			s = &acc{}
			avg[g.k] = s
		}
		s.sum += float64(v)
		s.n++
	}
	r := Result{Columns: cols}
	for k, s := range avg {
		r.Rows = append(r.Rows, []any{k, s.sum / float64(s.n)})
	}
	return r
}

// windows returns the starts (µs) of the windows of size/slide (aligned to
// the epoch, as Spark's window()) that contain t: start <= t < start+size.
func windows(t time.Time, size, slide time.Duration) []int64 {
	tu, sz, sl := t.UnixMicro(), size.Microseconds(), slide.Microseconds()
	last := tu - ((tu%sl)+sl)%sl
	var out []int64
	for s := last; s > tu-sz; s -= sl {
		out = append(out, s)
	}
	return out
}

func micros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func q5(bids []Bid) Result {
	type key struct{ auction, start int64 }
	counts := map[key]int64{}
	for _, b := range bids {
		for _, s := range windows(b.DateTime, 10*time.Second, 2*time.Second) {
			counts[key{b.Auction, s}]++
		}
	}
	maxn := map[int64]int64{}
	for k, n := range counts {
		maxn[k.start] = max(maxn[k.start], n)
	}
	r := Result{Columns: []string{"auction", "num"}}
	for k, n := range counts {
		if n >= maxn[k.start] {
			r.Rows = append(r.Rows, []any{k.auction, n})
		}
	}
	return r
}

func q7(bids []Bid) Result {
	maxp := map[int64]int64{} // window end (µs) -> max price
	for _, b := range bids {
		end := windows(b.DateTime, 10*time.Second, 10*time.Second)[0] + (10 * time.Second).Microseconds()
		if m, ok := maxp[end]; !ok || b.Price > m {
			maxp[end] = b.Price
		}
	}
	byPrice := map[int64][]Bid{}
	for _, b := range bids {
		byPrice[b.Price] = append(byPrice[b.Price], b)
	}
	r := Result{Columns: []string{"auction", "bidder", "price", "dateTime", "extra"}}
	for end, p := range maxp {
		lo := end - (10 * time.Second).Microseconds()
		for _, b := range byPrice[p] {
			t := b.DateTime.UnixMicro()
			if b.Price == p && t >= lo && t <= end {
				r.Rows = append(r.Rows, []any{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
			}
		}
	}
	return r
}

func q8(people []Person, auctions []Auction) Result {
	type pk struct {
		id    int64
		name  string
		start int64
	}
	type ak struct{ seller, start int64 }
	ps := map[pk]bool{}
	for _, p := range people {
		ps[pk{p.ID, p.Name, windows(p.DateTime, 10*time.Second, 10*time.Second)[0]}] = true
	}
	as := map[ak]bool{}
	for _, a := range auctions {
		as[ak{a.Seller, windows(a.DateTime, 10*time.Second, 10*time.Second)[0]}] = true
	}
	r := Result{Columns: []string{"id", "name", "starttime"}}
	for p := range ps {
		if as[ak{p.id, p.start}] {
			r.Rows = append(r.Rows, []any{p.id, p.name, micros(p.start)})
		}
	}
	return r
}
