package fileformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// Parquet is the Parquet format (parquet-go underneath, columnar paths only).
//
// Reading maps Parquet types to the engine's Arrow types: INT(8/16/32/64)
// to int8..int64 (unsigned widen one step; uint64 becomes decimal(20,0)),
// DATE to date32, TIMESTAMP in millis/micros/nanos and INT96 to timestamp
// (microseconds, UTC), DECIMAL on any physical type to decimal128,
// STRING/ENUM/JSON to string, other byte arrays to binary, groups to
// struct, LIST (3-level and legacy 2-level) to list, MAP to map.
//
// When ReadOptions.Schema is given the file must have every requested
// column with the same type or a safe widening of it: int8 -> int16 ->
// int32 -> int64, float -> double, decimal(p,s) -> decimal(p',s) with
// p' >= p, string <-> binary. Anything else, or a missing column, is
// ErrSchemaMismatch naming the file and the column. (Spark instead fills
// missing columns with NULL when schemas are merged; a dataset with
// evolving schemas should read each file with its own projection.)
type Parquet struct{}

// Name is "parquet".
func (Parquet) Name() string { return "parquet" }

// Extension is the file name extension the dataset writer uses.
func (Parquet) Extension() string { return ".parquet" }

// Infer reads the footer and proposes the file's schema.
func (Parquet) Infer(ctx context.Context, path string, opts ReadOptions) (*arrow.Schema, error) {
	f, err := openPQ(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	s, err := fileArrowSchema(f.root)
	if err != nil {
		return nil, fmt.Errorf("file %s: %w", f.path, err)
	}
	return s, nil
}

// Open starts reading path; see the type's doc for schema checking. Only
// the column chunks of projected columns are read, and row groups whose
// statistics prove that no row passes opts.Filters are skipped.
func (Parquet) Open(ctx context.Context, path string, opts ReadOptions) (Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newParquetReader(ctx, path, opts)
}

// NewWriter writes a Parquet file. Options: compression (snappy default,
// zstd, gzip, lz4, brotli, none/uncompressed), rowGroupSize (rows,
// default 1Mi), pageSize (bytes, default 256KiB), dictionaryMaxBytes (a
// string column falls back from dictionary to plain encoding past it,
// default 1MiB).
func (Parquet) NewWriter(w io.Writer, schema *arrow.Schema, opts WriteOptions) (Writer, error) {
	return newParquetWriter(w, schema, opts)
}

// parquetWriteConfig is the validated form of the write options.
type parquetWriteConfig struct {
	codec        compress.Codec
	rowGroupSize int64
	pageSize     int
	dictMax      int64
}

// parseParquetWriteOptions validates the Spark-named options and reports
// every problem at once.
func parseParquetWriteOptions(o map[string]string) (parquetWriteConfig, error) {
	c := parquetWriteConfig{codec: &parquet.Snappy, rowGroupSize: 1 << 20, pageSize: 256 << 10, dictMax: 1 << 20}
	var errs []string
	for k, v := range o {
		switch strings.ToLower(k) {
		case "compression", "codec", "parquet.compression":
			switch strings.ToLower(v) {
			case "snappy", "":
				c.codec = &parquet.Snappy
			case "zstd":
				c.codec = &parquet.Zstd
			case "gzip":
				c.codec = &parquet.Gzip
			case "lz4", "lz4_raw":
				c.codec = &parquet.Lz4Raw
			case "brotli":
				c.codec = &parquet.Brotli
			case "none", "uncompressed":
				c.codec = &parquet.Uncompressed
			default:
				errs = append(errs, fmt.Sprintf("compression %q (use snappy, zstd, gzip, lz4, brotli or none)", v))
			}
		case "rowgroupsize", "parquet.block.size.rows":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("rowGroupSize %q (a positive number of rows)", v))
			}
			c.rowGroupSize = n
		case "pagesize", "parquet.page.size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1024 {
				errs = append(errs, fmt.Sprintf("pageSize %q (bytes, at least 1024)", v))
			}
			c.pageSize = n
		case "dictionarymaxbytes":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Sprintf("dictionaryMaxBytes %q (bytes)", v))
			}
			c.dictMax = n
		default:
			// Options of other layers (path, mode, partitionBy...) pass through.
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%w: parquet: %s", ErrOption, strings.Join(errs, "; "))
	}
	return c, nil
}

// parquetOptionSpecs are the options Parquet accepts (read and write).
// Values are checked by the same parser the writer uses.
var parquetOptionSpecs = []optionSpec{
	{name: "compression", aliases: []string{"codec", "parquet.compression"}, check: parquetOptionCheck("compression")},
	{name: "rowGroupSize", aliases: []string{"parquet.block.size.rows"}, check: parquetOptionCheck("rowGroupSize")},
	{name: "pageSize", aliases: []string{"parquet.page.size"}, check: parquetOptionCheck("pageSize")},
	{name: "dictionaryMaxBytes", check: parquetOptionCheck("dictionaryMaxBytes")},
	// Spark read options that need no action here: timestamps are always
	// read as UTC instants and INT96 without calendar rebasing.
	{name: "datetimeRebaseMode"},
	{name: "int96RebaseMode"},
	{name: "binaryAsString", check: checkBool},
	{name: SplitOption, check: func(v string) error {
		_, _, err := parseSplit(map[string]string{SplitOption: v})
		return err
	}},
}

func parquetOptionCheck(name string) func(string) error {
	return func(v string) error {
		_, err := parseParquetWriteOptions(map[string]string{name: v})
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), ErrOption.Error()+": parquet: "))
		}
		return nil
	}
}

// ValidateOptions reports every unknown or invalid Parquet option at once.
func (Parquet) ValidateOptions(opts map[string]string) error {
	return newOptionSet("parquet", parquetOptionSpecs, opts).err()
}
