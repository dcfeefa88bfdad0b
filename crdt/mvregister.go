package crdt

import (
	"iter"
	"slices"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An MVRegister is a multi-value register: concurrent writes are all kept,
// as siblings, until a write that has observed them replaces them. Nothing
// is lost to clock skew, at the price of letting the reader resolve
// siblings: [MVRegister.Resolve] through a [Resolver] such as
// [LastWriterWins] of [Stamped] values, [MVRegister.Siblings] to keep all,
// and [MVRegister.Settle] to write a resolution back.
//
// Each write is tagged with a dot; the causal context remembers the dots
// written over, so a replaced value leaves no metadata.
//
// The zero MVRegister holds no value and is ready to use. It is not safe
// for concurrent use, and Clone copies values shallowly. Every operation
// costs O(siblings), usually one.
type MVRegister[V any] struct {
	f dotFun[V]
}

var (
	_ msgpack.CustomEncoder = (*MVRegister[string])(nil)
	_ msgpack.CustomDecoder = (*MVRegister[string])(nil)
)

// Set writes v as replica id, replacing every sibling this replica holds,
// and returns the delta.
func (m *MVRegister[V]) Set(id vclock.ReplicaID, v V) *MVRegister[V] {
	return &MVRegister[V]{f: *m.f.replace(id, v)}
}

// Values returns the siblings, ordered by the dot that wrote them (writer
// ReplicaID, then its counter): the same order on every replica. It
// returns nil when the register holds no value.
func (m *MVRegister[V]) Values() []V {
	if len(m.f.es) == 0 {
		return nil
	}
	_, pos := m.f.ctx.order(nil, nil)
	s := m.f.sorted(pos)
	out := make([]V, len(s))
	for i, x := range s {
		out[i] = x.v
	}
	return out
}

// All yields the siblings in the order of Values.
func (m *MVRegister[V]) All() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range m.Values() {
			if !yield(v) {
				return
			}
		}
	}
}

// Len returns the number of siblings.
func (m *MVRegister[V]) Len() int { return len(m.f.es) }

// Merge joins o into m: a sibling survives unless the other side has seen
// its dot and dropped it. It is commutative, associative and idempotent.
// If both hold one dot with different values — impossible between correct
// replicas, see ValidateMerge — m's value is kept.
func (m *MVRegister[V]) Merge(o *MVRegister[V]) { m.f.merge(&o.f) }

// Clone returns a copy of m; the values themselves are copied shallowly.
func (m *MVRegister[V]) Clone() *MVRegister[V] {
	return &MVRegister[V]{f: m.f.cloneIn(m.f.ctx.clone())}
}

// Equal reports whether m and o hold the same siblings, written by the same
// dots, and the same causal context. Values are compared by their
// encodings.
func (m *MVRegister[V]) Equal(o *MVRegister[V]) bool {
	return m.f.ctx.equal(o.f.ctx) && m.f.equalStore(&o.f, idMap(m.f.ctx, o.f.ctx))
}

// ValidateMerge returns a *ValidationError if one dot wrote different
// values in m and in o, which happens only when two writers share a
// ReplicaID or a peer is faulty. It costs O(siblings²).
func (m *MVRegister[V]) ValidateMerge(o *MVRegister[V]) error {
	return m.f.validate(&o.f, "MVRegister")
}

// Context returns a copy of the causal context.
func (m *MVRegister[V]) Context() *vclock.Context { return m.f.ctx.toContext() }

// String formats the siblings as {v1 v2 ...} in the order of Values.
func (m *MVRegister[V]) String() string { return seqString(slices.Values(m.Values())) }

// AppendBinary appends the encoding of m:
// [1, 23, replicas, context, [replica, counter, value, ...]], siblings in
// dot order (docs/wire-format.md).
func (m *MVRegister[V]) AppendBinary(b []byte) ([]byte, error) {
	if err := m.f.ctx.checkRange(); err != nil {
		return b, err
	}
	b = wire.AppendHeader(b, wire.KindMVRegister, 3)
	var pb [ctxBuf]uint32
	b, pos := m.f.ctx.appendTo(b, pb[:0])
	return m.f.appendStore(b, pos), nil
}

// MarshalBinary returns the canonical encoding of m.
func (m *MVRegister[V]) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary replaces m with the register encoded in b. It accepts
// only the canonical encoding: siblings in dot order, every dot in the
// causal context. On error m is unchanged.
func (m *MVRegister[V]) UnmarshalBinary(b []byte) error { return m.unmarshal(b, wire.Limits{}) }

func (m *MVRegister[V]) unmarshal(b []byte, lim wire.Limits) error {
	var v MVRegister[V]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(m, v, &r, "MVRegister")
}

// readValue reads a top-level MVRegister into m, which must be zero.
func (m *MVRegister[V]) readValue(r *wire.Reader) {
	r.Header(wire.KindMVRegister, 3)
	ctx := readCtx(r)
	m.f.readStore(r, ctx)
	ctx.checkShown(r)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (m *MVRegister[V]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, m) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (m *MVRegister[V]) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, m, "MVRegister")
}
