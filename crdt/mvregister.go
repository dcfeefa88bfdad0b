package crdt

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An MVRegister is a multi-value register: concurrent writes are all kept,
// as siblings, until a write that has observed them replaces them. Nothing
// is lost to clock skew, at the price of letting the reader resolve
// siblings (see the merge package's resolvers).
//
// Each write is tagged with a dot; the causal context remembers the dots
// written over, so a replaced value leaves no metadata.
//
// The zero MVRegister holds no value and is ready to use. It is not safe
// for concurrent use, and Clone copies values shallowly. Every operation
// costs O(siblings), usually one.
type MVRegister[V any] struct {
	ctx  dotCtx
	vals []mvEntry[V] // one per dot; unordered
}

type mvEntry[V any] struct {
	d dot
	v V
}

var (
	_ msgpack.CustomEncoder = (*MVRegister[string])(nil)
	_ msgpack.CustomDecoder = (*MVRegister[string])(nil)
)

// Set writes v as replica id, replacing every sibling this replica holds,
// and returns the delta.
func (m *MVRegister[V]) Set(id vclock.ReplicaID, v V) *MVRegister[V] {
	d := m.ctx.next(m.ctx.intern(id))
	delta := &MVRegister[V]{}
	for _, x := range m.vals {
		delta.ctx.add(dot{delta.ctx.intern(m.ctx.ids[x.d.r]), x.d.c})
	}
	dd := dot{delta.ctx.intern(id), d.c}
	delta.ctx.add(dd)
	delta.vals = []mvEntry[V]{{dd, v}}
	clear(m.vals)
	m.vals = append(m.vals[:0], mvEntry[V]{d, v})
	return delta
}

// Values returns the siblings, ordered by the dot that wrote them (writer
// ReplicaID, then its counter): the same order on every replica. It
// returns nil when the register was never written.
func (m *MVRegister[V]) Values() []V {
	s := m.sortedEntries()
	if len(s) == 0 {
		return nil
	}
	out := make([]V, len(s))
	for i, x := range s {
		out[i] = x.v
	}
	return out
}

// Len returns the number of siblings.
func (m *MVRegister[V]) Len() int { return len(m.vals) }

func (m *MVRegister[V]) sortedEntries() []mvEntry[V] {
	s := slices.Clone(m.vals)
	slices.SortFunc(s, func(a, b mvEntry[V]) int {
		if c := strings.Compare(string(m.ctx.ids[a.d.r]), string(m.ctx.ids[b.d.r])); c != 0 {
			return c
		}
		return cmpUint(a.d.c, b.d.c)
	})
	return s
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Merge joins o into m: a sibling survives unless the other side has seen
// its dot and dropped it. It is commutative, associative and idempotent.
// If both hold one dot with different values — impossible between correct
// replicas, see ValidateMerge — m's value is kept.
func (m *MVRegister[V]) Merge(o *MVRegister[V]) {
	if m == o {
		return
	}
	tr := m.ctx.translate(&o.ctx)
	oHas := func(d dot) bool {
		j, ok := o.ctx.lookup(m.ctx.ids[d.r])
		return ok && o.ctx.has(dot{j, d.c})
	}
	var keep []mvEntry[V]
	for _, x := range m.vals {
		inO := slices.ContainsFunc(o.vals, func(y mvEntry[V]) bool { return tr[y.d.r] == x.d.r && y.d.c == x.d.c })
		if inO || !oHas(x.d) {
			keep = append(keep, x)
		}
	}
	for _, y := range o.vals {
		d := dot{tr[y.d.r], y.d.c}
		if !m.ctx.has(d) && !slices.ContainsFunc(m.vals, func(x mvEntry[V]) bool { return x.d == d }) {
			keep = append(keep, mvEntry[V]{d, y.v})
		}
	}
	m.ctx.merge(&o.ctx, tr)
	m.vals = keep
}

// Clone returns a copy of m; the values themselves are copied shallowly.
func (m *MVRegister[V]) Clone() *MVRegister[V] {
	return &MVRegister[V]{ctx: m.ctx.clone(), vals: slices.Clone(m.vals)}
}

// Equal reports whether m and o hold the same siblings, written by the same
// dots, and the same causal context. Values are compared by their
// encodings.
func (m *MVRegister[V]) Equal(o *MVRegister[V]) bool {
	if len(m.vals) != len(o.vals) || !m.ctx.equal(&o.ctx) {
		return false
	}
	k := kindOf[V]()
	for _, x := range m.vals {
		y, ok := o.find(m.ctx.ids[x.d.r], x.d.c)
		if !ok || !bytes.Equal(appendElem(nil, k, x.v), appendElem(nil, k, y.v)) {
			return false
		}
	}
	return true
}

// find returns the sibling written by dot id:c.
func (m *MVRegister[V]) find(id vclock.ReplicaID, c uint64) (mvEntry[V], bool) {
	r, ok := m.ctx.lookup(id)
	if !ok {
		return mvEntry[V]{}, false
	}
	for _, x := range m.vals {
		if x.d == (dot{r, c}) {
			return x, true
		}
	}
	return mvEntry[V]{}, false
}

// ValidateMerge returns a *ValidationError if one dot wrote different
// values in m and in o, which happens only when two writers share a
// ReplicaID or a peer is faulty. It costs O(siblings²).
func (m *MVRegister[V]) ValidateMerge(o *MVRegister[V]) error {
	k := kindOf[V]()
	for _, y := range o.vals {
		id := o.ctx.ids[y.d.r]
		if x, ok := m.find(id, y.d.c); ok && !bytes.Equal(appendElem(nil, k, x.v), appendElem(nil, k, y.v)) {
			return &ValidationError{Type: "MVRegister", Reason: fmt.Sprintf("dot %s:%d wrote %v here and %v in the other state", id, y.d.c, x.v, y.v)}
		}
	}
	return nil
}

// Context returns a copy of the causal context.
func (m *MVRegister[V]) Context() *vclock.Context { return m.ctx.toContext() }

// String formats the siblings as {v1 v2 ...} in the order of Values.
func (m *MVRegister[V]) String() string { return seqString(slices.Values(m.Values())) }

// AppendBinary appends the encoding of m:
// [1, 23, replicas, context, [replica, counter, value, ...]], siblings in
// dot order (docs/wire-format.md).
func (m *MVRegister[V]) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindMVRegister, 3)
	b, pos := m.ctx.appendTo(b)
	s := slices.Clone(m.vals)
	slices.SortFunc(s, func(a, b mvEntry[V]) int {
		if c := cmpUint(uint64(pos[a.d.r]), uint64(pos[b.d.r])); c != 0 {
			return c
		}
		return cmpUint(a.d.c, b.d.c)
	})
	b = wire.AppendArrayLen(b, 3*len(s))
	k := kindOf[V]()
	for _, x := range s {
		b = wire.AppendUint(b, uint64(pos[x.d.r]))
		b = wire.AppendUint(b, x.d.c)
		b = appendElem(b, k, x.v)
	}
	return b, nil
}

// MarshalBinary returns the canonical encoding of m.
func (m *MVRegister[V]) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary replaces m with the register encoded in b. It accepts
// only the canonical encoding: siblings in dot order, every dot in the
// causal context. On error m is unchanged.
func (m *MVRegister[V]) UnmarshalBinary(b []byte) error { return m.unmarshal(b, wire.Limits{}) }

func (m *MVRegister[V]) unmarshal(b []byte, lim wire.Limits) error {
	return unmarshal(m, b, lim, "MVRegister", (*MVRegister[V]).readValue)
}

// readValue reads a top-level MVRegister into m, which must be zero.
func (m *MVRegister[V]) readValue(r *wire.Reader) {
	r.Header(wire.KindMVRegister, 3)
	ctx := readCtx(r)
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%3 != 0 {
		r.FailAt(at, "siblings are not (replica, counter, value) triples")
	}
	var vals []mvEntry[V]
	k := kindOf[V]()
	var prev dot
	for i := 0; i < n/3 && !r.Failed(); i++ {
		at := r.Offset()
		p, c := r.Uint(), r.Uint()
		if r.Failed() {
			break
		}
		d := dot{uint32(p), c}
		switch {
		case p >= uint64(len(ctx.ids)):
			r.FailAt(at, "sibling names no listed replica")
		case !ctx.has(d):
			r.FailAt(at, "sibling dot is not in the causal context")
		case i > 0 && (d.r < prev.r || d.r == prev.r && d.c <= prev.c):
			r.FailAt(at, "siblings out of order or repeated")
		}
		v, _ := readElem[V](r, k)
		vals = append(vals, mvEntry[V]{d, v})
		prev = d
	}
	m.ctx, m.vals = ctx, vals
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (m *MVRegister[V]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, m) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (m *MVRegister[V]) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, m, "MVRegister")
}
