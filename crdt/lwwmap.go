package crdt

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An LWWMap is a map whose every key is a last-writer-wins register: of
// two writes to a key — sets or deletes — the one with the larger hybrid
// logical clock timestamp wins, ties broken by ReplicaID as in
// [LWWRegister]. It suits profile fields and settings: small values
// overwritten whole, where the latest write is the one that matters.
//
// A delete is a write too: it keeps a tombstone (the key, its timestamp
// and writer) so that an older set arriving late cannot bring the key
// back. Prune drops tombstones older than a horizon every replica has
// passed. For keys whose values must survive concurrent removal, use an
// [ORMap].
//
// The zero LWWMap is empty and ready to use. It is not safe for concurrent
// use; use [LWWMap.Clone] rather than copying a value. Set, Delete, Get
// and Len cost O(1); Merge O(m) for an o of m keys.
type LWWMap[K comparable, V any] struct {
	m     map[K]lwwEntry[V]
	dead  int    // tombstones in m
	edits uint64 // see Edits
}

type lwwEntry[V any] struct {
	ts  hlc.Timestamp
	id  vclock.ReplicaID
	del bool
	v   V
}

var (
	_ msgpack.CustomEncoder = (*LWWMap[string, string])(nil)
	_ msgpack.CustomDecoder = (*LWWMap[string, string])(nil)
)

// compareEntries orders two writes: by timestamp, replica, then a delete
// above a set, then the value's encoding.
func compareEntries[V any](a, b lwwEntry[V]) int {
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.id), string(b.id)); c != 0 {
		return c
	}
	if a.del != b.del {
		if a.del {
			return 1
		}
		return -1
	}
	if a.del {
		return 0
	}
	return compareEncoded(kindOf[V](), a.v, b.v)
}

// put applies write e to key k if it wins, and reports whether it did.
func (m *LWWMap[K, V]) put(k K, e lwwEntry[V]) bool {
	old, ok := m.m[k]
	if ok && compareEntries(e, old) <= 0 {
		return false
	}
	if m.m == nil {
		m.m = make(map[K]lwwEntry[V])
	}
	if ok && old.del {
		m.dead--
	}
	if e.del {
		m.dead++
	}
	m.m[k] = e
	return true
}

// Set writes v to key k as replica id at ts, which should come from id's
// hlc.Clock, and returns the delta: a map holding that write alone.
func (m *LWWMap[K, V]) Set(id vclock.ReplicaID, k K, v V, ts hlc.Timestamp) *LWWMap[K, V] {
	e := lwwEntry[V]{ts: ts, id: id, v: v}
	m.put(k, e)
	m.edits++
	return &LWWMap[K, V]{m: map[K]lwwEntry[V]{k: e}, edits: 1}
}

// Delete deletes key k as replica id at ts and returns the delta. The
// delete wins over writes with smaller timestamps, including ones not yet
// received.
func (m *LWWMap[K, V]) Delete(id vclock.ReplicaID, k K, ts hlc.Timestamp) *LWWMap[K, V] {
	e := lwwEntry[V]{ts: ts, id: id, del: true}
	m.put(k, e)
	m.edits++
	return &LWWMap[K, V]{m: map[K]lwwEntry[V]{k: e}, dead: 1, edits: 1}
}

// Get returns the value of key k and true, or the zero V and false if k
// was never set or its latest write is a delete.
func (m *LWWMap[K, V]) Get(k K) (V, bool) {
	e, ok := m.m[k]
	if !ok || e.del {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Written returns the timestamp and writer of key k's latest write, a set
// or a delete, and whether there is one.
func (m *LWWMap[K, V]) Written(k K) (hlc.Timestamp, vclock.ReplicaID, bool) {
	e, ok := m.m[k]
	return e.ts, e.id, ok
}

// Contains reports whether key k holds a value.
func (m *LWWMap[K, V]) Contains(k K) bool {
	e, ok := m.m[k]
	return ok && !e.del
}

// Len returns the number of keys holding a value.
func (m *LWWMap[K, V]) Len() int { return len(m.m) - m.dead }

// Keys returns the keys holding a value in the order of their encodings.
// It sorts them first: O(n log n).
func (m *LWWMap[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for _, k := range m.keys(false) {
			if !yield(k) {
				return
			}
		}
	}
}

// All returns the keys holding a value and their values, in the order of
// Keys.
func (m *LWWMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, k := range m.keys(false) {
			if !yield(k, m.m[k].v) {
				return
			}
		}
	}
}

// keys returns the keys in canonical order, with or without tombstones.
func (m *LWWMap[K, V]) keys(tombstones bool) []K {
	if tombstones {
		return sortedKeys(m.m, nil)
	}
	return sortedKeys(m.m, func(e lwwEntry[V]) bool { return !e.del })
}

// Merge keeps, for every key, the winning write of m and o. It is
// commutative, associative and idempotent.
func (m *LWWMap[K, V]) Merge(o *LWWMap[K, V]) {
	if m == o {
		return
	}
	m.edits += o.edits
	for k, e := range o.m {
		m.put(k, e)
	}
}

// Prune drops the tombstones of deletes made before horizon and returns
// how many it dropped. Call it only with a horizon that every replica's
// hybrid logical clock has passed and that no write still in flight
// predates — for instance the minimum of the timestamps all peers have
// acknowledged — or an older set arriving later would bring a deleted key
// back. Prune is a local change, not a CRDT operation: it has no delta.
func (m *LWWMap[K, V]) Prune(horizon hlc.Timestamp) int {
	n := 0
	for k, e := range m.m {
		if e.del && e.ts < horizon {
			delete(m.m, k)
			n++
		}
	}
	m.dead -= n
	return n
}

// Clone returns a copy of m; values are copied shallowly.
func (m *LWWMap[K, V]) Clone() *LWWMap[K, V] {
	c := &LWWMap[K, V]{dead: m.dead, edits: m.edits}
	if len(m.m) > 0 {
		c.m = make(map[K]lwwEntry[V], len(m.m))
		for k, e := range m.m {
			c.m[k] = e
		}
	}
	return c
}

// Equal reports whether m and o hold the same writes, tombstones included;
// values are compared by their encodings.
func (m *LWWMap[K, V]) Equal(o *LWWMap[K, V]) bool {
	if len(m.m) != len(o.m) {
		return false
	}
	for k, e := range m.m {
		oe, ok := o.m[k]
		if !ok || compareEntries(e, oe) != 0 {
			return false
		}
	}
	return true
}

// ValidateMerge returns a *ValidationError if m and o hold, for one key,
// two different writes with the same timestamp and writer, which no
// correct replica produces.
func (m *LWWMap[K, V]) ValidateMerge(o *LWWMap[K, V]) error {
	for k, oe := range o.m {
		if e, ok := m.m[k]; ok && e.ts == oe.ts && e.id == oe.id && compareEntries(e, oe) != 0 {
			return &ValidationError{Type: "LWWMap", Reason: fmt.Sprintf("replica %q wrote key %v twice at %v", e.id, k, e.ts), Writer: e.id}
		}
	}
	return nil
}

// String formats the keys holding a value as {k1:v1 k2:v2 ...}.
func (m *LWWMap[K, V]) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range m.keys(false) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%v:%v", k, m.m[k].v)
	}
	sb.WriteByte('}')
	return sb.String()
}

// AppendBinary appends the encoding of m:
// [1, 26, [writer...], [key, timestamp, writer<<1 | deleted, value, ...]],
// writers sorted, keys in the order of their encodings, value nil for a
// delete (docs/wire-format.md).
func (m *LWWMap[K, V]) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindLWWMap, 2)
	ids := make([]vclock.ReplicaID, 0, 4)
	for _, e := range m.m {
		ids = append(ids, e.id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	b = wire.AppendArrayLen(b, len(ids))
	for _, id := range ids {
		b = wire.AppendString(b, string(id))
	}
	keys := m.keys(true)
	b = wire.AppendArrayLen(b, 4*len(keys))
	kk, kv := kindOf[K](), kindOf[V]()
	for _, k := range keys {
		e := m.m[k]
		i, _ := slices.BinarySearch(ids, e.id)
		b = appendElem(b, kk, k)
		b = wire.AppendUint(b, uint64(e.ts))
		w := uint64(i) << 1
		if e.del {
			b = wire.AppendUint(b, w|1)
			b = wire.AppendNil(b)
			continue
		}
		b = wire.AppendUint(b, w)
		b = appendElem(b, kv, e.v)
	}
	return b, nil
}

// MarshalBinary returns the canonical encoding of m.
func (m *LWWMap[K, V]) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary replaces m with the map encoded in b. It accepts only
// the canonical encoding; on error m is unchanged.
func (m *LWWMap[K, V]) UnmarshalBinary(b []byte) error { return m.unmarshal(b, wire.Limits{}) }

func (m *LWWMap[K, V]) unmarshal(b []byte, lim wire.Limits) error {
	var v LWWMap[K, V]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(m, v, &r, "LWWMap")
}

func (m *LWWMap[K, V]) readValue(r *wire.Reader) {
	r.Header(wire.KindLWWMap, 2)
	ids := readWriters(r)
	used := make([]bool, len(ids))
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%4 != 0 {
		r.FailAt(at, "entries are not (key, timestamp, writer, value) tuples")
		return
	}
	kk := kindOf[K]()
	var prev []byte
	for i := 0; i < n/4 && !r.Failed(); i++ {
		at := r.Offset()
		k, raw := readKey[K](r, kk)
		if r.Failed() {
			return
		}
		if i > 0 && bytes.Compare(prev, raw) >= 0 {
			r.FailAt(at, "keys out of order or repeated")
			return
		}
		prev = raw
		e, ok := readLWWEntry[V](r, ids, used)
		if !ok {
			return
		}
		if m.m == nil {
			m.m = make(map[K]lwwEntry[V], r.Presize(n/4, mapEntryBytes[K, lwwEntry[V]]()))
		}
		m.m[k] = e
		if e.del {
			m.dead++
		}
	}
	if !r.Failed() && slices.Contains(used, false) {
		r.FailAt(at, "a listed writer wrote nothing")
	}
}

// readWriters reads a list of writers, strictly ascending.
func readWriters(r *wire.Reader) []vclock.ReplicaID {
	n := r.ArrayLen()
	ids := make([]vclock.ReplicaID, 0, r.Presize(n, sliceEntryBytes[vclock.ReplicaID]()))
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := vclock.ReplicaID(r.Str())
		if i > 0 && id <= ids[i-1] {
			r.FailAt(at, "writers out of order or repeated")
			return ids
		}
		ids = append(ids, id)
	}
	return ids
}

// readLWWEntry reads an entry's timestamp, writer (a position in ids,
// marked in used, and the delete bit) and value; false if r failed.
func readLWWEntry[V any](r *wire.Reader, ids []vclock.ReplicaID, used []bool) (lwwEntry[V], bool) {
	var e lwwEntry[V]
	e.ts = hlc.Timestamp(r.Uint())
	at := r.Offset()
	w := r.Uint()
	if r.Failed() {
		return e, false
	}
	if w>>1 >= uint64(len(ids)) {
		r.FailAt(at, "entry names no listed writer")
		return e, false
	}
	e.id, e.del = ids[w>>1], w&1 == 1
	used[w>>1] = true
	if e.del {
		if !r.IsNil() {
			r.FailAt(r.Offset(), "a delete carries a value")
			return e, false
		}
	} else {
		e.v, _ = readElem[V](r, kindOf[V]())
	}
	return e, !r.Failed()
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (m *LWWMap[K, V]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, m) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (m *LWWMap[K, V]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, m, "LWWMap") }
