package dataframe

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	memsrc "github.com/sluicehq/sluice/sources/memory"
)

type cacheClick struct {
	Ad int64
}

// A cached static side is read once; without Cache every use (every
// micro-batch of a stream-static join) reads the files again.
func TestCacheStaticSide(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := apiSession(mem, 2)
	dir := filepath.Join(t.TempDir(), "ads")
	writeAds := func(rows ...string) {
		schema, b := apiTable(t, mem, "ad BIGINT, campaign STRING", rows...)
		defer b.Release()
		if err := s.CreateDataFrame(schema, b).Write().Mode("overwrite").Parquet(dir); err != nil {
			t.Fatal(err)
		}
	}
	writeAds(`{"ad":1,"campaign":"c1"}`, `{"ad":2,"campaign":"c2"}`)
	ads := s.Read().Parquet(dir)
	cached := ads.Cache()
	defer cached.Unpersist()

	clicks := memsrc.NewStream[cacheClick](s)
	defer clicks.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(name string, static *DataFrame) *StreamingQuery {
		q, err := s.ReadStream(clicks).Join(static, "ad").Select("ad", "campaign").
			WriteStream().Format("memory").QueryName(name).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	qc := start("viacache", cached)
	defer s.DropTempView("viacache")
	defer qc.Stop(context.Background())
	step := func(ad int64) {
		if _, err := clicks.AddData(cacheClick{Ad: ad}); err != nil {
			t.Fatal(err)
		}
		if err := qc.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(1)
	// The files are replaced: the cached rows are what the first batch
	// read; the uncached DataFrame, which reads its files again on every
	// use, no longer finds them (as Spark's FileNotFound).
	writeAds(`{"ad":1,"campaign":"new1"}`, `{"ad":2,"campaign":"new2"}`)
	step(2)
	rows, err := s.Table("viacache").OrderBy("ad").Rows()
	if err != nil {
		t.Fatal(err)
	}
	if g, want := fmt.Sprint(rows), "[[1 c1] [2 c2]]"; g != want {
		t.Errorf("cached static side: %s, want %s (read once)", g, want)
	}
	if _, err := ads.Count(); err == nil {
		t.Errorf("uncached static side read its replaced files without error; it should read them again")
	}
	// Unpersist frees the rows (the checked allocator sees them go); the
	// next use computes them again, from the stale file list.
	cached.Unpersist()
	if _, err := cached.Count(); err == nil {
		t.Errorf("after Unpersist the cached DataFrame still answered from memory")
	}
}
