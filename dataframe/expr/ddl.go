package expr

import (
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// ParseType parses a Spark SQL type: "bigint", "decimal(10,2)",
// "array<struct<a:int,b:string>>", "map<string,double>". It reads every
// name TypeName writes, so ParseType(TypeName(t)) gives t back.
func ParseType(text string) (arrow.DataType, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	dt, err := p.ParseType()
	if err != nil {
		return nil, err
	}
	if err := p.ExpectEOF(); err != nil {
		return nil, err
	}
	return dt, nil
}

// ParseDDL parses a Spark DDL schema string, "a INT, b STRUCT<c: STRING>,
// e DECIMAL(10,2) NOT NULL, f TIMESTAMP COMMENT 'x'", into an Arrow schema.
// Columns are nullable unless NOT NULL; a COMMENT goes into the field's
// metadata under "comment". Like Spark's StructType.fromDDL it also takes a
// single struct type, "struct<a:int,b:string>". Empty text is an empty
// schema.
func ParseDDL(text string) (*arrow.Schema, error) {
	p, err := NewParser(text)
	if err != nil {
		return nil, err
	}
	if p.AtEOF() {
		return arrow.NewSchema(nil, nil), nil
	}
	fields, err := p.ParseColumns()
	if err == nil && !p.AtEOF() {
		err = p.ErrExpected("',' or end of input")
	}
	if err != nil {
		if st, ok := parseStructDDL(text); ok {
			return arrow.NewSchema(st.Fields(), nil), nil
		}
		return nil, err
	}
	return arrow.NewSchema(fields, nil), nil
}

func parseStructDDL(text string) (*arrow.StructType, bool) {
	dt, err := ParseType(text)
	if err != nil {
		return nil, false
	}
	st, ok := dt.(*arrow.StructType)
	return st, ok
}

// ParseColumns parses a column list `name type [NOT NULL] [COMMENT 'c'],
// ...` (at least one), as in a DDL schema or CREATE TABLE.
func (p *Parser) ParseColumns() ([]arrow.Field, error) {
	var fields []arrow.Field
	for {
		f, err := p.parseColumn(false)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		if !p.AcceptOp(",") {
			return fields, nil
		}
	}
}

// parseColumn parses `name [:] type [NOT NULL] [COMMENT 'c']`. In a struct
// the colon is customary; at the top level Spark has none, but one is
// accepted.
func (p *Parser) parseColumn(inStruct bool) (arrow.Field, error) {
	t := p.Peek()
	if t.Kind != TokIdent && t.Kind != TokQuotedIdent {
		what := "a column name"
		if inStruct {
			what = "a field name"
		}
		return arrow.Field{}, p.ErrExpected(what)
	}
	p.Next()
	p.AcceptOp(":")
	dt, err := p.ParseType()
	if err != nil {
		return arrow.Field{}, err
	}
	f := arrow.Field{Name: t.Value, Type: dt, Nullable: true}
	if p.AcceptKeyword("NOT") {
		if _, err := p.ExpectKeyword("NULL"); err != nil {
			return arrow.Field{}, err
		}
		f.Nullable = false
	}
	if p.AcceptKeyword("COMMENT") {
		c := p.Peek()
		if c.Kind != TokString {
			return arrow.Field{}, p.ErrExpected("a comment string")
		}
		p.Next()
		f.Metadata = arrow.NewMetadata([]string{"comment"}, []string{c.Value})
	}
	return f, nil
}

// ParseType parses a Spark SQL type at the current token.
//
// Names and aliases: boolean; tinyint/byte; smallint/short; int/integer;
// bigint/long; float/real; double; decimal/dec/numeric[(p[,s])] (default
// (10,0)); string, char(n), character(n), varchar(n) (all string); binary;
// date; timestamp, timestamp_ltz and timestamp_ntz (all the engine's UTC
// microsecond timestamp: sluice has no separate wall-clock type);
// interval [unit [TO unit]] (month-day-nano); void (null); array<t>
// (arrow list); map<k,v> (arrow map); struct<name[:] type [NOT NULL]
// [COMMENT 'c'], ...>.
func (p *Parser) ParseType() (arrow.DataType, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.ErrorAt(p.Peek(), "type nests too deeply", "")
	}
	t := p.Peek()
	if t.Kind != TokIdent {
		err := p.ErrExpected("a type")
		if t.Kind == TokString || t.Kind == TokQuotedIdent {
			err.Hint = "a type name is written without quotes: INT, STRING, DECIMAL(10,2)"
		}
		return nil, err
	}
	name := strings.ToUpper(t.Value)
	p.Next()
	switch name {
	case "ARRAY":
		if err := p.expectOpenAngle(name); err != nil {
			return nil, err
		}
		elem, err := p.ParseType()
		if err != nil {
			return nil, err
		}
		if err := p.expectCloseAngle(); err != nil {
			return nil, err
		}
		return arrow.ListOf(elem), nil
	case "MAP":
		if err := p.expectOpenAngle(name); err != nil {
			return nil, err
		}
		k, err := p.ParseType()
		if err != nil {
			return nil, err
		}
		if _, err := p.ExpectOp(","); err != nil {
			return nil, err
		}
		v, err := p.ParseType()
		if err != nil {
			return nil, err
		}
		if err := p.expectCloseAngle(); err != nil {
			return nil, err
		}
		return arrow.MapOf(k, v), nil
	case "STRUCT":
		return p.parseStructType()
	case "INTERVAL":
		// INTERVAL, INTERVAL DAY, INTERVAL YEAR TO MONTH, ...: all the one
		// month-day-nano type.
		if _, ok := intervalUnit(p.Peek()); ok && !strings.HasSuffix(strings.ToUpper(p.Peek().Value), "S") {
			p.Next()
			if p.AcceptKeyword("TO") {
				if _, ok := intervalUnit(p.Peek()); !ok {
					return nil, p.ErrExpected("an interval unit after TO")
				}
				p.Next()
			}
		}
		return Interval, nil
	}
	params, err := p.typeParams()
	if err != nil {
		return nil, err
	}
	noParams := func(dt arrow.DataType) (arrow.DataType, error) {
		if params != nil {
			return nil, p.ErrorAt(t, strings.ToUpper(t.Value)+" takes no parameters", "")
		}
		return dt, nil
	}
	switch name {
	case "BOOLEAN":
		return noParams(Boolean)
	case "TINYINT", "BYTE":
		return noParams(Int8)
	case "SMALLINT", "SHORT":
		return noParams(Int16)
	case "INT", "INTEGER":
		return noParams(Int32)
	case "BIGINT", "LONG":
		return noParams(Int64)
	case "FLOAT", "REAL":
		return noParams(Float32)
	case "DOUBLE":
		return noParams(Float64)
	case "STRING":
		return noParams(String)
	case "BINARY":
		return noParams(Binary)
	case "DATE":
		return noParams(Date)
	case "TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ":
		return noParams(Timestamp)
	case "VOID":
		return noParams(Null)
	case "CHAR", "CHARACTER", "VARCHAR":
		if len(params) != 1 {
			return nil, p.ErrorAt(t, strings.ToUpper(t.Value)+" needs a length", "write "+strings.ToUpper(t.Value)+"(10), or use STRING")
		}
		return String, nil
	case "DECIMAL", "DEC", "NUMERIC":
		prec, scale := 10, 0
		switch len(params) {
		case 0:
		case 1:
			prec = params[0]
		case 2:
			prec, scale = params[0], params[1]
		default:
			return nil, p.ErrorAt(t, "DECIMAL takes at most two parameters: DECIMAL(precision, scale)", "")
		}
		if prec < 1 || prec > maxDecimalPrecision {
			return nil, p.ErrorAt(t, "decimal precision "+strconv.Itoa(prec)+" is out of range 1-38", "")
		}
		if scale > prec {
			return nil, p.ErrorAt(t, "decimal scale "+strconv.Itoa(scale)+" is larger than the precision "+strconv.Itoa(prec), "")
		}
		return &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)}, nil
	}
	return nil, p.ErrorAt(t, "unknown type "+t.Value, typeHint(name))
}

// typeHint suggests the Spark name for common names from other systems.
func typeHint(name string) string {
	switch name {
	case "BOOL":
		return "did you mean BOOLEAN?"
	case "TEXT", "VARCHAR2", "NVARCHAR":
		return "did you mean STRING?"
	case "DATETIME", "TIMESTAMPTZ":
		return "did you mean TIMESTAMP?"
	case "INT64", "INT8":
		return "did you mean BIGINT?"
	case "INT32", "INT4":
		return "did you mean INT?"
	case "FLOAT64", "FLOAT8":
		return "did you mean DOUBLE?"
	case "BYTES", "BLOB", "BYTEA":
		return "did you mean BINARY?"
	case "LIST":
		return "did you mean ARRAY<...>?"
	}
	return "known types: boolean, tinyint, smallint, int, bigint, float, double, decimal(p,s), string, binary, date, timestamp, interval, array<t>, map<k,v>, struct<...>"
}

// typeParams parses an optional (n[, m ...]) after a type name.
func (p *Parser) typeParams() ([]int, error) {
	if !p.IsOp("(") {
		return nil, nil
	}
	p.Next()
	params := []int{}
	for {
		t := p.Peek()
		if t.Kind != TokNumber || !isAllDigits(t.Text) {
			return nil, p.ErrExpected("a whole number")
		}
		n, err := strconv.Atoi(t.Text)
		if err != nil || n > 1<<20 {
			return nil, p.ErrorAt(t, "type parameter "+t.Text+" is too large", "")
		}
		p.Next()
		params = append(params, n)
		if !p.AcceptOp(",") {
			break
		}
	}
	if _, err := p.ExpectOp(")"); err != nil {
		return nil, err
	}
	return params, nil
}

func (p *Parser) expectOpenAngle(name string) *ParseError {
	if p.AcceptOp("<") {
		return nil
	}
	err := p.ErrExpected("'<'")
	switch name {
	case "ARRAY":
		err.Hint = "write ARRAY<INT>"
	case "MAP":
		err.Hint = "write MAP<STRING, INT>"
	}
	return err
}

// expectCloseAngle consumes one '>'. The lexer reads `>>` and `>>>` as shift
// operators and `>=` as a comparison, so nested types like array<array<int>>
// split those tokens here.
func (p *Parser) expectCloseAngle() error {
	t := p.Peek()
	switch {
	case t.IsOp(">"):
		p.Next()
		return nil
	case t.IsOp(">>"), t.IsOp(">>>"), t.IsOp(">="):
		rest := t.Value[1:]
		p.toks[p.i] = Token{
			Kind: TokOp, Text: rest, Value: rest, End: t.End,
			Pos: Pos{Offset: t.Pos.Offset + 1, Line: t.Pos.Line, Col: t.Pos.Col + 1},
		}
		return nil
	}
	err := p.ErrExpected("'>'")
	if t.Kind == TokEOF {
		err.Hint = "close the type with '>'"
	}
	return err
}

// parseStructType parses the rest of struct<...> (STRUCT consumed);
// struct<> is the empty struct.
func (p *Parser) parseStructType() (arrow.DataType, error) {
	if p.AcceptOp("<>") {
		return arrow.StructOf(), nil
	}
	if !p.IsOp("<") {
		err := p.expectOpenAngle("STRUCT")
		err.Hint = "write STRUCT<a: INT, b: STRING>"
		return nil, err
	}
	p.Next()
	var fields []arrow.Field
	t := p.Peek()
	if !(t.IsOp(">") || t.IsOp(">>") || t.IsOp(">>>") || t.IsOp(">=")) {
		for {
			f, err := p.parseColumn(true)
			if err != nil {
				return nil, err
			}
			fields = append(fields, f)
			if !p.AcceptOp(",") {
				break
			}
		}
	}
	if err := p.expectCloseAngle(); err != nil {
		return nil, err
	}
	return arrow.StructOf(fields...), nil
}
