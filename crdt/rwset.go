package crdt

import (
	"iter"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An RWSet is a remove-wins set: when an add and a remove of the same
// element are concurrent, the element ends absent.
//
// Both operations tag the element with a new dot and replace the dots they
// observed; a remove's dot is marked as a removal. An element is present
// when it holds dots and none is a removal. Unlike an [ORSet], a removed
// element keeps its removal dot — one per concurrent remover — until it is
// added again: the removal must outlive every add it has not seen. Use it
// where losing a remove costs more than losing an add: revoked permissions,
// blocked users, deleted items that must stay deleted.
//
// The zero RWSet is empty and ready to use. An RWSet is not safe for
// concurrent use; use [RWSet.Clone] rather than copying a value. Costs are
// those of ORSet; Len is O(1).
type RWSet[E comparable] struct {
	m dotMap[E]
}

var (
	_ msgpack.CustomEncoder = (*RWSet[string])(nil)
	_ msgpack.CustomDecoder = (*RWSet[string])(nil)
)

type rwsetDelta[E comparable] struct {
	s RWSet[E]
	p deltaParts[E]
}

// Add adds e as replica id and returns the delta. It overrides the removes
// of e this replica has observed, not the concurrent ones.
func (s *RWSet[E]) Add(id vclock.ReplicaID, e E) *RWSet[E] {
	d := &rwsetDelta[E]{}
	s.m.write(id, e, false, &d.s.m, &d.p)
	return &d.s
}

// Remove removes e as replica id and returns the delta. It wins over every
// add of e it has not observed. Removing an element never added still
// records the removal, so that it wins over concurrent adds.
func (s *RWSet[E]) Remove(id vclock.ReplicaID, e E) *RWSet[E] {
	d := &rwsetDelta[E]{}
	s.m.write(id, e, true, &d.s.m, &d.p)
	return &d.s
}

// Contains reports whether e is in the set. The complexity is O(1).
func (s *RWSet[E]) Contains(e E) bool {
	v, ok := s.m.st.get(e)
	return ok && !s.m.rmOf(e, v)
}

// Len returns the number of elements present. The complexity is O(1).
func (s *RWSet[E]) Len() int { return s.m.st.len() - s.m.nrm }

// All returns the elements present in the order of their encodings. It
// sorts them first: O(n log n).
func (s *RWSet[E]) All() iter.Seq[E] { return s.m.sorted(true) }

// Merge joins o into s. It is commutative, associative and idempotent.
func (s *RWSet[E]) Merge(o *RWSet[E]) { s.m.merge(&o.m) }

// Clone returns an independent copy of s. The complexity is O(n).
func (s *RWSet[E]) Clone() *RWSet[E] { return &RWSet[E]{m: s.m.clone()} }

// Equal reports whether s and o are the same state, removal dots and
// causal context included.
func (s *RWSet[E]) Equal(o *RWSet[E]) bool { return s.m.equal(&o.m) }

// IsDelta reports whether s is a delta: a state whose causal context speaks
// only for the elements it lists (see [ORSet]).
func (s *RWSet[E]) IsDelta() bool { return s.m.partial }

// Context returns a copy of the causal context.
func (s *RWSet[E]) Context() *vclock.Context { return s.m.ctx.toContext() }

// ValidateMerge returns a *ValidationError if one dot carries a different
// element, or is an add in one state and a removal in the other. See
// [ORSet.ValidateMerge] for what it can check and what it costs.
func (s *RWSet[E]) ValidateMerge(o *RWSet[E]) error { return s.m.validate(&o.m, "RWSet") }

// String formats the elements present as {e1 e2 ...}.
func (s *RWSet[E]) String() string { return seqString(s.All()) }

// AppendBinary appends the encoding of s:
// [1, 21, delta, replicas, context, entries, removed], entries carrying
// removal tags (docs/wire-format.md).
func (s *RWSet[E]) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindRWSet, dotMapFields)
	return s.m.appendTo(b, true)
}

// MarshalBinary returns the canonical encoding of s.
func (s *RWSet[E]) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// UnmarshalBinary replaces s with the set encoded in b. It accepts only the
// canonical encoding; on error s is unchanged.
func (s *RWSet[E]) UnmarshalBinary(b []byte) error { return s.unmarshal(b, wire.Limits{}) }

func (s *RWSet[E]) unmarshal(b []byte, lim wire.Limits) error {
	var v RWSet[E]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(s, v, &r, "RWSet")
}

// readValue reads a top-level RWSet into s, which must be zero.
func (s *RWSet[E]) readValue(r *wire.Reader) {
	r.Header(wire.KindRWSet, dotMapFields)
	s.m = readDotMap[E](r, true)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (s *RWSet[E]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, s) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (s *RWSet[E]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, s, "RWSet") }
