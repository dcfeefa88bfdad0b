package crdt

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An LWWRegister is a last-writer-wins register: it holds one value, and of
// two writes the one with the larger hybrid logical clock timestamp wins.
// Because an [hlc.Clock] takes in the timestamps it receives, a write made
// after another write was received always wins over it, however skewed the
// physical clocks are; only writes made concurrently are ordered by their
// (skewed) time, and one of them is lost.
//
// Writes with equal timestamps are ordered by ReplicaID, the larger
// winning. Correct replicas never issue two writes with the same timestamp
// and ReplicaID; should it happen, the value with the larger canonical
// encoding wins, so that Merge stays commutative, and
// [LWWRegister.ValidateMerge] reports it.
//
// The zero LWWRegister has never been set and is ready to use; any write
// wins over it. An LWWRegister is not safe for concurrent use. Set, Get
// and Merge cost O(1) when timestamps differ; ordering two writes with the
// same timestamp and replica, and Equal, encode both values. V must encode
// as [GSet] requires of its elements: equal values to equal bytes,
// distinct values to distinct bytes.
//
// # Inside an ORMap
//
// As a map value, each write also takes a dot in the map's causal context,
// so that removing the key takes away exactly the writes it observed: a
// write made concurrently elsewhere survives. There the register keeps
// every write no later write has observed, as an [MVRegister] does, and
// reads the latest of them as above; a write replaces the writes it
// observed whatever their timestamps. With timestamps from an hlc.Clock
// the two rules agree.
type LWWRegister[V any] struct {
	set bool // whether a write is held; the other fields are zero if not
	ts  hlc.Timestamp
	id  vclock.ReplicaID
	v   V
	// Inside an ORMap: the map's context, and the concurrent writes, of
	// which the fields above hold the latest.
	ctx   *dotCtx
	sibs  []lwwSibling[V]
	edits uint64 // top level: see Edits; nested, the map's context counts
}

type lwwSibling[V any] struct {
	d  dot
	ts hlc.Timestamp
	id vclock.ReplicaID
	v  V
}

var (
	_ msgpack.CustomEncoder = (*LWWRegister[string])(nil)
	_ msgpack.CustomDecoder = (*LWWRegister[string])(nil)
)

// Set records replica id's write of v at time ts, which should come from
// id's [hlc.Clock.Now], and returns the delta: a register holding exactly
// that write. The write takes effect in r only if it wins over the one r
// holds; the delta holds it either way, and merges to the same result
// anywhere. Set allocates only the delta, and nothing when the delta is
// not used.
func (r *LWWRegister[V]) Set(id vclock.ReplicaID, v V, ts hlc.Timestamp) *LWWRegister[V] {
	if r.ctx != nil {
		return r.setIn(id, v, ts)
	}
	d := &LWWRegister[V]{set: true, ts: ts, id: id, v: v, edits: 1}
	r.Merge(d) // which counts the edit
	return d
}

// Get returns the value of the winning write and true, or the zero V and
// false if r was never set.
func (r *LWWRegister[V]) Get() (V, bool) { return r.v, r.set }

// Timestamp returns the timestamp of the winning write, or the zero
// Timestamp if r was never set.
func (r *LWWRegister[V]) Timestamp() hlc.Timestamp { return r.ts }

// Replica returns the writer of the winning write, or "" if r was never
// set.
func (r *LWWRegister[V]) Replica() vclock.ReplicaID { return r.id }

// Merge keeps the winning write of r and o. It is commutative,
// associative and idempotent. It allocates only to compare the values of
// two writes with the same timestamp and replica, and then only if V is
// not a string, integer or boolean type.
func (r *LWWRegister[V]) Merge(o *LWWRegister[V]) {
	if r == o {
		return
	}
	r.edits += o.edits
	if o.set && (!r.set || compareWrites(o, r) > 0) {
		r.set, r.ts, r.id, r.v = true, o.ts, o.id, o.v
	}
}

// compareWrites orders two set registers' writes: by timestamp, then by
// replica, then by the canonical encoding of the value.
func compareWrites[V any](a, b *LWWRegister[V]) int {
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.id), string(b.id)); c != 0 {
		return c
	}
	return compareEncoded(kindOf[V](), a.v, b.v)
}

// Clone returns a copy of r. The value is copied as a Go value, shallowly:
// if V is a pointer, slice or map, the copy shares what it refers to, which
// must then not be modified.
func (r *LWWRegister[V]) Clone() *LWWRegister[V] {
	return &LWWRegister[V]{set: r.set, ts: r.ts, id: r.id, v: r.v, edits: r.edits}
}

// Equal reports whether r and o hold the same write: both unset, or the
// same timestamp, replica and value, values being compared by their
// canonical encodings.
func (r *LWWRegister[V]) Equal(o *LWWRegister[V]) bool {
	if r.set != o.set {
		return false
	}
	return !r.set || compareWrites(r, o) == 0
}

// ValidateMerge returns a [*ValidationError] if r and o hold writes with
// the same timestamp and replica but different values, which no correct
// replica produces (its clock never issues a timestamp twice): merging
// would keep one and silently lose the other. Otherwise it returns nil.
func (r *LWWRegister[V]) ValidateMerge(o *LWWRegister[V]) error {
	if r.set && o.set && r.ts == o.ts && r.id == o.id && compareEncoded(kindOf[V](), r.v, o.v) != 0 {
		return &ValidationError{
			Type:   "LWWRegister",
			Reason: fmt.Sprintf("replica %q wrote two different values at %v", r.id, r.ts),
			Writer: r.id,
		}
	}
	return nil
}

// String formats r as its value, the writer and the timestamp, like
// "blue (eu-west at 2026-11-25T17:38:35.123Z/0)", or "(unset)".
func (r *LWWRegister[V]) String() string {
	if !r.set {
		return "(unset)"
	}
	return fmt.Sprintf("%v (%s at %v)", r.v, r.id, r.ts)
}

// AppendBinary appends the encoding of r: [1, 22] if r was never set,
// [1, 22, timestamp, replica, value] otherwise.
func (r *LWWRegister[V]) AppendBinary(b []byte) ([]byte, error) {
	if !r.set {
		return wire.AppendHeader(b, wire.KindLWWRegister, 0), nil
	}
	b = wire.AppendHeader(b, wire.KindLWWRegister, 3)
	b = wire.AppendUint(b, uint64(r.ts))
	b = wire.AppendString(b, string(r.id))
	return appendElem(b, kindOf[V](), r.v), nil
}

// MarshalBinary returns the canonical encoding of r: Equal registers give
// identical bytes.
func (r *LWWRegister[V]) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary replaces r with the register encoded in b. It accepts
// only the canonical encoding, with no fields or exactly three. On error r
// is unchanged.
func (r *LWWRegister[V]) UnmarshalBinary(b []byte) error { return r.unmarshal(b, wire.Limits{}) }

func (r *LWWRegister[V]) unmarshal(b []byte, lim wire.Limits) error {
	var v LWWRegister[V]
	rd := wire.NewReader(b, lim)
	v.readValue(&rd)
	return keep(r, v, &rd, "LWWRegister")
}

// readValue reads a top-level LWWRegister into r, which must be zero.
func (r *LWWRegister[V]) readValue(rd *wire.Reader) {
	at := rd.Offset()
	switch n := rd.HeaderFields(wire.KindLWWRegister); {
	case rd.Failed(), n == 0:
	case n == 3:
		r.set = true
		r.ts = hlc.Timestamp(rd.Uint())
		r.id, _ = readElem[vclock.ReplicaID](rd, elemString)
		r.v, _ = readElem[V](rd, kindOf[V]())
	default:
		rd.FailAt(at, fmt.Sprintf("LWWRegister has 0 or 3 fields, input has %d", n))
	}
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (r *LWWRegister[V]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, r) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (r *LWWRegister[V]) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, r, "LWWRegister")
}
