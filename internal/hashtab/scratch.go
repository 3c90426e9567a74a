package hashtab

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// scratch is the per-call working memory of Insert and Lookup: the
// normalised views of a batch, its hashes and the rows left to resolve.
// Keeping it out of the table is what lets Probers look up concurrently.
type scratch struct {
	nz    []*normalizer
	views []colView
	hs    []uint64
	sel   [chunkRows]int32
	memo  []uint32       // dictionary entry -> group (bytesImpl)
	sink  uint32         // keeps touch loads alive
	codes []*codeScratch // per key column; set for struct columns
}

func newScratch(kts []keyType, keepDict bool) scratch {
	sc := scratch{views: make([]colView, len(kts))}
	for _, kt := range kts {
		sc.nz = append(sc.nz, newNormalizer(kt))
	}
	if keepDict {
		sc.nz[0].keepDict = true
	}
	return sc
}

// hashes returns the hash scratch for n rows.
func (sc *scratch) hashes(n int) []uint64 { return scratchU64(&sc.hs, n) }

// normalise fills sc.views from the key columns; struct columns become
// their codes (created when create is set).
func (sc *scratch) normalise(cols []arrow.Array, codes []*structCodes, create bool) error {
	for i, c := range cols {
		var v colView
		var err error
		if codes[i] != nil {
			v, err = codes[i].view(sc.codes[i], c, create)
		} else {
			v, err = sc.nz[i].view(c)
		}
		if err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
		sc.views[i] = v
	}
	return nil
}

func (sc *scratch) memoryBytes() int64 {
	b := int64(cap(sc.hs))*8 + int64(cap(sc.memo))*4
	for _, nz := range sc.nz {
		b += nz.memoryBytes()
	}
	for _, cs := range sc.codes {
		if cs != nil {
			b += cs.memoryBytes()
		}
	}
	return b
}

// scratchU64 returns (*p)[:n], growing it when needed.
func scratchU64(p *[]uint64, n int) []uint64 {
	if cap(*p) < n {
		*p = make([]uint64, n)
	}
	return (*p)[:n]
}
