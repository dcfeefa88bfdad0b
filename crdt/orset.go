package crdt

import (
	"iter"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An ORSet is an add-wins observed-remove set without tombstones.
//
// Each add tags the element with a new dot (an event id); a remove takes
// away the dots it has observed, and the causal context remembers them, so a
// removed element leaves no per-element metadata behind. An add concurrent
// with a remove of the same element survives, because the remove did not
// observe its dot; a remove takes away only the adds it observed.
//
// The zero ORSet is empty and ready to use. An ORSet is not safe for
// concurrent use; use [ORSet.Clone] rather than copying a value.
//
// # Cost
//
// Up to 8 elements live in a slice, more in a map whose value is one packed
// 8-byte dot per element, so a large set holds little more than a
// map[E]struct{}; after mass removals the map is rebuilt to follow the live
// elements down. Contains is one map lookup; Add a lookup, an insert and
// one allocation for the delta. Merging a delta costs O(size of the delta);
// merging a full state costs O(n+m).
//
// # Deltas
//
// Add and Remove return deltas: ORSets whose causal context speaks only for
// the elements they list ([ORSet.IsDelta]). That is what lets Merge apply a
// delta without visiting the whole receiving set. Joining deltas gives a
// delta; joining anything with a full state gives a full state.
type ORSet[E comparable] struct {
	m dotMap[E]
}

var (
	_ msgpack.CustomEncoder = (*ORSet[string])(nil)
	_ msgpack.CustomDecoder = (*ORSet[string])(nil)
)

type orsetDelta[E comparable] struct {
	s ORSet[E]
	p deltaParts[E]
}

// Add adds e as replica id and returns the delta. Adding an element already
// present replaces the dots this replica has observed with a new one.
func (s *ORSet[E]) Add(id vclock.ReplicaID, e E) *ORSet[E] {
	d := &orsetDelta[E]{}
	s.m.write(id, e, false, &d.s.m, &d.p)
	return &d.s
}

// Remove removes e and returns the delta, which holds the dots of e this
// replica observed. Adds of e that it has not observed survive the merge.
// Removing an absent element returns an empty delta.
func (s *ORSet[E]) Remove(e E) *ORSet[E] {
	d := &ORSet[E]{}
	s.m.forget(e, &d.m)
	return d
}

// Contains reports whether e is in the set. The complexity is O(1).
func (s *ORSet[E]) Contains(e E) bool {
	_, ok := s.m.st.get(e)
	return ok
}

// Len returns the number of elements. The complexity is O(1).
func (s *ORSet[E]) Len() int { return s.m.st.len() }

// All returns the elements in the order of their encodings (see
// docs/wire-format.md; strings: shorter first, then bytewise). It sorts
// them first: O(n log n).
func (s *ORSet[E]) All() iter.Seq[E] { return s.m.sorted(false) }

// Merge joins o into s. It is commutative, associative and idempotent.
func (s *ORSet[E]) Merge(o *ORSet[E]) { s.m.merge(&o.m) }

// Clone returns an independent copy of s. The complexity is O(n).
func (s *ORSet[E]) Clone() *ORSet[E] { return &ORSet[E]{m: s.m.clone()} }

// Equal reports whether s and o are the same state: the same elements with
// the same dots, the same causal context, and both deltas or both full
// states.
func (s *ORSet[E]) Equal(o *ORSet[E]) bool { return s.m.equal(&o.m) }

// IsDelta reports whether s is a delta, as returned by Add and Remove or
// joined from such: a state whose causal context speaks only for the
// elements it lists.
func (s *ORSet[E]) IsDelta() bool { return s.m.partial }

// Context returns a copy of the causal context: every dot the set has seen.
func (s *ORSet[E]) Context() *vclock.Context { return s.m.ctx.toContext() }

// ValidateMerge reports whether o could be merged into s by correct
// replicas: it returns a *ValidationError if one dot carries a different
// element in s and in o, which happens only when two writers share a
// ReplicaID or a peer is faulty. Run it on states from untrusted peers
// before Merge. A dot s has removed cannot be checked, since s keeps nothing
// of removed elements; merging ignores such a dot anyway. It costs O(m) for
// an o of m elements, plus O(n) once if o holds a dot that s has seen but
// does not hold under the same element.
func (s *ORSet[E]) ValidateMerge(o *ORSet[E]) error { return s.m.validate(&o.m, "ORSet") }

// String formats s as {e1 e2 ...} in the order of All.
func (s *ORSet[E]) String() string { return seqString(s.All()) }

// AppendBinary appends the encoding of s:
// [1, 20, delta, replicas, context, entries, removed] (docs/wire-format.md).
func (s *ORSet[E]) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindORSet, dotMapFields)
	return s.m.appendTo(b, false)
}

// MarshalBinary returns the canonical encoding of s.
func (s *ORSet[E]) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s with the set encoded in b. It accepts only the
// canonical encoding and checks every invariant; on error s is unchanged.
func (s *ORSet[E]) UnmarshalBinary(b []byte) error { return s.unmarshal(b, wire.Limits{}) }

func (s *ORSet[E]) unmarshal(b []byte, lim wire.Limits) error {
	var v ORSet[E]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(s, v, &r, "ORSet")
}

// readValue reads a top-level ORSet into s, which must be zero.
func (s *ORSet[E]) readValue(r *wire.Reader) {
	r.Header(wire.KindORSet, dotMapFields)
	s.m = readDotMap[E](r, false)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (s *ORSet[E]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, s) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (s *ORSet[E]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, s, "ORSet") }
