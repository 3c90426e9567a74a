package files

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sluicehq/sluice/dataframe/expr"
	"github.com/sluicehq/sluice/internal/fileformat"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/sources"
)

// ErrSchemaChanged: the schema inferred now differs from the one fixed in
// the checkpoint at the query's first start.
var ErrSchemaChanged = errors.New("file source: schema changed")

// ErrNoFiles: inferSchema found no file to infer from.
var ErrNoFiles = errors.New("file source: no files")

// schemaFile is the name, in the source's checkpoint directory, of the
// schema fixed at the first start.
const schemaFile = "schema"

// loggedSchema is the content of the schema file: the DDL for people, the
// Arrow IPC schema for an exact round trip.
type loggedSchema struct {
	DDL              string   `json:"ddl"`
	Arrow            string   `json:"arrowSchema"`
	PartitionColumns []string `json:"partitionColumns,omitempty"`
}

// schemas are the data schema (what the files hold) and the partition
// columns appended after it.
type schemas struct {
	data *arrow.Schema
	part *arrow.Schema // nil: none
}

func (s schemas) full() *arrow.Schema {
	if s.part == nil {
		return s.data
	}
	fields := append(append([]arrow.Field(nil), s.data.Fields()...), s.part.Fields()...)
	return arrow.NewSchema(fields, nil)
}

func (s schemas) partNames() []string {
	if s.part == nil {
		return nil
	}
	out := make([]string, s.part.NumFields())
	for i, f := range s.part.Fields() {
		out[i] = f.Name
	}
	return out
}

// givenSchemas splits a DDL schema (or the text format's fixed one) into
// data and partition columns.
func givenSchemas(o *Options) (schemas, error) {
	var full *arrow.Schema
	if strings.EqualFold(o.Format, "text") {
		full = fileformat.TextSchema
	} else {
		var err error
		if full, err = expr.ParseDDL(o.Schema); err != nil {
			return schemas{}, fmt.Errorf("%w: file source %s: schema: %w", sources.ErrSource, storage.RedactLocation(o.Path), err)
		}
	}
	var data, part []arrow.Field
	isPart := map[string]bool{}
	for _, p := range o.PartitionColumns {
		isPart[strings.ToLower(p)] = true
	}
	found := map[string]bool{}
	for _, f := range full.Fields() {
		if isPart[strings.ToLower(f.Name)] {
			part = append(part, f)
			found[strings.ToLower(f.Name)] = true
		} else {
			data = append(data, f)
		}
	}
	for _, p := range o.PartitionColumns {
		if !found[strings.ToLower(p)] {
			part = append(part, arrow.Field{Name: p, Type: arrow.BinaryTypes.String, Nullable: true})
		}
	}
	if len(data) == 0 {
		return schemas{}, fmt.Errorf("%w: file source %s: every column of the schema is a partition column; the files must hold at least one", sources.ErrSource, storage.RedactLocation(o.Path))
	}
	s := schemas{data: arrow.NewSchema(data, nil)}
	if len(part) > 0 {
		s.part = arrow.NewSchema(part, nil)
	}
	return s, nil
}

// inferSchemas infers the data schema from the oldest file (by
// modification time, then path) and the partition columns from every
// file's directories.
func (s *Source) inferSchemas(ctx context.Context) (schemas, error) {
	files, err := fileformat.ListFilesFS(ctx, s.fs, s.pattern)
	if err != nil && !errors.Is(err, fileformat.ErrNotFound) {
		return schemas{}, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
	}
	if len(files) == 0 {
		return schemas{}, fmt.Errorf("%w: file source %s: inferSchema found no file to infer the schema from; add a file first or give schema: \"col TYPE, ...\"", ErrNoFiles, s.name)
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].ModTime.Equal(files[j].ModTime) {
			return files[i].ModTime.Before(files[j].ModTime)
		}
		return files[i].Path < files[j].Path
	})
	oldest := files[0]
	f, err := s.fs.Open(ctx, oldest.Path)
	if err != nil {
		return schemas{}, fmt.Errorf("%w: file source %s: infer schema: %w", sources.ErrSource, s.name, err)
	}
	defer f.Close()
	opts := fileformat.ReadOptions{Options: map[string]string{"inferSchema": "true"}, Mem: s.mem}
	for k, v := range s.o.FormatOptions {
		opts.Options[k] = v
	}
	var data *arrow.Schema
	switch ff := s.format.(type) {
	case fileformat.ReaderAtFormat:
		data, err = ff.InferReaderAt(ctx, f, f.Size(), oldest.Path, opts)
	case fileformat.StreamFormat:
		data, err = ff.InferReader(ctx, f, oldest.Path, opts)
	default:
		err = fmt.Errorf("format %s cannot infer from storage", s.format.Name())
	}
	if err != nil {
		return schemas{}, fmt.Errorf("%w: file source %s: infer schema from %s: %w", sources.ErrSource, s.name, oldest.Path, err)
	}
	sc := schemas{data: data}
	part, err := fileformat.PartitionSchema(files)
	if err != nil {
		return schemas{}, fmt.Errorf("%w: file source %s: %w", sources.ErrSource, s.name, err)
	}
	if len(s.o.PartitionColumns) > 0 {
		var keep []arrow.Field
		for _, name := range s.o.PartitionColumns {
			fld := arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
			if part != nil {
				if idx := part.FieldIndices(name); len(idx) > 0 {
					fld = part.Field(idx[0])
				}
			}
			keep = append(keep, fld)
		}
		part = arrow.NewSchema(keep, nil)
	}
	if part != nil && part.NumFields() > 0 {
		// Partition columns also stored in the files come from the files.
		var keep []arrow.Field
		for _, pf := range part.Fields() {
			if len(data.FieldIndices(pf.Name)) == 0 {
				keep = append(keep, pf)
			}
		}
		if len(keep) > 0 {
			sc.part = arrow.NewSchema(keep, nil)
		}
	}
	return sc, nil
}

func encodeSchema(sc schemas) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sc.data))
	if err := w.Close(); err != nil {
		return nil, err
	}
	return json.Marshal(loggedSchema{DDL: ddl(sc.full()), Arrow: base64.StdEncoding.EncodeToString(buf.Bytes()), PartitionColumns: sc.partNames()})
}

func decodeSchema(name string, data []byte) (schemas, error) {
	var ls loggedSchema
	if err := json.Unmarshal(data, &ls); err != nil {
		return schemas{}, fmt.Errorf("%w: file source: %s: %v (edited by hand?)", sources.ErrSource, name, err)
	}
	raw, err := base64.StdEncoding.DecodeString(ls.Arrow)
	if err != nil {
		return schemas{}, fmt.Errorf("%w: file source: %s: arrowSchema: %v", sources.ErrSource, name, err)
	}
	r, err := ipc.NewReader(bytes.NewReader(raw))
	if err != nil {
		return schemas{}, fmt.Errorf("%w: file source: %s: arrowSchema: %v", sources.ErrSource, name, err)
	}
	defer r.Release()
	sc := schemas{data: r.Schema()}
	if len(ls.PartitionColumns) > 0 {
		full, err := expr.ParseDDL(ls.DDL)
		if err != nil {
			return schemas{}, fmt.Errorf("%w: file source: %s: ddl: %v", sources.ErrSource, name, err)
		}
		var part []arrow.Field
		for _, p := range ls.PartitionColumns {
			idx := full.FieldIndices(p)
			if len(idx) == 0 {
				return schemas{}, fmt.Errorf("%w: file source: %s: partition column %q is not in the ddl", sources.ErrSource, name, p)
			}
			part = append(part, full.Field(idx[0]))
		}
		sc.part = arrow.NewSchema(part, nil)
	}
	return sc, nil
}

// ddl renders a schema as Spark DDL, for people reading the checkpoint and
// error messages.
func ddl(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = expr.QuoteIdent(f.Name) + " " + expr.TypeName(f.Type)
		if !f.Nullable {
			parts[i] += " NOT NULL"
		}
	}
	return strings.Join(parts, ", ")
}

// fixSchema reconciles the source's schema with the one in the checkpoint
// directory dir: none there yet, it is written (create-if-absent); one
// there and the source inferred its own, they must agree. A given
// (explicit) schema wins over the logged one: the user changed it.
func fixSchema(ctx context.Context, fsys storage.FS, dir string, sc schemas, inferred bool) (schemas, error) {
	p := path.Join(dir, schemaFile)
	data, err := fsys.ReadFile(ctx, p)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		enc, err := encodeSchema(sc)
		if err != nil {
			return sc, fmt.Errorf("%w: file source: encode schema: %w", sources.ErrSource, err)
		}
		err = fsys.WriteFile(ctx, p, enc, storage.WriteOptions{CreateIfAbsent: true})
		if err != nil && !errors.Is(err, storage.ErrExist) {
			return sc, fmt.Errorf("%w: file source: write %s: %w", sources.ErrSource, p, err)
		}
		if err == nil {
			return sc, nil
		}
		if data, err = fsys.ReadFile(ctx, p); err != nil {
			return sc, fmt.Errorf("%w: file source: read %s: %w", sources.ErrSource, p, err)
		}
	case err != nil:
		return sc, fmt.Errorf("%w: file source: read %s: %w", sources.ErrSource, p, err)
	}
	logged, err := decodeSchema(p, data)
	if err != nil {
		return sc, err
	}
	if !inferred {
		return sc, nil
	}
	if !logged.full().Equal(sc.full()) {
		return logged, fmt.Errorf("%w: the schema inferred now (%s) differs from the one fixed in the checkpoint (%s) at the query's first start. "+
			"Open the source with its checkpoint (NewWithCheckpoint) so it reuses the fixed schema, or give it explicitly: schema: %q",
			ErrSchemaChanged, ddl(sc.full()), ddl(logged.full()), ddl(logged.data))
	}
	return logged, nil
}
