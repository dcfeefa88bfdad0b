package crdt_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// The decoders promise that whatever they allocate is bounded by a small
// multiple of the input size (docs/wire-format.md, "Decoding limits"). The
// fuzz targets here hold them to allocPerByte bytes per input byte plus
// allocSlack, which covers fixed costs (an encoder taken from a pool,
// msgpack's type caches) and the runtime's own noise.
const (
	allocPerByte = 64
	allocSlack   = 64 << 10
)

// allocLimit is the most a decoder may allocate for an input of n bytes.
func allocLimit(n int) uint64 { return allocPerByte*uint64(n) + allocSlack }

// bytesAllocated returns the bytes the heap grew by, cumulatively, while f
// ran. runtime.ReadMemStats stops the world and flushes every P's cache,
// so the count is exact, but it includes whatever other goroutines
// allocated meanwhile.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkAllocBound runs decode, which decodes in, and fails t if it
// allocates more than allocLimit(len(in)). A run over the limit is
// repeated, and only the least of three counts is held against the
// decoder: another goroutine (the fuzzing engine's, a finalizer, the
// runtime's) may allocate during one run, but not during all of them, and
// decoding the same input allocates the same each time. decode must be
// safe to call several times.
func checkAllocBound(t *testing.T, in []byte, decode func()) {
	t.Helper()
	limit := allocLimit(len(in))
	least := ^uint64(0)
	for range 3 {
		n := bytesAllocated(decode)
		if n <= limit {
			return
		}
		least = min(least, n)
	}
	t.Fatalf("decoding %d bytes allocated %d bytes (least of 3 runs), want at most %d (%d per input byte + %d); input %x",
		len(in), least, limit, allocPerByte, allocSlack, in)
}

// checkCanonical checks the outcome of decoding in: an error must match
// ErrMalformed or ErrUnsupported, and an accepted value must re-encode to
// exactly in, since every decoder accepts only canonical input.
func checkCanonical(t *testing.T, in []byte, decoder string, v interface{ MarshalBinary() ([]byte, error) }, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
			t.Fatalf("%s(%x): got %v, want an error matching ErrMalformed or ErrUnsupported", decoder, in, err)
		}
		return
	}
	out, err := v.MarshalBinary()
	if err != nil {
		t.Fatalf("%s(%x): re-encoding the accepted value: %v", decoder, in, err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("%s accepted %x, which re-encodes as %x: got two encodings of one value, want one", decoder, in, out)
	}
}

// goldenVectors returns the bytes of every golden vector under
// ../testdata/golden (see golden_test.go at the repository root).
func goldenVectors(f *testing.F) [][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatal("no golden vectors under ../testdata/golden")
	}
	var out [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var file struct {
			Cases []struct {
				Name string `json:"name"`
				Hex  string `json:"hex"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(data, &file); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		for _, c := range file.Cases {
			b, err := hex.DecodeString(c.Hex)
			if err != nil {
				f.Fatalf("%s/%s: %v", p, c.Name, err)
			}
			out = append(out, b)
		}
	}
	return out
}

// FuzzDecode feeds crdt.Decode arbitrary input, seeded with every golden
// vector: it must not panic, must accept only canonical encodings, and must
// stay within the allocation bound.
func FuzzDecode(f *testing.F) {
	for _, b := range goldenVectors(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v any
		var err error
		checkAllocBound(t, in, func() { v, err = crdt.Decode(in) })
		var m interface{ MarshalBinary() ([]byte, error) }
		if err == nil {
			var ok bool
			if m, ok = v.(interface{ MarshalBinary() ([]byte, error) }); !ok {
				t.Fatalf("Decode(%x) returned a %T, which has no MarshalBinary", in, v)
			}
		}
		checkCanonical(t, in, "crdt.Decode", m, err)
	})
}

// goldenItem has the shape of the struct elements of the golden vectors.
type goldenItem struct {
	SKU string `msgpack:"sku"`
	Qty int    `msgpack:"qty"`
}

// A typedValue is a value of one of converge's encoded types.
type typedValue interface {
	UnmarshalBinary([]byte) error
	MarshalBinary() ([]byte, error)
}

// typedFor returns constructors of the typed values an input of kind k
// decodes into: for the generic types, one per element type the golden
// vectors use.
func typedFor(k crdt.Kind) []func() typedValue {
	switch k {
	case wire.KindTimestamp:
		return []func() typedValue{func() typedValue { return new(hlc.Timestamp) }}
	case wire.KindClock:
		return []func() typedValue{func() typedValue { return new(vclock.Clock) }}
	case wire.KindDot:
		return []func() typedValue{func() typedValue { return new(vclock.Dot) }}
	case wire.KindContext:
		return []func() typedValue{func() typedValue { return new(vclock.Context) }}
	case crdt.KindGCounter:
		return []func() typedValue{func() typedValue { return new(crdt.GCounter) }}
	case crdt.KindPNCounter:
		return []func() typedValue{func() typedValue { return new(crdt.PNCounter) }}
	case crdt.KindGSet:
		return []func() typedValue{
			func() typedValue { return new(crdt.GSet[string]) },
			func() typedValue { return new(crdt.GSet[int]) },
			func() typedValue { return new(crdt.GSet[goldenItem]) },
		}
	case crdt.KindTwoPSet:
		return []func() typedValue{
			func() typedValue { return new(crdt.TwoPSet[string]) },
			func() typedValue { return new(crdt.TwoPSet[int]) },
			func() typedValue { return new(crdt.TwoPSet[goldenItem]) },
		}
	case crdt.KindORSet:
		return []func() typedValue{
			func() typedValue { return new(crdt.ORSet[string]) },
			func() typedValue { return new(crdt.ORSet[int]) },
			func() typedValue { return new(crdt.ORSet[goldenItem]) },
		}
	case crdt.KindRWSet:
		return []func() typedValue{
			func() typedValue { return new(crdt.RWSet[string]) },
			func() typedValue { return new(crdt.RWSet[int]) },
			func() typedValue { return new(crdt.RWSet[goldenItem]) },
		}
	case crdt.KindLWWRegister:
		return []func() typedValue{
			func() typedValue { return new(crdt.LWWRegister[string]) },
			func() typedValue { return new(crdt.LWWRegister[int]) },
			func() typedValue { return new(crdt.LWWRegister[goldenItem]) },
		}
	case crdt.KindMVRegister:
		return []func() typedValue{
			func() typedValue { return new(crdt.MVRegister[string]) },
			func() typedValue { return new(crdt.MVRegister[int]) },
			func() typedValue { return new(crdt.MVRegister[goldenItem]) },
		}
	case crdt.KindEWFlag:
		return []func() typedValue{func() typedValue { return new(crdt.EWFlag) }}
	case crdt.KindDWFlag:
		return []func() typedValue{func() typedValue { return new(crdt.DWFlag) }}
	}
	return nil
}

// FuzzGoldenTyped gives the typed decoders the golden vectors as seeds:
// it reads the kind of each input with PeekKind and decodes it with the
// UnmarshalBinary of every matching type, with the checks of FuzzDecode.
func FuzzGoldenTyped(f *testing.F) {
	for _, b := range goldenVectors(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := crdt.PeekKind(in)
		if err != nil {
			if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
				t.Fatalf("PeekKind(%x): got %v, want an error matching ErrMalformed or ErrUnsupported", in, err)
			}
			return
		}
		for _, newValue := range typedFor(k) {
			var v typedValue
			var err error
			checkAllocBound(t, in, func() {
				v = newValue()
				err = v.UnmarshalBinary(in)
			})
			checkCanonical(t, in, typeName(v)+".UnmarshalBinary", v, err)
		}
	})
}

// typeName returns the Go type of v without the pointer.
func typeName(v any) string { return strings.TrimPrefix(fmt.Sprintf("%T", v), "*") }
