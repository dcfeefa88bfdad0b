package crdt

import (
	"bytes"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// A GSet is a grow-only set: elements are added and never removed, and
// Merge is set union. It is the simplest set CRDT and the right one when
// removal is not needed (tags seen, users who ever signed up, feature
// flags turned on once).
//
// Unlike most mutators in this package, [GSet.Add] takes no ReplicaID: a
// union is the same whoever adds, so an identity would be an unused
// argument. [TwoPSet] makes the same choice.
//
// The zero GSet is empty and ready to use. A GSet is not safe for
// concurrent use; a copied GSet value shares its elements with the
// original, so use [GSet.Clone]. Elements live in a Go map: Add and
// Contains cost O(1), Merge O(m) for m elements in the other set.
//
// Elements are written with the package's element codec (see
// [GSet.AppendBinary]) and ordered by their encodings. E must encode
// distinct values to distinct bytes and equal values to equal bytes:
// strings, integers, booleans and structs of them work; a struct with
// unexported fields that tell values apart, or floating-point fields
// (NaN, -0), does not.
type GSet[E comparable] struct {
	m     elemSet[E]
	edits uint64 // see Edits
}

var (
	_ msgpack.CustomEncoder = (*GSet[string])(nil)
	_ msgpack.CustomDecoder = (*GSet[string])(nil)
)

// Add adds e to s and returns the delta: a GSet holding e alone, whether
// or not s held e already (re-sending an element is harmless). The
// complexity is O(1). Add allocates only the delta, and nothing when the
// delta is not used (Add is small enough to be inlined).
func (s *GSet[E]) Add(e E) *GSet[E] {
	s.m.add(e)
	s.edits++
	return &GSet[E]{m: elemSet[E]{e: {}}, edits: 1}
}

// Contains reports whether e is in s. The complexity is O(1).
func (s *GSet[E]) Contains(e E) bool {
	_, ok := s.m[e]
	return ok
}

// Len returns the number of elements in s. The complexity is O(1).
func (s *GSet[E]) Len() int { return len(s.m) }

// All returns the elements of s in canonical order: ascending by their
// encoded bytes, which for strings is by length, then bytewise. It sorts a
// snapshot taken when iteration starts, so it costs O(n log n) and
// allocates O(n) each time; s may be modified during the iteration, which
// sees the snapshot. To test membership use [GSet.Contains].
func (s *GSet[E]) All() iter.Seq[E] {
	return func(yield func(E) bool) {
		for _, e := range s.m.sorted(kindOf[E]()) {
			if !yield(e) {
				return
			}
		}
	}
}

// Merge sets s to the union of s and o. It is commutative, associative and
// idempotent, costs O(m) for m elements in o, and allocates only when o
// holds elements s lacks.
func (s *GSet[E]) Merge(o *GSet[E]) {
	if s != o {
		s.m.union(o.m)
		s.edits += o.edits
	}
}

// Clone returns an independent copy of s. Elements are copied as Go
// values, shallowly. The complexity is O(n).
func (s *GSet[E]) Clone() *GSet[E] { return &GSet[E]{m: maps.Clone(s.m), edits: s.edits} }

// Equal reports whether s and o hold the same elements. The complexity is
// O(n).
func (s *GSet[E]) Equal(o *GSet[E]) bool { return s.m.equal(o.m) }

// ValidateMerge always returns nil: a grow-only set records no event twice
// (an element is its own identity), so every pair of GSet states could
// come from correct replicas. It exists so that all types share the
// method.
func (s *GSet[E]) ValidateMerge(o *GSet[E]) error { return nil }

// String formats s as its elements in canonical order, like {a b c}.
func (s *GSet[E]) String() string { return s.m.String() }

// AppendBinary appends the encoding of s: [1, 18, [e1, e2, ...]], the
// elements in canonical order. It costs O(n log n).
func (s *GSet[E]) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindGSet, 1)
	return s.m.appendTo(b, kindOf[E]()), nil
}

// MarshalBinary returns the canonical encoding of s: sets with the same
// elements give identical bytes.
func (s *GSet[E]) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s with the set encoded in b. It accepts only
// the canonical encoding: elements in their shortest form, in ascending
// order, none repeated. On error s is unchanged.
func (s *GSet[E]) UnmarshalBinary(b []byte) error { return s.unmarshal(b, wire.Limits{}) }

func (s *GSet[E]) unmarshal(b []byte, lim wire.Limits) error {
	var v GSet[E]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(s, v, &r, "GSet")
}

// readValue reads a top-level GSet into s, which must be zero.
func (s *GSet[E]) readValue(r *wire.Reader) {
	r.Header(wire.KindGSet, 1)
	s.m = readElemSet[E](r, kindOf[E](), nil)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (s *GSet[E]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, s) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (s *GSet[E]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, s, "GSet") }

// An elemSet is the element store of GSet and TwoPSet. A nil elemSet is
// empty; add makes the map on first use.
type elemSet[E comparable] map[E]struct{}

func (m *elemSet[E]) add(e E) {
	if *m == nil {
		*m = make(elemSet[E])
	}
	(*m)[e] = struct{}{}
}

// union adds o's elements to m.
func (m *elemSet[E]) union(o elemSet[E]) {
	for e := range o {
		m.add(e)
	}
}

func (m elemSet[E]) equal(o elemSet[E]) bool {
	if len(m) != len(o) {
		return false
	}
	for e := range m {
		if _, ok := o[e]; !ok {
			return false
		}
	}
	return true
}

// sorted returns m's elements in canonical order.
func (m elemSet[E]) sorted(k elemKind) []E {
	es := make([]E, 0, len(m))
	for e := range m {
		es = append(es, e)
	}
	sortElems(k, es)
	return es
}

func (m elemSet[E]) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range m.sorted(kindOf[E]()) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprint(&sb, e)
	}
	sb.WriteByte('}')
	return sb.String()
}

// appendTo appends m as an array of elements in canonical order.
func (m elemSet[E]) appendTo(b []byte, k elemKind) []byte {
	b = wire.AppendArrayLen(b, len(m))
	if k == elemString {
		// Sorting strings needs no encoding (compareEncoded): sort, then
		// write each once.
		for _, e := range m.sorted(k) {
			b = appendElem(b, k, e)
		}
		return b
	}
	// Encode each element once into one buffer and sort the encodings,
	// rather than encoding twice (once to sort, once to write).
	type span struct{ lo, hi int }
	var buf []byte
	spans := make([]span, 0, len(m))
	for e := range m {
		lo := len(buf)
		buf = appendElem(buf, k, e)
		spans = append(spans, span{lo, len(buf)})
	}
	slices.SortFunc(spans, func(x, y span) int { return bytes.Compare(buf[x.lo:x.hi], buf[y.lo:y.hi]) })
	for _, sp := range spans {
		b = append(b, buf[sp.lo:sp.hi]...)
	}
	return b
}

// readElemSet reads an array of elements written by appendTo. It fails
// unless they are in strictly ascending canonical order, which rules out
// repeats, or if one of them is in disjoint (which may be nil). A claimed
// length is at most the bytes left (wire.Reader checks it), one byte per
// element, but an element of a large type takes far more than a byte in a
// map: the map is sized ahead only as far as the Reader's allowance goes,
// and grows past that as elements arrive.
func readElemSet[E comparable](r *wire.Reader, k elemKind, disjoint elemSet[E]) elemSet[E] {
	n := r.ArrayLen()
	if n == 0 || r.Failed() {
		return nil
	}
	m := make(elemSet[E], r.Presize(n, mapEntryBytes[E, struct{}]()))
	var prev []byte
	for i := 0; i < n; i++ {
		at := r.Offset()
		e, raw := readKey[E](r, k)
		if r.Failed() {
			return nil
		}
		// raw is the canonical encoding, whose byte order is the canonical
		// order (compareEncoded), so comparing bytes checks both order and
		// uniqueness.
		if i > 0 && bytes.Compare(prev, raw) >= 0 {
			r.FailAt(at, "elements out of order or repeated")
			return nil
		}
		if _, ok := disjoint[e]; ok {
			r.FailAt(at, "element in both the added and the removed set")
			return nil
		}
		prev = raw
		m[e] = struct{}{}
	}
	return m
}
