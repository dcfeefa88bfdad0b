package crdt

import (
	"iter"
	"maps"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// A TwoPSet is a two-phase set: an element can be added, then removed, and
// once removed it can never come back, at any replica. It is a pair of
// grow-only sets, the added A and the removed R (the tombstones), and an
// element is present when it is in A and not in R. Concurrent add and
// remove of one element resolve to removed. Use it when identities are
// never reused (order IDs, session tokens); when an element must be able
// to return, use an [ORSet].
//
// Like [GSet], its mutators take no ReplicaID: two unions need no
// identity.
//
// Removing an element that was never added still records the removal,
// and an Add of it later, here or anywhere, has no effect: a replica
// cannot tell "never added" from "added somewhere it has not heard of
// yet", and the tombstone must win over that add too. Tombstones are
// never collected, so R grows with every element ever removed.
//
// The zero TwoPSet is empty and ready to use. A TwoPSet is not safe for
// concurrent use; a copied TwoPSet value shares its elements with the
// original, so use [TwoPSet.Clone]. Add, Remove and Contains cost O(1),
// Merge O(m) for m elements in the other set. E must encode as [GSet]
// requires.
type TwoPSet[E comparable] struct {
	// Invariant: added and removed are disjoint. The state (A, R) is
	// stored as (A \ R, R). That map is a congruence of the lattice of
	// pairs of sets: (A1∪A2) \ (R1∪R2) = ((A1\R1) ∪ (A2\R2)) \ (R1∪R2),
	// so merging normalized states and normalizing gives the normalized
	// merge, and nothing observable (Contains is a ∈ A \ R) changes.
	// What it buys: states that answer every query alike are Equal and
	// encode to the same bytes, and a removed element costs one entry.
	added, removed elemSet[E]
	edits          uint64 // see Edits
}

var (
	_ msgpack.CustomEncoder = (*TwoPSet[string])(nil)
	_ msgpack.CustomDecoder = (*TwoPSet[string])(nil)
)

// Add adds e to s, unless e was removed, and returns the delta: a TwoPSet
// holding e as s now holds it. That is e added, or, if e was removed
// before, e removed — so the delta never shows e, even for a moment, at a
// replica that has not yet heard of the removal. The complexity is O(1);
// Add allocates only the delta, and nothing when it is not used.
func (s *TwoPSet[E]) Add(e E) *TwoPSet[E] {
	s.edits++
	if _, dead := s.removed[e]; dead {
		return &TwoPSet[E]{removed: elemSet[E]{e: {}}, edits: 1}
	}
	s.added.add(e)
	return &TwoPSet[E]{added: elemSet[E]{e: {}}, edits: 1}
}

// Remove removes e from s for good and returns the delta: a TwoPSet
// holding e removed. It records the removal whether or not e was added.
// The complexity is O(1); Remove allocates only the delta, and nothing
// when it is not used.
func (s *TwoPSet[E]) Remove(e E) *TwoPSet[E] {
	s.remove(e)
	s.edits++
	return &TwoPSet[E]{removed: elemSet[E]{e: {}}, edits: 1}
}

func (s *TwoPSet[E]) remove(e E) {
	delete(s.added, e)
	s.removed.add(e)
}

// Contains reports whether e is in s: added and not removed. The
// complexity is O(1).
func (s *TwoPSet[E]) Contains(e E) bool {
	_, ok := s.added[e]
	return ok
}

// Len returns the number of elements in s, not counting removed ones. The
// complexity is O(1).
func (s *TwoPSet[E]) Len() int { return len(s.added) }

// All returns the elements in s, not the removed ones, in canonical order:
// ascending by their encoded bytes, which for strings is by length, then
// bytewise. It sorts a snapshot taken when iteration starts, so it costs
// O(n log n) and allocates O(n) each time.
func (s *TwoPSet[E]) All() iter.Seq[E] {
	return func(yield func(E) bool) {
		for _, e := range s.added.sorted(kindOf[E]()) {
			if !yield(e) {
				return
			}
		}
	}
}

// Merge sets s to the join of s and o: the union of the added sets and of
// the removed sets, an element removed on either side staying removed. It
// is commutative, associative and idempotent, and costs O(m) for m
// elements in o.
func (s *TwoPSet[E]) Merge(o *TwoPSet[E]) {
	if s == o {
		return
	}
	s.edits += o.edits
	for e := range o.removed {
		s.remove(e)
	}
	for e := range o.added {
		if _, dead := s.removed[e]; !dead {
			s.added.add(e)
		}
	}
}

// Clone returns an independent copy of s. Elements are copied as Go
// values, shallowly. The complexity is O(n) in elements and tombstones.
func (s *TwoPSet[E]) Clone() *TwoPSet[E] {
	return &TwoPSet[E]{added: maps.Clone(s.added), removed: maps.Clone(s.removed), edits: s.edits}
}

// Equal reports whether s and o hold the same elements and the same
// removals.
func (s *TwoPSet[E]) Equal(o *TwoPSet[E]) bool {
	return s.added.equal(o.added) && s.removed.equal(o.removed)
}

// ValidateMerge always returns nil: elements are their own identities and
// both halves only grow, so every pair of TwoPSet states could come from
// correct replicas. It exists so that all types share the method.
func (s *TwoPSet[E]) ValidateMerge(o *TwoPSet[E]) error { return nil }

// String formats the elements in s, not the removed ones, in canonical
// order, like {a b c}.
func (s *TwoPSet[E]) String() string { return s.added.String() }

// AppendBinary appends the encoding of s: [1, 19, [added...], [removed...]],
// each array in canonical order, an element removed appearing in the
// second array only. It costs O(n log n).
func (s *TwoPSet[E]) AppendBinary(b []byte) ([]byte, error) {
	k := kindOf[E]()
	b = wire.AppendHeader(b, wire.KindTwoPSet, 2)
	return s.removed.appendTo(s.added.appendTo(b, k), k), nil
}

// MarshalBinary returns the canonical encoding of s: Equal sets give
// identical bytes.
func (s *TwoPSet[E]) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s with the set encoded in b. It accepts only the
// canonical encoding: each array in ascending order with no repeats, and
// no element in both. On error s is unchanged.
func (s *TwoPSet[E]) UnmarshalBinary(b []byte) error { return s.unmarshal(b, wire.Limits{}) }

func (s *TwoPSet[E]) unmarshal(b []byte, lim wire.Limits) error {
	var v TwoPSet[E]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(s, v, &r, "TwoPSet")
}

// readValue reads a top-level TwoPSet into s, which must be zero.
func (s *TwoPSet[E]) readValue(r *wire.Reader) {
	k := kindOf[E]()
	r.Header(wire.KindTwoPSet, 2)
	s.added = readElemSet[E](r, k, nil)
	s.removed = readElemSet(r, k, s.added)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (s *TwoPSet[E]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, s) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (s *TwoPSet[E]) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, s, "TwoPSet")
}
