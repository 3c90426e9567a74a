package fn

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"hash/crc32"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe/expr"
)

var hashFuncs = []*expr.Function{
	{Name: "hash", MinArgs: 1, MaxArgs: -1, Usage: "hash(expr1, expr2, ...)", Bind: bindRowHash("hash")},
	{Name: "xxhash64", MinArgs: 1, MaxArgs: -1, Usage: "xxhash64(expr1, expr2, ...)", Bind: bindRowHash("xxhash64")},
	{Name: "md5", MinArgs: 1, MaxArgs: 1, Usage: "md5(binary)", Bind: bindDigest("md5", func(int64) hash.Hash { return md5.New() })},
	{Name: "sha1", Aliases: []string{"sha"}, MinArgs: 1, MaxArgs: 1, Usage: "sha1(binary)", Bind: bindDigest("sha1", func(int64) hash.Hash { return sha1.New() })},
	{Name: "sha2", MinArgs: 2, MaxArgs: 2, Usage: "sha2(binary, bitLength)", Bind: bindSHA2},
	{Name: "crc32", MinArgs: 1, MaxArgs: 1, Usage: "crc32(binary)", Bind: bindCRC32},
}

// bindRowHash binds hash() (int, Murmur3) or xxhash64() (bigint): the seed
// 42 flows through the arguments left to right; NULLs are skipped, so the
// result is never NULL.
func bindRowHash(name string) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		for i, a := range args {
			if !hashable(a.Type) {
				return nil, libTypeErr(name, i, "a hashable type", a.Type)
			}
		}
		if name == "hash" {
			return &expr.Binding{Type: expr.Int32, Kernel: func(ec *expr.EvalContext, cols []arrow.Array, n int) (arrow.Array, error) {
				return rowHashKernel(ec, cols, n, murmur3Hasher, expr.Int32)
			}}, nil
		}
		return &expr.Binding{Type: expr.Int64, Kernel: func(ec *expr.EvalContext, cols []arrow.Array, n int) (arrow.Array, error) {
			return rowHashKernel(ec, cols, n, xxhash64Hasher, expr.Int64)
		}}, nil
	}
}

func rowHashKernel[S int32 | int64](ec *expr.EvalContext, cols []arrow.Array, n int, h sparkHasher[S], dt arrow.DataType) (arrow.Array, error) {
	buf, seeds := allocFixed[S](ec.Mem, n)
	for i := range seeds {
		seeds[i] = sparkHashSeed
	}
	for _, c := range cols {
		if err := foldHashColumn(h, c, seeds); err != nil {
			buf.Release()
			return nil, err
		}
	}
	return makeArray(dt, n, nil, 0, buf), nil
}

// libDigestInput checks a digest argument: string or binary (read as their
// UTF-8 / raw bytes), or NULL.
func libDigestInput(name string, a expr.Arg) (arrow.DataType, error) {
	switch a.Type.ID() {
	case arrow.STRING, arrow.BINARY:
		return nil, nil
	case arrow.NULL, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return expr.Binary, nil
	}
	return nil, libTypeErr(name, 0, "binary or string", a.Type)
}

func bindDigest(name string, newHash func(int64) hash.Hash) func(args []expr.Arg) (*expr.Binding, error) {
	return func(args []expr.Arg) (*expr.Binding, error) {
		cast, err := libDigestInput(name, args[0])
		if err != nil {
			return nil, err
		}
		b := &expr.Binding{Type: expr.String, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
		if libNullConst(args[0]) {
			b.Kernel = nullKernel(expr.String)
			return b, nil
		}
		b.Kernel = digestKernel(newHash, 0)
		return b, nil
	}
}

// digestKernel hex-encodes newHash(bits) over every row.
func digestKernel(newHash func(int64) hash.Hash, bits int64) expr.Kernel {
	return func(ec *expr.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		h := newHash(bits)
		var sum [64]byte
		return mapString(ec.Mem, expr.String, args[0], func(dst, s []byte) ([]byte, bool) {
			h.Reset()
			h.Write(s)
			return hex.AppendEncode(dst, h.Sum(sum[:0])), true
		})
	}
}

// bindSHA2 binds sha2(x, bits); bits 0 means 256, and an unsupported bit
// length gives NULL as in Spark.
func bindSHA2(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libDigestInput("sha2", args[0])
	if err != nil {
		return nil, err
	}
	bitsCast, err := libIntCast("sha2", 1, args[1].Type, expr.Int32)
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.String, Nullable: true, Cast: []arrow.DataType{cast, bitsCast}}
	if libAnyNullConst(args) {
		b.Kernel = nullKernel(expr.String)
		return b, nil
	}
	if args[1].Const != nil {
		bits, _ := libConstInt(args[1].Const)
		newHash := sha2Hash(bits)
		if newHash == nil {
			b.Kernel = nullKernel(expr.String)
			return b, nil
		}
		b.ConstArgs = true
		inner := digestKernel(func(int64) hash.Hash { return newHash() }, bits)
		b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
			if a[0] == nil {
				return expr.ConstArray(ec.Mem, hexDigestOf(newHash, args[0].Const), expr.String, n)
			}
			return inner(ec, a, n)
		}
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		offs, data := stringData(a[0])
		bitsv := newLibInt(a[1], 0)
		valid, vb := libValidity(ec.Mem, n, a[0], a[1])
		if valid != nil {
			defer valid.Release()
		}
		w := newStringWriter(ec.Mem, expr.String, n, n*64)
		var sum [64]byte
		for i := 0; i < n; i++ {
			newHash := sha2Hash(bitsv.at(i))
			if !vb.ok(i) || newHash == nil {
				w.appendNull()
				continue
			}
			h := newHash()
			h.Write(data[offs[i]:offs[i+1]])
			w.appendWith(func(dst []byte) ([]byte, bool) { return hex.AppendEncode(dst, h.Sum(sum[:0])), true })
		}
		return w.finish()
	}
	return b, nil
}

func hexDigestOf(newHash func() hash.Hash, l *expr.Literal) any {
	s, ok := libConstString(l)
	if !ok {
		return nil
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// sha2Hash returns the SHA-2 constructor for a bit length, nil if Spark
// does not support it.
func sha2Hash(bits int64) func() hash.Hash {
	switch bits {
	case 0, 256:
		return sha256.New
	case 224:
		return sha256.New224
	case 384:
		return sha512.New384
	case 512:
		return sha512.New
	}
	return nil
}

func bindCRC32(args []expr.Arg) (*expr.Binding, error) {
	cast, err := libDigestInput("crc32", args[0])
	if err != nil {
		return nil, err
	}
	b := &expr.Binding{Type: expr.Int64, Nullable: args[0].Nullable, Cast: []arrow.DataType{cast}}
	if libNullConst(args[0]) {
		b.Kernel = nullKernel(expr.Int64)
		return b, nil
	}
	b.Kernel = func(ec *expr.EvalContext, a []arrow.Array, n int) (arrow.Array, error) {
		return mapStringToFixed(ec.Mem, expr.Int64, a[0], func(s []byte) (int64, bool) {
			return int64(crc32.ChecksumIEEE(s)), true
		}), nil
	}
	return b, nil
}
