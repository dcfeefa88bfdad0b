package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// The element pools are small so that replicas add (and remove) the same
// elements concurrently. They cover every encoding class: strings of each
// header size, integers of each width and sign, and a struct, which goes
// through the msgpack fallback of the element codec.
var (
	setStrings = []string{"", "a", "b", "ab", "zz", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 300)}
	setSKUs    = []sku{-40000, -200, -33, -1, 0, 1, 127, 128, 255, 256, 70000}
	setPoints  = []point{{}, {X: 1}, {Y: 1}, {X: -1, Y: 2}, {X: 300, Y: -300}}
)

// sku is a named integer type: it takes the integer fast path.
type sku int32

// point is a struct: it takes the msgpack fallback path.
type point struct {
	X, Y int
}

func TestGSet(t *testing.T)        { checkGSet(t, setStrings) }
func TestGSetInteger(t *testing.T) { checkGSet(t, setSKUs) }
func TestGSetStruct(t *testing.T) {
	t.Parallel()
	checkGSet(t, setPoints)
}

func checkGSet[E comparable](t *testing.T, pool []E) {
	crdttest.Check(t, crdttest.Spec[*crdt.GSet[E]]{
		New: func() *crdt.GSet[E] { return new(crdt.GSet[E]) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.GSet[E]] {
			e := rapid.SampledFrom(pool).Draw(t, "e")
			return crdttest.Op[*crdt.GSet[E]]{
				Name: fmt.Sprintf("add %v", e), Arg: e,
				Apply: func(_ *crdttest.Replica, s *crdt.GSet[E]) *crdt.GSet[E] { return s.Add(e) },
			}
		}),
		Invariant: func(t *rapid.T, s *crdt.GSet[E]) {
			checkSetView(t, s.All(), s.Len(), s.Contains, gsetKey[E])
		},
		Model: func(t *rapid.T, h *crdttest.History[*crdt.GSet[E]], final *crdt.GSet[E]) {
			want := map[E]bool{}
			for _, e := range h.Events {
				want[e.Op.Arg.(E)] = true
			}
			checkSetModel(t, pool, want, final.All(), final.Contains)
		},
	})
}

// checkSetView checks that All lists Len elements, each Contained, in
// strictly ascending canonical order (by key, the encoding of a singleton
// set, which differs from another singleton's only in the element).
func checkSetView[E comparable](t *rapid.T, all func(func(E) bool), n int, contains func(E) bool, key func(E) []byte) {
	t.Helper()
	var prev []byte
	count := 0
	for e := range all {
		count++
		if !contains(e) {
			t.Fatalf("All lists %v, but Contains(%v) = false", e, e)
		}
		k := key(e)
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("All lists %v after an element that does not sort before it", e)
		}
		prev = k
	}
	if count != n {
		t.Fatalf("All lists %d elements, Len() = %d", count, n)
	}
}

// checkSetModel checks that the set listed by all, and answered by
// contains, is want.
func checkSetModel[E comparable](t *rapid.T, pool []E, want map[E]bool, all func(func(E) bool), contains func(E) bool) {
	t.Helper()
	got := map[E]bool{}
	for e := range all {
		got[e] = true
	}
	if len(got) != len(want) {
		t.Fatalf("got %d elements %v, want %d %v", len(got), got, len(want), want)
	}
	for _, e := range pool {
		if got[e] != want[e] || contains(e) != want[e] {
			t.Fatalf("element %v: got listed %t, Contains %t, want %t", e, got[e], contains(e), want[e])
		}
	}
}

func gsetKey[E comparable](e E) []byte {
	b, err := new(crdt.GSet[E]).Add(e).MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

func TestGSetCanonicalOrder(t *testing.T) {
	var s crdt.GSet[string]
	for _, e := range []string{"bb", "c", strings.Repeat("a", 32), "a", ""} {
		s.Add(e)
	}
	want := []string{"", "a", "c", "bb", strings.Repeat("a", 32)} // by length, then bytes
	if got := slices.Collect(s.All()); !slices.Equal(got, want) {
		t.Errorf("All() = %q, want %q", got, want)
	}

	var n crdt.GSet[int]
	for _, e := range []int{-1, 1000, -100, 200, 1, 0} {
		n.Add(e)
	}
	// Encodings: 0x00, 0x01, 0xcc c8, 0xcd 03e8, 0xd0 9c, 0xff.
	wantN := []int{0, 1, 200, 1000, -100, -1}
	if got := slices.Collect(n.All()); !slices.Equal(got, wantN) {
		t.Errorf("All() = %v, want %v", got, wantN)
	}
	b, _ := n.MarshalBinary()
	if want := []byte{0x93, 1, 18, 0x96, 0x00, 0x01, 0xcc, 0xc8, 0xcd, 0x03, 0xe8, 0xd0, 0x9c, 0xff}; !bytes.Equal(b, want) {
		t.Errorf("MarshalBinary() = %x, want %x", b, want)
	}
}

func TestGSetZeroValue(t *testing.T) {
	var s crdt.GSet[string]
	if s.Len() != 0 || s.Contains("a") || s.String() != "{}" {
		t.Fatalf("zero GSet: Len %d, Contains(a) %t, String %q; want 0, false, {}", s.Len(), s.Contains("a"), s.String())
	}
	var o crdt.GSet[string]
	s.Merge(&o)
	if !s.Equal(&o) || !s.Equal(s.Clone()) {
		t.Fatalf("zero GSets not Equal")
	}
	b, _ := s.MarshalBinary()
	if want := []byte{0x93, 1, 18, 0x90}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary() = %x, want %x", b, want)
	}
}

func TestGSetAddDelta(t *testing.T) {
	var s crdt.GSet[string]
	s.Add("a")
	s.Add("b")
	for _, e := range []string{"c", "a"} { // new, and already present
		d := s.Add(e)
		if got := slices.Collect(d.All()); !slices.Equal(got, []string{e}) {
			t.Errorf("Add(%q) delta = %q, want [%q]", e, got, e)
		}
	}
	if got := s.String(); got != "{a b c}" {
		t.Errorf("String() = %q, want %q", got, "{a b c}")
	}
}

func TestGSetMergeDoesNotAlias(t *testing.T) {
	var a, b crdt.GSet[string]
	b.Add("x")
	a.Merge(&b)
	a.Add("y")
	if b.Contains("y") {
		t.Fatalf("adding to the merged set changed its argument")
	}
	c := a.Clone()
	c.Add("z")
	if a.Contains("z") {
		t.Fatalf("adding to a clone changed the original")
	}
}

func TestGSetMsgpackEmbedded(t *testing.T) {
	type doc struct {
		Tags *crdt.GSet[string]
		N    int
	}
	in := doc{Tags: new(crdt.GSet[string]), N: 7}
	in.Tags.Add("red")
	in.Tags.Add("blue")
	b, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatalf("msgpack.Marshal: %v", err)
	}
	var out doc
	if err := msgpack.Unmarshal(b, &out); err != nil {
		t.Fatalf("msgpack.Unmarshal: %v", err)
	}
	if out.N != 7 || !out.Tags.Equal(in.Tags) {
		t.Fatalf("got %v %d, want %v 7", out.Tags, out.N, in.Tags)
	}
}

// decodeCase is an input a decoder must reject, with the sentinel its
// error must match.
type decodeCase struct {
	name string
	in   []byte
	want error // crdt.ErrMalformed or crdt.ErrUnsupported
}

// binaryState is what the decoder-rejection helper needs of a type.
type binaryState[T any] interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
	Equal(T) bool
	Clone() T
}

// checkRejects decodes every case into a copy of keep and checks the error
// and that the receiver did not change, through UnmarshalBinary and, if
// viaMsgpack, msgpack.Unmarshal too. (msgpack.Unmarshal itself reads a nil
// as the zero value without calling the hook, and ignores trailing bytes.)
func checkRejects[T binaryState[T]](t *testing.T, keep T, viaMsgpack bool, cases []decodeCase) {
	t.Helper()
	before, _ := keep.MarshalBinary()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []string{"UnmarshalBinary", "msgpack"} {
				if via == "msgpack" && !viaMsgpack {
					continue
				}
				x := keep.Clone()
				var err error
				if via == "msgpack" {
					err = msgpack.Unmarshal(tc.in, x)
				} else {
					err = x.UnmarshalBinary(tc.in)
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s(%x): got error %v, want one matching %v", via, tc.in, err, tc.want)
				}
				if !strings.HasPrefix(err.Error(), "crdt: ") {
					t.Errorf("%s(%x): got error %q, want the prefix \"crdt: \"", via, tc.in, err)
				}
				after, _ := x.MarshalBinary()
				if !x.Equal(keep) || !bytes.Equal(after, before) {
					t.Fatalf("%s(%x) failed but changed the receiver: got %x, want %x", via, tc.in, after, before)
				}
			}
		})
	}
}

func TestGSetUnmarshalRejects(t *testing.T) {
	keep := new(crdt.GSet[string])
	keep.Add("keep")
	checkRejects(t, keep, false, []decodeCase{
		{"nil", []byte{0xc0}, crdt.ErrMalformed},
		{"trailing byte", []byte{0x93, 1, 18, 0x90, 0x00}, crdt.ErrMalformed},
	})
	checkRejects(t, keep, true, []decodeCase{
		{"empty input", nil, crdt.ErrMalformed},
		{"not an array", []byte{0xa1, 'a'}, crdt.ErrMalformed},
		{"out of order", []byte{0x93, 1, 18, 0x92, 0xa1, 'b', 0xa1, 'a'}, crdt.ErrMalformed},
		{"out of order by length", []byte{0x93, 1, 18, 0x92, 0xa2, 'b', 'b', 0xa1, 'c'}, crdt.ErrMalformed},
		{"duplicate", []byte{0x93, 1, 18, 0x92, 0xa1, 'a', 0xa1, 'a'}, crdt.ErrMalformed},
		{"duplicate empty string", []byte{0x93, 1, 18, 0x92, 0xa0, 0xa0}, crdt.ErrMalformed},
		{"wrong kind", []byte{0x93, 1, 16, 0x80}, crdt.ErrMalformed},
		{"TwoPSet", []byte{0x94, 1, 19, 0x90, 0x90}, crdt.ErrMalformed},
		{"unknown kind", []byte{0x93, 1, 0x7f, 0x90}, crdt.ErrUnsupported},
		{"unknown version", []byte{0x93, 2, 18, 0x90}, crdt.ErrUnsupported},
		{"no fields", []byte{0x92, 1, 18}, crdt.ErrMalformed},
		{"two fields", []byte{0x94, 1, 18, 0x90, 0x90}, crdt.ErrMalformed},
		{"truncated element", []byte{0x93, 1, 18, 0x91, 0xa2, 'a'}, crdt.ErrMalformed},
		{"truncated array", []byte{0x93, 1, 18, 0x92, 0xa1, 'a'}, crdt.ErrMalformed},
		{"truncated header", []byte{0x93, 1}, crdt.ErrMalformed},
		{"claims 2^32-1 elements", []byte{0x93, 1, 18, 0xdd, 0xff, 0xff, 0xff, 0xff}, crdt.ErrMalformed},
		{"element not a string", []byte{0x93, 1, 18, 0x91, 0x01}, crdt.ErrMalformed},
		{"long string header", []byte{0x93, 1, 18, 0x91, 0xd9, 0x01, 'a'}, crdt.ErrMalformed},
		{"long array header", []byte{0x93, 1, 18, 0xdc, 0x00, 0x01, 0xa1, 'a'}, crdt.ErrMalformed},
		{"long top-level header", []byte{0xdc, 0x00, 0x03, 1, 18, 0x90}, crdt.ErrMalformed},
		{"long version", []byte{0x93, 0xcc, 1, 18, 0x90}, crdt.ErrMalformed},
		{"long kind", []byte{0x93, 1, 0xcc, 18, 0x90}, crdt.ErrMalformed},
	})
}

func TestGSetIntegerUnmarshalRejects(t *testing.T) {
	keep := new(crdt.GSet[int8])
	keep.Add(-3)
	checkRejects(t, keep, true, []decodeCase{
		{"long integer", []byte{0x93, 1, 18, 0x91, 0xd0, 0x05}, crdt.ErrMalformed},
		{"same-length integer", []byte{0x93, 1, 18, 0x91, 0xcc, 0x05}, crdt.ErrMalformed},
		{"out of range", []byte{0x93, 1, 18, 0x91, 0xcc, 0xc8}, crdt.ErrMalformed},
		{"out of order", []byte{0x93, 1, 18, 0x92, 0xff, 0x00}, crdt.ErrMalformed},
		{"duplicate", []byte{0x93, 1, 18, 0x92, 0x05, 0x05}, crdt.ErrMalformed},
		{"not an integer", []byte{0x93, 1, 18, 0x91, 0xa1, 'a'}, crdt.ErrMalformed},
	})
}

func TestGSetStructUnmarshalRejects(t *testing.T) {
	keep := new(crdt.GSet[point])
	keep.Add(point{X: 1})
	// A point encodes as {"X": x, "Y": y}: 82 a1 58 x a1 59 y.
	p := func(x, y byte) []byte { return []byte{0x82, 0xa1, 'X', x, 0xa1, 'Y', y} }
	set := func(es ...[]byte) []byte {
		b := []byte{0x93, 1, 18, 0x90 | byte(len(es))}
		return append(b, bytes.Join(es, nil)...)
	}
	checkRejects(t, keep, true, []decodeCase{
		{"out of order", set(p(2, 0), p(1, 0)), crdt.ErrMalformed},
		{"duplicate", set(p(1, 0), p(1, 0)), crdt.ErrMalformed},
		{"fields swapped", set([]byte{0x82, 0xa1, 'Y', 0, 0xa1, 'X', 1}), crdt.ErrMalformed},
		{"field missing", set([]byte{0x81, 0xa1, 'X', 1}), crdt.ErrMalformed},
		{"unknown field", set([]byte{0x83, 0xa1, 'X', 1, 0xa1, 'Y', 0, 0xa1, 'Z', 0}), crdt.ErrMalformed},
		{"not a map", set([]byte{0x01}), crdt.ErrMalformed},
		{"deep nesting", set(bytes.Repeat([]byte{0x91}, 100)), crdt.ErrMalformed},
	})
	// And a canonical one is accepted.
	var s crdt.GSet[point]
	if err := s.UnmarshalBinary(set(p(0, 0), p(1, 0))); err != nil {
		t.Fatalf("UnmarshalBinary(canonical points): %v", err)
	}
	if got := slices.Collect(s.All()); !slices.Equal(got, []point{{}, {X: 1}}) {
		t.Fatalf("got %v, want [{0 0} {1 0}]", got)
	}
}

// fuzzCanonical is the body of the decoder fuzz targets: whatever the
// input, decoding must not panic, and an accepted input must be the
// canonical encoding of what it decoded to.
func fuzzCanonical[T binaryState[T]](t *testing.T, x T, in []byte) {
	if err := x.UnmarshalBinary(in); err != nil {
		if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
			t.Fatalf("UnmarshalBinary(%x): got error %v, want ErrMalformed or ErrUnsupported", in, err)
		}
		return
	}
	out, err := x.MarshalBinary()
	if err != nil {
		t.Fatalf("re-encoding an accepted value: %v", err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("accepted non-canonical input %x; got re-encoding %x, want the input", in, out)
	}
}

func FuzzGSetUnmarshalBinary(f *testing.F) {
	add := func(b []byte, err error) { f.Add(b) }
	var s crdt.GSet[string]
	add(s.MarshalBinary())
	for _, e := range setStrings {
		s.Add(e)
	}
	add(s.MarshalBinary())
	var n crdt.GSet[sku]
	for _, e := range setSKUs {
		n.Add(e)
	}
	add(n.MarshalBinary())
	var p crdt.GSet[point]
	for _, e := range setPoints {
		p.Add(e)
	}
	add(p.MarshalBinary())
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzCanonical(t, new(crdt.GSet[string]), in)
		fuzzCanonical(t, new(crdt.GSet[sku]), in)
		fuzzCanonical(t, new(crdt.GSet[uint8]), in)
		fuzzCanonical(t, new(crdt.GSet[bool]), in)
		fuzzCanonical(t, new(crdt.GSet[point]), in)
	})
}

// benchKeys are the elements the benchmarks add and look up.
var benchKeys = func() []string {
	ks := make([]string, 4096)
	for i := range ks {
		ks[i] = "user-" + strconv.Itoa(i)
	}
	return ks
}()

func BenchmarkGSetAdd(b *testing.B) {
	b.ReportAllocs()
	var s crdt.GSet[string]
	for i := 0; i < b.N; i++ {
		s.Add(benchKeys[i%len(benchKeys)])
	}
}

// BenchmarkGSetAddBaselineMap is what BenchmarkGSetAdd costs over: an
// insert into a plain map.
func BenchmarkGSetAddBaselineMap(b *testing.B) {
	b.ReportAllocs()
	m := map[string]struct{}{}
	for i := 0; i < b.N; i++ {
		m[benchKeys[i%len(benchKeys)]] = struct{}{}
	}
}

func BenchmarkGSetContains(b *testing.B) {
	b.ReportAllocs()
	var s crdt.GSet[string]
	for _, k := range benchKeys[:len(benchKeys)/2] {
		s.Add(k)
	}
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		if s.Contains(benchKeys[i%len(benchKeys)]) {
			hits++
		}
	}
	if hits == 0 && b.N >= len(benchKeys) {
		b.Fatal("got no hits, want half")
	}
}

// BenchmarkGSetContainsBaselineMap is what BenchmarkGSetContains costs
// over: a lookup in a plain map.
func BenchmarkGSetContainsBaselineMap(b *testing.B) {
	b.ReportAllocs()
	m := map[string]struct{}{}
	for _, k := range benchKeys[:len(benchKeys)/2] {
		m[k] = struct{}{}
	}
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		if _, ok := m[benchKeys[i%len(benchKeys)]]; ok {
			hits++
		}
	}
	if hits == 0 && b.N >= len(benchKeys) {
		b.Fatal("got no hits, want half")
	}
}
