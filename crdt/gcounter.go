package crdt

import (
	"fmt"
	"iter"
	"slices"

	"github.com/converge-go/converge/internal/vv"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// A GCounter is a grow-only counter: each replica counts its own increments,
// and the value is the sum over replicas. Merge takes the per-replica
// maximum.
//
// The zero GCounter is zero and ready to use. A GCounter is not safe for
// concurrent use; a copied GCounter value shares its entries with the
// original, so use [GCounter.Clone]. Entries are kept sorted by replica:
// Inc costs O(log n) for a replica already present, Merge O(n+m).
//
// # Inside an ORMap
//
// As a map value (ORMap[K, *GCounter]), each replica's count carries one
// dot in the map's causal context, so state stays O(replicas) a key
// however many increments it takes. An increment by replica r replaces
// r's entry, under a new dot, by one with the new count; its delta holds
// the new entry and, in its context, the dot it replaced. Removing the key
// takes away the entries whose dots the remover had seen: after a removal
// concurrent with an increment by r, the key comes back with r's whole
// count — every increment r had made to it, those the remover had seen
// included (all since r last saw the key removed) — and every other
// replica's count is gone. A [CCounter] keeps instead exactly the
// increments the remover had not seen, at the price of one entry per
// increment: choose it when a removal must take away precisely what it
// observed (a cart's quantities), a GCounter or [PNCounter] when keys take
// many increments and a removal racing an increment may restore the
// incrementer's total (page views, quotas). Such a counter merges only
// with another from a map (the deltas of its mutators, inside an
// [ORMap.Update] callback); Clone returns a top-level copy of its counts.
type GCounter struct {
	v vv.Vector[vclock.ReplicaID]
	// one holds the single entry of a delta made by Inc while v is nil, so
	// that a delta costs one allocation, or none when it is not used. A
	// zero count means no entry.
	one   vv.Entry[vclock.ReplicaID]
	edits uint64 // see Edits
	// em is the store of a counter inside an ORMap, nil at the top level;
	// v then holds its sums (see counter_map.go).
	em *emStore
}

// entries returns c's counts.
func (c *GCounter) entries() vv.Vector[vclock.ReplicaID] {
	if c.v == nil && c.one.N > 0 {
		return vv.Vector[vclock.ReplicaID]{c.one}
	}
	return c.v
}

// own moves a delta's single entry into v before c is changed.
func (c *GCounter) own() {
	if c.v == nil && c.one.N > 0 {
		c.v = vv.Vector[vclock.ReplicaID]{c.one}
	}
	c.one = vv.Entry[vclock.ReplicaID]{}
}

var (
	_ msgpack.CustomEncoder = (*GCounter)(nil)
	_ msgpack.CustomDecoder = (*GCounter)(nil)
)

// Inc adds n to replica id's count and returns the delta: a GCounter
// holding id's new count alone. A count that would pass the largest uint64
// stays there. Inc allocates only the delta, and nothing when the delta is
// not used (it is small enough to be inlined).
func (c *GCounter) Inc(id vclock.ReplicaID, n uint64) *GCounter {
	d := &GCounter{edits: 1}
	c.incTo(id, n, d)
	return d
}

// incTo is Inc, writing the delta into d. It is kept out of line so that
// Inc stays small enough to inline, which lets the compiler keep an unused
// delta off the heap: d does not escape.
//
//go:noinline
func (c *GCounter) incTo(id vclock.ReplicaID, n uint64, d *GCounter) {
	if c.em != nil {
		c.incIn(id, n, d)
		return
	}
	d.one = vv.Entry[vclock.ReplicaID]{ID: id, N: c.add(id, n)}
}

// add adds n to id's count and returns the new count.
func (c *GCounter) add(id vclock.ReplicaID, n uint64) uint64 {
	c.own()
	c.edits++
	v, _ := c.v.Add(id, n)
	return v
}

// Value returns the sum of all replicas' counts, saturating at the largest
// uint64. The complexity is O(n).
func (c *GCounter) Value() uint64 { return c.entries().Sum() }

// Get returns replica id's count.
func (c *GCounter) Get(id vclock.ReplicaID) uint64 { return c.entries().Get(id) }

// All returns the (replica, count) pairs in ascending ReplicaID order.
func (c *GCounter) All() iter.Seq2[vclock.ReplicaID, uint64] {
	return func(yield func(vclock.ReplicaID, uint64) bool) {
		for _, e := range c.entries() {
			if !yield(e.ID, e.N) {
				return
			}
		}
	}
}

// Merge sets c to the per-replica maximum of c and o. It is commutative,
// associative and idempotent, and allocates only when o names replicas c
// lacks.
func (c *GCounter) Merge(o *GCounter) {
	if c.em != nil {
		c.mergeIn(o)
		return
	}
	if c != o {
		c.own()
		c.v.Merge(o.entries())
		c.edits += o.edits
	}
}

// Clone returns an independent copy of c.
func (c *GCounter) Clone() *GCounter {
	return &GCounter{v: slices.Clone(c.entries()), edits: c.edits}
}

// Equal reports whether c and o hold the same per-replica counts.
func (c *GCounter) Equal(o *GCounter) bool { return vv.Equal(c.entries(), o.entries()) }

// ValidateMerge always returns nil: every pair of GCounter states could come
// from correct replicas. It exists so that all types share the method.
func (c *GCounter) ValidateMerge(o *GCounter) error { return nil }

// String formats c as its value.
func (c *GCounter) String() string { return fmt.Sprint(c.Value()) }

// AppendBinary appends the encoding of c: [1, 16, {replica: count}].
func (c *GCounter) AppendBinary(b []byte) ([]byte, error) {
	return c.entries().Append(wire.AppendHeader(b, wire.KindGCounter, 1)), nil
}

// MarshalBinary returns the canonical encoding of c.
func (c *GCounter) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the counter encoded in b. On error c is
// unchanged.
func (c *GCounter) UnmarshalBinary(b []byte) error { return c.unmarshal(b, wire.Limits{}) }

func (c *GCounter) unmarshal(b []byte, lim wire.Limits) error {
	var v GCounter
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(c, v, &r, "GCounter")
}

// readValue reads a top-level GCounter into c, which must be zero.
func (c *GCounter) readValue(r *wire.Reader) {
	r.Header(wire.KindGCounter, 1)
	c.v = vv.Read[vclock.ReplicaID](r, ^uint64(0))
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *GCounter) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, c) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *GCounter) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, c, "GCounter") }

// A PNCounter is a counter that goes up and down: a pair of grow-only
// counters, one for increments and one for decrements.
//
// The zero PNCounter is zero and ready to use. It is not safe for
// concurrent use; use [PNCounter.Clone] rather than copying.
//
// Inside an [ORMap] a PNCounter keeps, per replica, one entry — its
// increments and decrements — with one dot in the map's context, and a
// removal of the key concurrent with an increment or decrement by replica
// r brings the key back with r's whole contribution (its increments and
// decrements since r last saw the key removed, those the remover had seen
// included), every other replica's gone: see [GCounter] for the details,
// and for when to choose a [CCounter] instead.
type PNCounter struct {
	p, n GCounter
	em   *emStore // inside an ORMap, as GCounter's; p and n hold its sums
}

var (
	_ msgpack.CustomEncoder = (*PNCounter)(nil)
	_ msgpack.CustomDecoder = (*PNCounter)(nil)
)

// Inc adds n for replica id and returns the delta.
func (c *PNCounter) Inc(id vclock.ReplicaID, n uint64) *PNCounter {
	d := &PNCounter{}
	c.addTo(id, n, false, d)
	return d
}

// Dec subtracts n for replica id and returns the delta.
func (c *PNCounter) Dec(id vclock.ReplicaID, n uint64) *PNCounter {
	d := &PNCounter{}
	c.addTo(id, n, true, d)
	return d
}

// addTo is Inc (Dec if neg), writing the delta into d; out of line for
// the reason GCounter.incTo is.
//
//go:noinline
func (c *PNCounter) addTo(id vclock.ReplicaID, n uint64, neg bool, d *PNCounter) {
	switch {
	case c.em != nil && neg:
		c.addIn(id, 0, n, d)
	case c.em != nil:
		c.addIn(id, n, 0, d)
	case neg:
		d.n = GCounter{one: vv.Entry[vclock.ReplicaID]{ID: id, N: c.n.add(id, n)}, edits: 1}
	default:
		d.p = GCounter{one: vv.Entry[vclock.ReplicaID]{ID: id, N: c.p.add(id, n)}, edits: 1}
	}
}

// Value returns increments minus decrements, clamped to the int64 range.
func (c *PNCounter) Value() int64 {
	p, n := c.p.Value(), c.n.Value()
	if p >= n {
		return int64(min(p-n, 1<<63-1))
	}
	d := n - p
	if d >= 1<<63 {
		return -1 << 63
	}
	return -int64(d)
}

// Increments returns the grow-only counter of increments. It shares
// storage with c: do not modify it.
func (c *PNCounter) Increments() *GCounter { return &c.p }

// Decrements returns the grow-only counter of decrements. It shares
// storage with c: do not modify it.
func (c *PNCounter) Decrements() *GCounter { return &c.n }

// Merge merges both halves of o into c.
func (c *PNCounter) Merge(o *PNCounter) {
	if c.em != nil {
		c.mergeIn(o)
		return
	}
	if c != o {
		c.p.Merge(&o.p)
		c.n.Merge(&o.n)
	}
}

// Clone returns an independent copy of c.
func (c *PNCounter) Clone() *PNCounter {
	return &PNCounter{p: *c.p.Clone(), n: *c.n.Clone()}
}

// Equal reports whether c and o hold the same counts.
func (c *PNCounter) Equal(o *PNCounter) bool { return c.p.Equal(&o.p) && c.n.Equal(&o.n) }

// ValidateMerge always returns nil: every pair of PNCounter states could
// come from correct replicas.
func (c *PNCounter) ValidateMerge(o *PNCounter) error { return nil }

// String formats c as its value.
func (c *PNCounter) String() string { return fmt.Sprint(c.Value()) }

// AppendBinary appends the encoding of c:
// [1, 17, {replica: increments}, {replica: decrements}].
func (c *PNCounter) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindPNCounter, 2)
	return c.n.entries().Append(c.p.entries().Append(b)), nil
}

// MarshalBinary returns the canonical encoding of c.
func (c *PNCounter) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the counter encoded in b. On error c is
// unchanged.
func (c *PNCounter) UnmarshalBinary(b []byte) error { return c.unmarshal(b, wire.Limits{}) }

func (c *PNCounter) unmarshal(b []byte, lim wire.Limits) error {
	var v PNCounter
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(c, v, &r, "PNCounter")
}

// readValue reads a top-level PNCounter into c, which must be zero.
func (c *PNCounter) readValue(r *wire.Reader) {
	r.Header(wire.KindPNCounter, 2)
	c.p.v = vv.Read[vclock.ReplicaID](r, ^uint64(0))
	c.n.v = vv.Read[vclock.ReplicaID](r, ^uint64(0))
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *PNCounter) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, c) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *PNCounter) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, c, "PNCounter")
}
