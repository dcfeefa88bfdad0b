package crdt

import (
	"fmt"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// Resolvers. An MVRegister keeps concurrent writes as siblings; an
// application reads it through one of three strategies: last-writer-wins
// by hybrid logical clock (store [Stamped] values and resolve with
// [LastWriterWins]), an application function that combines the siblings
// (any [Resolver]), or keep-all ([MVRegister.Siblings]: show the
// conflict, and let a new write settle it).

// A Stamped is a value together with the hybrid logical clock reading and
// the replica of its write: what last-writer-wins needs to order values
// that are not CRDTs. Store Stamped values in an [MVRegister] to keep
// concurrent writes as siblings and resolve them with [LastWriterWins]
// when reading; an [LWWRegister] holds the same triple
// ([LWWRegister.Stamped]).
//
// A Stamped encodes (msgpack, and so as a register value) as the array
// [at, by, value]. V must be a type an MVRegister can hold.
type Stamped[V any] struct {
	Value V
	At    hlc.Timestamp
	By    vclock.ReplicaID
}

var (
	_ msgpack.CustomEncoder = Stamped[string]{}
	_ msgpack.CustomDecoder = (*Stamped[string])(nil)
)

// Stamp returns v stamped with a new reading of clock as a write by id.
func Stamp[V any](v V, id vclock.ReplicaID, clock *hlc.Clock) Stamped[V] {
	return Stamped[V]{Value: v, At: clock.Now(), By: id}
}

// Stamped returns the write r holds as a Stamped, and false if r was
// never set. With it, the writes of two LWWRegisters can be compared by
// [LastWriterWins] before they are merged, to see which one a merge keeps
// and which it loses.
func (r *LWWRegister[V]) Stamped() (Stamped[V], bool) {
	v, ok := r.Get()
	if !ok {
		return Stamped[V]{}, false
	}
	return Stamped[V]{Value: v, At: r.Timestamp(), By: r.Replica()}, true
}

// Newer reports whether s orders after o by last-writer-wins: a larger At,
// or the same At and a larger By — the order of [LWWRegister].
func (s Stamped[V]) Newer(o Stamped[V]) bool {
	if s.At != o.At {
		return s.At > o.At
	}
	return s.By > o.By
}

// String formats s as its value, writer and time, like
// "blue (eu-west at 2026-11-25T17:38:35.123Z/0)".
func (s Stamped[V]) String() string {
	return fmt.Sprintf("%v (%s at %v)", s.Value, s.By, s.At)
}

// EncodeMsgpack implements msgpack.CustomEncoder: [at, by, value].
func (s Stamped[V]) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := enc.EncodeUint(uint64(s.At)); err != nil {
		return err
	}
	if err := enc.EncodeString(string(s.By)); err != nil {
		return err
	}
	return enc.Encode(s.Value)
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (s *Stamped[V]) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n != 3 {
		return fmt.Errorf("crdt: a Stamped is an array of 3, got %d", n)
	}
	var v Stamped[V]
	at, err := dec.DecodeUint64()
	if err != nil {
		return err
	}
	by, err := dec.DecodeString()
	if err != nil {
		return err
	}
	if err := dec.Decode(&v.Value); err != nil {
		return err
	}
	v.At, v.By = hlc.Timestamp(at), vclock.ReplicaID(by)
	*s = v
	return nil
}

// A Resolver turns the siblings of an [MVRegister] — the values of writes
// none of which had seen the others — into the one value an application
// reads. It is called with two siblings or more, in the register's order,
// which is the same on every replica, and must be deterministic, so that
// every replica resolves the same siblings to the same value. Any
// func([]V) V is one: an application function that combines the values
// (the union of two carts, the larger of two quotas), or
// [LastWriterWins].
type Resolver[V any] func(siblings []V) V

// LastWriterWins is the last-writer-wins Resolver: it returns the sibling
// that is [Stamped.Newer] than every other, the one an LWWRegister fed the
// same writes would hold. Since the siblings were written concurrently,
// the order between them is that of their (possibly skewed) clocks: a
// write made after another was received always wins over it, but the
// winner among concurrent writes is arbitrary, and the others are lost
// once the register is settled. Ties — the same At and By, which correct
// replicas never write — go to the first in order. It panics on no
// siblings.
func LastWriterWins[V any](siblings []Stamped[V]) Stamped[V] {
	best := siblings[0]
	for _, s := range siblings[1:] {
		if s.Newer(best) {
			best = s
		}
	}
	return best
}

// Resolve reads m through resolve: its value if it has one, resolve of its
// siblings if concurrent writes left several, and false if it was never
// written. It does not change m; see [MVRegister.Settle] to write the
// resolution back.
func (m *MVRegister[V]) Resolve(resolve Resolver[V]) (V, bool) {
	vs := m.Values()
	switch len(vs) {
	case 0:
		var zero V
		return zero, false
	case 1:
		return vs[0], true
	}
	return resolve(vs), true
}

// Siblings is the keep-all strategy: it returns every value m holds, in
// the register's order, and whether there is more than one — a conflict
// for the application, or its user, to settle by writing a new value with
// Set (or [MVRegister.Settle]), which replaces the siblings that replica
// has seen. Nothing is lost in the meantime.
func (m *MVRegister[V]) Siblings() (siblings []V, conflict bool) {
	vs := m.Values()
	return vs, len(vs) > 1
}

// Settle resolves m's siblings, if it has several, and writes the result
// back as writer id, so that it replaces them on every replica that
// merges the returned delta. It returns the value read, as
// [MVRegister.Resolve] does, and the delta, which is nil if there was
// nothing to settle. Inside a merge.Replica's Update, whose callback
// gets the writer ID to write as:
//
//	rep.Update(func(w vclock.ReplicaID, m *crdt.MVRegister[T]) *crdt.MVRegister[T] {
//		_, delta, _ := m.Settle(w, resolve)
//		return delta // nil: nothing to replicate
//	})
func (m *MVRegister[V]) Settle(id vclock.ReplicaID, resolve Resolver[V]) (v V, delta *MVRegister[V], ok bool) {
	vs := m.Values()
	switch len(vs) {
	case 0:
		return v, nil, false
	case 1:
		return vs[0], nil, true
	}
	v = resolve(vs)
	return v, m.Set(id, v), true
}
