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

// A List writes runs of elements as their length, so its decoder is
// bounded by the elements it counts against MaxElements rather than by
// bytes alone (docs/wire-format.md, "Decoding limits"): the fuzz targets
// decode Lists, and ORMaps whose values hold Lists, with listMaxElements
// and allow listElemBytes for each on top of allocLimit.
const (
	listMaxElements = 4096
	listElemBytes   = 128
)

// decodeOptions returns the options to decode in with, into a value such
// as v (nil: whatever the kind says), and the extra allocation they allow.
func decodeOptions(in []byte, v any) (crdt.DecodeOptions, uint64) {
	k, err := crdt.PeekKind(in)
	if err == nil && k == crdt.KindList || holdsLists(v) {
		return crdt.DecodeOptions{MaxElements: listMaxElements}, listMaxElements * listElemBytes
	}
	return crdt.DefaultDecodeOptions(), 0
}

// holdsLists reports whether v is an ORMap whose values hold Lists.
func holdsLists(v any) bool {
	switch v.(type) {
	case *crdt.ORMap[string, *crdt.List[string]], *crdt.ORMap[string, *crdt.ORMap[string, *crdt.List[string]]]:
		return true
	}
	return false
}

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
// allocates more than allocLimit(len(in)) plus extra. A run over the limit is
// repeated, and only the least of three counts is held against the
// decoder: another goroutine (the fuzzing engine's, a finalizer, the
// runtime's) may allocate during one run, but not during all of them, and
// decoding the same input allocates the same each time. decode must be
// safe to call several times.
func checkAllocBound(t *testing.T, in []byte, extra uint64, decode func()) {
	t.Helper()
	limit := allocLimit(len(in)) + extra
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

// A goldenVector is one case of the golden files under ../testdata/golden
// (see golden_test.go at the repository root).
type goldenVector struct {
	name string // file/case
	kind crdt.Kind
	typ  string // the Go type the bytes decode to, a key of goldenTypes
	b    []byte
}

// goldenVectors returns every golden vector.
func goldenVectors(f *testing.F) []goldenVector {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatal("no golden vectors under ../testdata/golden")
	}
	var out []goldenVector
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var file struct {
			Tag   int `json:"tag"`
			Cases []struct {
				Name string `json:"name"`
				Type string `json:"type"`
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
			out = append(out, goldenVector{filepath.Base(p) + "/" + c.Name, crdt.Kind(file.Tag), c.Type, b})
		}
	}
	return out
}

// allocSeeds are small versions of the inputs of the allocation
// regressions (regression_test.go): values of type any made of many maps,
// claims of many large elements, claims at every level of nested ORMaps,
// elements msgpack decodes into more than their bytes. They are a few KiB
// each, small enough for the fuzzer to mutate and minimize quickly.
func allocSeeds(tb testing.TB) [][]byte {
	cases := anyMapCases(1500)
	cases = append(cases, claimCases(tb, 1500)...)
	cases = append(cases, nestedORMapCase(1500))
	cases = append(cases, msgpackElemCases(tb, 1500)...)
	var out [][]byte
	for _, c := range cases {
		out = append(out, c.in)
	}
	return out
}

// FuzzDecode feeds crdt.Decode arbitrary input, seeded with every golden
// vector and the allocation seeds: it must not panic, must accept only
// canonical encodings, and must stay within the allocation bound.
func FuzzDecode(f *testing.F) {
	for _, vec := range goldenVectors(f) {
		f.Add(vec.b)
	}
	for _, in := range allocSeeds(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v any
		var err error
		opts, extra := decodeOptions(in, nil)
		checkAllocBound(t, in, extra, func() { v, err = opts.Decode(in) })
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

// goldenItem has the shape of the struct elements of the golden vectors,
// which golden_test.go names Item.
type goldenItem struct {
	SKU string `msgpack:"sku"`
	Qty int    `msgpack:"qty"`
}

// A typedValue is a value of one of converge's encoded types.
type typedValue interface {
	UnmarshalBinary([]byte) error
	MarshalBinary() ([]byte, error)
}

// goldenTypes maps the "type" of the golden vectors to a constructor of a
// zero value of that type. An ORMap's value type cannot be told from its
// bytes: the name is the only place that says it.
var goldenTypes = map[string]func() typedValue{
	"hlc.Timestamp":            func() typedValue { return new(hlc.Timestamp) },
	"vclock.Clock":             func() typedValue { return new(vclock.Clock) },
	"vclock.Dot":               func() typedValue { return new(vclock.Dot) },
	"vclock.Context":           func() typedValue { return new(vclock.Context) },
	"crdt.GCounter":            func() typedValue { return new(crdt.GCounter) },
	"crdt.PNCounter":           func() typedValue { return new(crdt.PNCounter) },
	"crdt.BCounter":            func() typedValue { return new(crdt.BCounter) },
	"crdt.GSet[string]":        func() typedValue { return new(crdt.GSet[string]) },
	"crdt.GSet[int]":           func() typedValue { return new(crdt.GSet[int]) },
	"crdt.GSet[Item]":          func() typedValue { return new(crdt.GSet[goldenItem]) },
	"crdt.TwoPSet[string]":     func() typedValue { return new(crdt.TwoPSet[string]) },
	"crdt.TwoPSet[int]":        func() typedValue { return new(crdt.TwoPSet[int]) },
	"crdt.TwoPSet[Item]":       func() typedValue { return new(crdt.TwoPSet[goldenItem]) },
	"crdt.ORSet[string]":       func() typedValue { return new(crdt.ORSet[string]) },
	"crdt.ORSet[int]":          func() typedValue { return new(crdt.ORSet[int]) },
	"crdt.ORSet[Item]":         func() typedValue { return new(crdt.ORSet[goldenItem]) },
	"crdt.RWSet[string]":       func() typedValue { return new(crdt.RWSet[string]) },
	"crdt.RWSet[int]":          func() typedValue { return new(crdt.RWSet[int]) },
	"crdt.RWSet[Item]":         func() typedValue { return new(crdt.RWSet[goldenItem]) },
	"crdt.LWWRegister[string]": func() typedValue { return new(crdt.LWWRegister[string]) },
	"crdt.LWWRegister[int]":    func() typedValue { return new(crdt.LWWRegister[int]) },
	"crdt.LWWRegister[Item]":   func() typedValue { return new(crdt.LWWRegister[goldenItem]) },
	"crdt.MVRegister[string]":  func() typedValue { return new(crdt.MVRegister[string]) },
	"crdt.MVRegister[int]":     func() typedValue { return new(crdt.MVRegister[int]) },
	"crdt.MVRegister[Item]":    func() typedValue { return new(crdt.MVRegister[goldenItem]) },
	"crdt.EWFlag":              func() typedValue { return new(crdt.EWFlag) },
	"crdt.DWFlag":              func() typedValue { return new(crdt.DWFlag) },
	"crdt.CCounter":            func() typedValue { return new(crdt.CCounter) },
	"crdt.List[string]":        func() typedValue { return new(crdt.List[string]) },
	"crdt.List[rune]":          func() typedValue { return new(crdt.List[rune]) },

	"crdt.LWWMap[string, string]": func() typedValue { return new(crdt.LWWMap[string, string]) },
	"crdt.LWWMap[int, string]":    func() typedValue { return new(crdt.LWWMap[int, string]) },
	"crdt.LWWMap[string, Item]":   func() typedValue { return new(crdt.LWWMap[string, goldenItem]) },

	"crdt.ORMap[string, *crdt.CCounter]":                      func() typedValue { return new(crdt.ORMap[string, *crdt.CCounter]) },
	"crdt.ORMap[string, *crdt.LWWRegister[string]]":           func() typedValue { return new(crdt.ORMap[string, *crdt.LWWRegister[string]]) },
	"crdt.ORMap[string, *crdt.MVRegister[string]]":            func() typedValue { return new(crdt.ORMap[string, *crdt.MVRegister[string]]) },
	"crdt.ORMap[string, *crdt.ORSet[string]]":                 func() typedValue { return new(crdt.ORMap[string, *crdt.ORSet[string]]) },
	"crdt.ORMap[string, *crdt.RWSet[string]]":                 func() typedValue { return new(crdt.ORMap[string, *crdt.RWSet[string]]) },
	"crdt.ORMap[string, *crdt.EWFlag]":                        func() typedValue { return new(crdt.ORMap[string, *crdt.EWFlag]) },
	"crdt.ORMap[string, *crdt.DWFlag]":                        func() typedValue { return new(crdt.ORMap[string, *crdt.DWFlag]) },
	"crdt.ORMap[string, *crdt.GCounter]":                      func() typedValue { return new(crdt.ORMap[string, *crdt.GCounter]) },
	"crdt.ORMap[string, *crdt.PNCounter]":                     func() typedValue { return new(crdt.ORMap[string, *crdt.PNCounter]) },
	"crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]": func() typedValue { return new(crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]) },
	"crdt.ORMap[string, *crdt.List[string]]":                  func() typedValue { return new(crdt.ORMap[string, *crdt.List[string]]) },
}

// goldenTypesByKind returns, for each kind of the golden vectors, the
// constructors of the types its vectors name, each once, in the order
// first named. It fails f on a type missing from goldenTypes.
func goldenTypesByKind(f *testing.F, vecs []goldenVector) map[crdt.Kind][]func() typedValue {
	out := map[crdt.Kind][]func() typedValue{}
	seen := map[string]bool{}
	for _, vec := range vecs {
		newValue, ok := goldenTypes[vec.typ]
		if !ok {
			f.Fatalf("%s: type %q is not in goldenTypes; add it", vec.name, vec.typ)
		}
		if seen[vec.typ] {
			continue
		}
		seen[vec.typ] = true
		if v := newValue(); v.UnmarshalBinary(vec.b) != nil {
			f.Fatalf("%s: does not decode as %s", vec.name, vec.typ)
		}
		out[vec.kind] = append(out[vec.kind], newValue)
	}
	return out
}

// FuzzGoldenTyped gives the typed decoders the golden vectors as seeds:
// it reads the kind of each input with PeekKind and decodes it with the
// UnmarshalBinary of every type the golden vectors of that kind name —
// for an ORMap, each value type of the vectors — with the checks of
// FuzzDecode.
func FuzzGoldenTyped(f *testing.F) {
	vecs := goldenVectors(f)
	for _, vec := range vecs {
		f.Add(vec.b)
	}
	for _, in := range allocSeeds(f) {
		f.Add(in)
	}
	typed := goldenTypesByKind(f, vecs)
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := crdt.PeekKind(in)
		if err != nil {
			if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
				t.Fatalf("PeekKind(%x): got %v, want an error matching ErrMalformed or ErrUnsupported", in, err)
			}
			return
		}
		for _, newValue := range typed[k] {
			var v typedValue
			var err error
			opts, extra := decodeOptions(in, newValue())
			checkAllocBound(t, in, extra, func() {
				v = newValue()
				if u, ok := v.(crdt.Unmarshaler); ok {
					err = opts.Unmarshal(in, u)
				} else {
					err = v.UnmarshalBinary(in)
				}
			})
			checkCanonical(t, in, typeName(v)+".UnmarshalBinary", v, err)
		}
	})
}

// typeName returns the Go type of v without the pointer.
func typeName(v any) string { return strings.TrimPrefix(fmt.Sprintf("%T", v), "*") }

// elementTypes maps each kind to constructors of values of that kind whose
// elements are of types no golden vector has: large structs, structs with
// skipped fields or a field of type any, slices of structs, typed maps,
// pointers. msgpack decodes them, each charged to the allowance first.
var elementTypes = map[crdt.Kind][]func() typedValue{
	crdt.KindGSet: {
		func() typedValue { return new(crdt.GSet[bigKey]) },
		func() typedValue { return new(crdt.GSet[skippedPads]) },
		func() typedValue { return new(crdt.GSet[anyField]) },
		func() typedValue { return new(crdt.GSet[[3]string]) },
	},
	crdt.KindTwoPSet: {
		func() typedValue { return new(crdt.TwoPSet[bigKey]) },
		func() typedValue { return new(crdt.TwoPSet[skippedPads]) },
	},
	crdt.KindORSet: {
		func() typedValue { return new(crdt.ORSet[hugeKey]) },
		func() typedValue { return new(crdt.ORSet[anyField]) },
	},
	crdt.KindRWSet: {
		func() typedValue { return new(crdt.RWSet[bigKey]) },
	},
	crdt.KindLWWRegister: {
		func() typedValue { return new(crdt.LWWRegister[[]bigKey]) },
		func() typedValue { return new(crdt.LWWRegister[[]map[string]string]) },
		func() typedValue { return new(crdt.LWWRegister[anyField]) },
		func() typedValue { return new(crdt.LWWRegister[map[string]any]) },
		func() typedValue { return new(crdt.LWWRegister[[]any]) },
		func() typedValue { return new(crdt.LWWRegister[*goldenItem]) },
	},
	crdt.KindMVRegister: {
		func() typedValue { return new(crdt.MVRegister[[]bigKey]) },
		func() typedValue { return new(crdt.MVRegister[anyField]) },
	},
	crdt.KindLWWMap: {
		func() typedValue { return new(crdt.LWWMap[bigKey, string]) },
		func() typedValue { return new(crdt.LWWMap[string, []bigKey]) },
		func() typedValue { return new(crdt.LWWMap[string, anyField]) },
	},
	crdt.KindORMap: {
		func() typedValue { return new(crdt.ORMap[bigKey, *crdt.CCounter]) },
		func() typedValue { return new(crdt.ORMap[string, *crdt.LWWRegister[[]bigKey]]) },
		func() typedValue { return new(crdt.ORMap[string, *crdt.MVRegister[anyField]]) },
	},
}

// elementSeeds returns valid encodings of values of elementTypes.
func elementSeeds(f *testing.F) [][]byte {
	var out [][]byte
	add := func(v interface{ MarshalBinary() ([]byte, error) }) {
		b, err := v.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	var bigs crdt.GSet[bigKey]
	bigs.Add(bigKey{})
	bigs.Add(bigKey{[16]int64{1, -2, 300}})
	add(&bigs)
	var pads crdt.TwoPSet[skippedPads]
	pads.Add(skippedPads{K: 1})
	pads.Remove(skippedPads{K: 2})
	add(&pads)
	var anys crdt.ORSet[anyField]
	anys.Add("a", anyField{"x"})
	anys.Add("b", anyField{int64(-70000)})
	add(&anys)
	var reg crdt.LWWRegister[anyField]
	reg.Set("a", anyField{map[string]any{"k": []any{nil, true, 1.5, "s", []byte{1}}}}, 5)
	add(&reg)
	var doc crdt.LWWRegister[map[string]any]
	doc.Set("a", map[string]any{"name": "ada", "tags": []any{"x", uint16(300)}}, 7)
	add(&doc)
	var slices crdt.MVRegister[[]bigKey]
	slices.Set("a", []bigKey{{}, {[16]int64{9}}})
	add(&slices)
	var m crdt.LWWMap[string, []bigKey]
	m.Set("w", "k", []bigKey{{}}, 3)
	add(&m)
	var om crdt.ORMap[bigKey, *crdt.CCounter]
	om.Update(bigKey{}, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("a", 2) })
	add(&om)
	return out
}

// FuzzElementTypes feeds arbitrary input to the typed decoders of
// elementTypes, seeded with encodings of such values and the allocation
// seeds, with the checks of FuzzDecode.
func FuzzElementTypes(f *testing.F) {
	for _, in := range elementSeeds(f) {
		f.Add(in)
	}
	for _, in := range allocSeeds(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := crdt.PeekKind(in)
		if err != nil {
			return
		}
		for _, newValue := range elementTypes[k] {
			var v typedValue
			var err error
			opts, extra := decodeOptions(in, newValue())
			checkAllocBound(t, in, extra, func() {
				v = newValue()
				if u, ok := v.(crdt.Unmarshaler); ok {
					err = opts.Unmarshal(in, u)
				} else {
					err = v.UnmarshalBinary(in)
				}
			})
			checkCanonical(t, in, typeName(v)+".UnmarshalBinary", v, err)
		}
	})
}
