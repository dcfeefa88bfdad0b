package crdt

import (
	"bytes"
	"fmt"
	"iter"
	"strings"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// An ORMap is an observed-remove map whose values are CRDTs: sets,
// registers, flags, counters, lists, or other ORMaps. All of them share
// the map's causal context, as in the delta-CRDT papers, so that a key is
// present exactly while its value holds a dot it shows, and removing a key
// leaves nothing behind but what a [List] keeps.
//
// Removing a key resets its value: it takes away the dots the remover
// observed, so an update made concurrently elsewhere survives, as only
// what the remover had not observed — an element added to a nested set, a
// write to a nested register, an increment of a nested [CCounter]. Keys are
// add-wins: an update concurrent with a removal keeps the key.
//
// Counters come in two kinds. A nested [CCounter] keeps one entry per
// increment since its last reset, and a removal takes away exactly the
// increments it observed. A nested [GCounter] or [PNCounter] keeps one
// entry per replica, O(replicas) a key, and a removal takes away the
// entries it observed: after a removal concurrent with an increment by
// replica r, the key comes back with r's whole count (every increment r
// made to it since r last saw it removed, those the remover had seen
// included), and every other replica's count is gone.
//
// A nested [List] is the exception to "nothing behind": removing its key
// deletes the elements the remover had seen and keeps them as
// tombstones, so that an element inserted concurrently next to one of
// them still finds its place. After a removal concurrent with inserts,
// the key shows exactly the elements the remover had not seen, in their
// places. A key whose list holds tombstones only is absent (Get, Contains,
// Len, Keys), but its list is kept, encoded and merged like any value,
// and Update hands it to the callback; see [List], "Inside an ORMap".
//
// Values are changed only through [ORMap.Update], which hands the
// callback the value for the key (a new empty one if absent); the
// callback calls the value's own mutators and returns their delta. The
// map's delta wraps it: an increment of a counter two maps deep ships that
// increment and its dot, never the maps around it.
//
// The zero ORMap is empty and ready to use. An ORMap is not safe for
// concurrent use; use [ORMap.Clone] rather than copying a value. Get, Len
// and Update of one key cost O(1) plus the value's own cost; merging a
// delta costs O(delta), a full state O(n+m).
type ORMap[K comparable, V Value[V]] struct {
	ctx *dotCtx
	m   map[K]V
	// tombs holds the keys whose value holds dots but shows nothing (a
	// List of tombstones, see Value.inHidden): absent, but kept. A key is
	// in at most one of m, tombs and gone.
	tombs   map[K]V
	gone    map[K]struct{} // partial only: keys whose dots the context removes
	partial bool
}

var (
	_ msgpack.CustomEncoder = (*ORMap[string, *CCounter])(nil)
	_ msgpack.CustomDecoder = (*ORMap[string, *CCounter])(nil)
)

func (m *ORMap[K, V]) root() *dotCtx {
	if m.ctx == nil {
		m.ctx = &dotCtx{}
	}
	return m.ctx
}

// Update applies f to the value of key k — a new empty value if k is
// absent — and returns the map's delta. f must change the value only
// through its mutators and return their delta: the delta of the one
// mutator it called, or the join of the deltas of several (d1.Merge(d2)),
// or the zero V if it changed nothing. A value left empty removes the key;
// a List left with tombstones only makes it absent, and is kept.
//
// Update panics if f changed the value more times than the delta it
// returned records — a delta dropped, or the value itself returned —
// because peers that sync by deltas would never see those changes.
func (m *ORMap[K, V]) Update(k K, f func(v V) (delta V)) *ORMap[K, V] {
	ctx := m.root()
	v, had := m.m[k]
	if !had {
		v, had = m.tombs[k]
	}
	if !had {
		var zero V
		v = zero.inNew(ctx, m.partial)
	}
	// v lives in ctx; nd, the delta f returns, in a context of its own.
	before := ctx.edits
	nd := f(v)
	var zero V
	var got uint64
	if any(nd) != any(zero) && nd.inCtx() != nil {
		got = nd.inCtx().edits
	}
	if made := ctx.edits - before; got != made {
		panic(fmt.Sprintf("crdt: ORMap.Update: the callback made %d changes to the value of key %v and returned a delta recording %d; return the delta of each change, joined with Merge", made, k, got))
	}
	delta := &ORMap[K, V]{partial: true}
	if got == 0 {
		delta.ctx = &dotCtx{}
		return delta
	}
	m.place(k, v)
	delta.ctx = nd.inCtx()
	switch {
	case nd.inEmpty():
		// A value delta with no dots only removes: as a removed key it says
		// the same (its context covers only dots of k), unless it removes
		// nothing at all.
		if !delta.ctx.hasDots() {
			return delta
		}
		delta.gone = map[K]struct{}{k: {}}
	case nd.inHidden():
		// Deletions in a List: the tombstones must travel.
		delta.tombs = map[K]V{k: nd}
	default:
		delta.m = map[K]V{k: nd}
	}
	return delta
}

// place files v as k's value: held, hidden (in tombs) or, empty, dropped.
func (m *ORMap[K, V]) place(k K, v V) {
	switch {
	case v.inEmpty():
		m.drop(k)
	case v.inHidden():
		if m.tombs == nil {
			m.tombs = make(map[K]V)
		}
		m.tombs[k] = v
		delete(m.m, k)
		if m.gone != nil {
			delete(m.gone, k)
		}
	default:
		m.put(k, v)
	}
}

func (m *ORMap[K, V]) put(k K, v V) {
	if m.m == nil {
		m.m = make(map[K]V)
	}
	m.m[k] = v
	if m.tombs != nil {
		delete(m.tombs, k)
	}
	if m.gone != nil {
		delete(m.gone, k)
	}
}

// drop deletes k; a partial map remembers it in gone.
func (m *ORMap[K, V]) drop(k K) {
	delete(m.m, k)
	if m.tombs != nil {
		delete(m.tombs, k)
	}
	if m.partial {
		if m.gone == nil {
			m.gone = make(map[K]struct{})
		}
		m.gone[k] = struct{}{}
	}
}

// Remove removes key k and returns the delta, whose context holds the dots
// of k's value this replica observed. Updates of k it has not observed
// survive the merge. Removing an absent key returns an empty delta.
//
// A List value is cleared instead: Remove deletes every element it holds
// and keeps them as tombstones (the delta is that of the deletions), so
// that inserts concurrent with the removal find their neighbours; the key
// is absent until an element is inserted again. So is every List of a
// nested ORMap value, at any depth.
func (m *ORMap[K, V]) Remove(k K) *ORMap[K, V] {
	delta := &ORMap[K, V]{ctx: &dotCtx{}, partial: true}
	v, ok := m.m[k]
	if !ok {
		return delta
	}
	if v.inTombs() {
		return m.Update(k, func(v V) V { return any(v).(remover[V]).inRemove() })
	}
	m.ctx.edited(delta.ctx)
	v.inDots(func(d dot) {
		delta.ctx.add(dot{delta.ctx.intern(m.ctx.ids[d.r]), d.c})
		m.ctx.ent[d.r].live--
	})
	m.drop(k)
	delta.gone = map[K]struct{}{k: {}}
	return delta
}

// Get returns the value of key k. It lives in the map: read it, but change
// it only through Update.
func (m *ORMap[K, V]) Get(k K) (V, bool) {
	v, ok := m.m[k]
	return v, ok
}

// Contains reports whether key k is present.
func (m *ORMap[K, V]) Contains(k K) bool {
	_, ok := m.m[k]
	return ok
}

// Len returns the number of keys.
func (m *ORMap[K, V]) Len() int { return len(m.m) }

// Keys returns the keys in the order of their encodings (strings: shorter
// first, then bytewise). It sorts them first: O(n log n).
func (m *ORMap[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for _, k := range sortedKeys(m.m, nil) {
			if !yield(k) {
				return
			}
		}
	}
}

// All returns the keys and their values in the order of Keys.
func (m *ORMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, k := range sortedKeys(m.m, nil) {
			if !yield(k, m.m[k]) {
				return
			}
		}
	}
}

// Merge joins o into m. It is commutative, associative and idempotent.
func (m *ORMap[K, V]) Merge(o *ORMap[K, V]) {
	if m == o {
		return
	}
	env := newJoinEnv(m.root(), o.ctx)
	m.join(o, env)
	env.merge()
}

// join joins o's keys into m's with contexts and numbering from env; o nil
// stands for an empty full map.
func (m *ORMap[K, V]) join(o *ORMap[K, V], env *joinEnv) {
	if o == nil {
		o = &ORMap[K, V]{}
	}
	partial := m.partial && o.partial
	var zero V
	if !o.partial && env.anyRemoved {
		// Keys o does not hold lose the dots o has seen.
		for k, v := range m.m {
			if _, listed := o.m[k]; listed {
				continue
			}
			if _, listed := o.tombs[k]; !listed {
				v.inJoin(zero, env)
				m.place(k, v)
			}
		}
	}
	tombs := zero.inTombs()
	for k, ov := range o.m {
		if !o.partial && !env.anyRemoved && !tombs && covered(ov, env) {
			// o removed nothing m holds, and m has seen every dot of
			// this value: nothing can change. (A value with tombstones
			// may hold elements m lacks, whose dots it has seen.)
			continue
		}
		m.joinKey(k, ov, env)
	}
	for k, ov := range o.tombs {
		m.joinKey(k, ov, env)
	}
	for k := range o.gone {
		m.joinKey(k, zero, env)
	}
	if !partial {
		m.inFull()
	}
}

// covered reports whether m's context holds every dot of v, a value of o.
func covered[V Value[V]](v V, env *joinEnv) bool {
	all := true
	v.inDots(func(d dot) {
		if all && !env.m.has(env.toM(d)) {
			all = false
		}
	})
	return all
}

// joinKey joins o's value for k (the zero V: a removed key) into m's.
func (m *ORMap[K, V]) joinKey(k K, ov V, env *joinEnv) {
	v, ok := m.m[k]
	if !ok {
		v, ok = m.tombs[k]
	}
	var zero V
	if !ok {
		if any(ov) == any(zero) {
			if m.partial {
				m.drop(k)
			}
			return
		}
		// A key m removed (in gone) stands for an empty full value.
		_, removed := m.gone[k]
		v = zero.inNew(env.m, m.partial && !removed)
	}
	v.inJoin(ov, env)
	m.place(k, v)
}

// Clone returns an independent copy of m. The complexity is O(n).
func (m *ORMap[K, V]) Clone() *ORMap[K, V] {
	c := m.inClone(m.ctx.clone())
	return c
}

// Equal reports whether m and o are the same state: the same keys with
// Equal values (absent keys' tombstones included), the same causal
// context, both deltas or both full states.
func (m *ORMap[K, V]) Equal(o *ORMap[K, V]) bool {
	return m.ctx.equal(o.ctx) && m.inEqual(o, idMap(m.ctx, o.ctx))
}

// IsDelta reports whether m is a delta: a state whose causal context
// speaks only for the keys it lists (see [ORSet]).
func (m *ORMap[K, V]) IsDelta() bool { return m.partial }

// Context returns a copy of the causal context.
func (m *ORMap[K, V]) Context() *vclock.Context { return m.ctx.toContext() }

// ValidateMerge returns a *ValidationError if a dot carries different data
// in m and in o: another key, another element or value of a nested type,
// wherever in the two maps it sits. It costs O(o) lookups in m, plus one
// pass over m's dots if o holds dots m has removed (a stale delta or
// state); it keeps nothing.
func (m *ORMap[K, V]) ValidateMerge(o *ORMap[K, V]) error {
	return validateRoot("ORMap", m.ctx, o.ctx, func(c *checker) { m.inCheck(o, c) }, m.inDots)
}

// String formats m as {k1:v1 k2:v2 ...} in the order of Keys.
func (m *ORMap[K, V]) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, k := range sortedKeys(m.m, nil) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%v:%v", k, m.m[k])
	}
	sb.WriteByte('}')
	return sb.String()
}

// AppendBinary appends the encoding of m:
// [1, 27, delta, replicas, context, [key, value, ...], removed keys], keys
// in the order of their encodings, each value a nested [kind, fields...]
// (docs/wire-format.md); a key whose List holds tombstones only is written
// with it.
func (m *ORMap[K, V]) AppendBinary(b []byte) ([]byte, error) {
	if err := m.ctx.checkRange(); err != nil {
		return b, err
	}
	b = wire.AppendHeader(b, wire.KindORMap, 5)
	b = wire.AppendBool(b, m.partial)
	var pb [ctxBuf]uint32
	b, pos := m.ctx.appendTo(b, pb[:0])
	return m.appendStore(b, pos), nil
}

// appendStore appends the entries, hidden keys' among them, and the
// removed keys.
func (m *ORMap[K, V]) appendStore(b []byte, pos []uint32) []byte {
	k := kindOf[K]()
	keys := sortedKeys(m.m, nil)
	if len(m.tombs) > 0 {
		for key := range m.tombs {
			keys = append(keys, key)
		}
		sortElems(k, keys)
	}
	b = wire.AppendArrayLen(b, 2*len(keys))
	for _, key := range keys {
		b = appendElem(b, k, key)
		v, ok := m.m[key]
		if !ok {
			v = m.tombs[key]
		}
		b = v.inAppend(b, pos)
	}
	gone := make([]K, 0, len(m.gone))
	for key := range m.gone {
		gone = append(gone, key)
	}
	sortElems(k, gone)
	b = wire.AppendArrayLen(b, len(gone))
	for _, key := range gone {
		b = appendElem(b, k, key)
	}
	return b
}

// MarshalBinary returns the canonical encoding of m.
func (m *ORMap[K, V]) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary replaces m with the map encoded in b. It accepts only
// the canonical encoding, checks the nesting against [DecodeOptions]'
// MaxDepth, and leaves m unchanged on error.
func (m *ORMap[K, V]) UnmarshalBinary(b []byte) error { return m.unmarshal(b, wire.Limits{}) }

func (m *ORMap[K, V]) unmarshal(b []byte, lim wire.Limits) error {
	var v ORMap[K, V]
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(m, v, &r, "ORMap")
}

func (m *ORMap[K, V]) readValue(r *wire.Reader) {
	r.Header(wire.KindORMap, 5)
	m.partial = r.Bool()
	at := r.Offset()
	ctx := readCtx(r)
	m.readStore(r, ctx)
	ctx.checkShown(r)
	if !r.Failed() && !m.dotsUnique() {
		r.FailAt(at, "one dot is held by two values")
	}
}

// dotsUnique reports whether no dot is held twice among m's values. Each
// nested store checks its own order, but two stores — two keys — could
// claim the same event, which no replica produces and which would make
// the live counts lie.
func (m *ORMap[K, V]) dotsUnique() bool {
	seen := make(map[dot]struct{})
	unique := true
	m.inDots(func(d dot) {
		if _, dup := seen[d]; dup {
			unique = false
		}
		seen[d] = struct{}{}
	})
	return unique
}

// readStore reads entries and removed keys into m, living in ctx.
func (m *ORMap[K, V]) readStore(r *wire.Reader, ctx *dotCtx) {
	m.ctx = ctx
	if !r.Enter() {
		return
	}
	defer r.Leave()
	m.readEntries(r)
	m.readRemoved(r)
}

// readEntries reads the keys and their values.
func (m *ORMap[K, V]) readEntries(r *wire.Reader) {
	k := kindOf[K]()
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%2 != 0 {
		r.FailAt(at, "entries are not (key, value) pairs")
		return
	}
	var prev []byte
	var zero V
	for i := 0; i < n/2 && !r.Failed(); i++ {
		at := r.Offset()
		key, raw := readKey[K](r, k)
		if r.Failed() {
			return
		}
		if i > 0 && bytes.Compare(prev, raw) >= 0 {
			r.FailAt(at, "keys out of order or repeated")
			return
		}
		prev = raw
		at = r.Offset()
		v := zero.inRead(r, m.ctx, !m.partial)
		if r.Failed() {
			return
		}
		if v.inEmpty() {
			r.FailAt(at, "a key with an empty value")
			return
		}
		m.putRead(r, key, v, n/2)
	}
}

// putRead puts a value read for key, one of n, in m's values or, hidden,
// in its tombstones.
func (m *ORMap[K, V]) putRead(r *wire.Reader, key K, v V, n int) {
	if v.inHidden() {
		if m.tombs == nil {
			m.tombs = make(map[K]V)
		}
		m.tombs[key] = v
		return
	}
	if m.m == nil {
		m.m = make(map[K]V, r.Presize(n, mapEntryBytes[K, V]()))
	}
	m.m[key] = v
}

// readRemoved reads the removed keys: none in a full state, none with a
// value.
func (m *ORMap[K, V]) readRemoved(r *wire.Reader) {
	k := kindOf[K]()
	at := r.Offset()
	g := r.ArrayLen()
	if !r.Failed() && g > 0 && !m.partial {
		r.FailAt(at, "a full state lists removed keys")
		return
	}
	var prev []byte
	for i := 0; i < g && !r.Failed(); i++ {
		at := r.Offset()
		key, raw := readKey[K](r, k)
		if r.Failed() {
			return
		}
		if i > 0 && bytes.Compare(prev, raw) >= 0 {
			r.FailAt(at, "removed keys out of order or repeated")
			return
		}
		_, held := m.m[key]
		if _, hidden := m.tombs[key]; held || hidden {
			r.FailAt(at, "a removed key also has a value")
			return
		}
		prev = raw
		if m.gone == nil {
			m.gone = make(map[K]struct{}, r.Presize(g, mapEntryBytes[K, struct{}]()))
		}
		m.gone[key] = struct{}{}
	}
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (m *ORMap[K, V]) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, m) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (m *ORMap[K, V]) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, m, "ORMap") }

// Value implementation: an ORMap nested in another.

func (m *ORMap[K, V]) inNew(ctx *dotCtx, partial bool) *ORMap[K, V] {
	return &ORMap[K, V]{ctx: ctx, partial: partial}
}

func (m *ORMap[K, V]) inJoin(o *ORMap[K, V], env *joinEnv) { m.join(o, env) }
func (m *ORMap[K, V]) inEmpty() bool                       { return len(m.m) == 0 && len(m.tombs) == 0 }
func (m *ORMap[K, V]) inHidden() bool                      { return len(m.m) == 0 && len(m.tombs) > 0 }
func (m *ORMap[K, V]) inCtx() *dotCtx                      { return m.ctx }

// inTombs reports whether the map's values keep tombstones: Lists, at any
// depth.
func (m *ORMap[K, V]) inTombs() bool {
	var zero V
	return zero.inTombs()
}

// inRemove removes every key, for a map nested in another whose key is
// removed: with List values, each is cleared (see Remove).
func (m *ORMap[K, V]) inRemove() *ORMap[K, V] {
	d := &ORMap[K, V]{ctx: &dotCtx{}, partial: true}
	keys := make([]K, 0, len(m.m))
	for k := range m.m {
		keys = append(keys, k)
	}
	for _, k := range keys {
		d.Merge(m.Remove(k))
	}
	return d
}

func (m *ORMap[K, V]) inDots(yield func(dot)) {
	for _, v := range m.m {
		v.inDots(yield)
	}
	for _, v := range m.tombs {
		v.inDots(yield)
	}
}

func (m *ORMap[K, V]) inClone(ctx *dotCtx) *ORMap[K, V] {
	c := &ORMap[K, V]{ctx: ctx, partial: m.partial}
	if len(m.m) > 0 {
		c.m = make(map[K]V, len(m.m))
		for k, v := range m.m {
			c.m[k] = v.inClone(ctx)
		}
	}
	if len(m.tombs) > 0 {
		c.tombs = make(map[K]V, len(m.tombs))
		for k, v := range m.tombs {
			c.tombs[k] = v.inClone(ctx)
		}
	}
	if len(m.gone) > 0 {
		c.gone = make(map[K]struct{}, len(m.gone))
		for k := range m.gone {
			c.gone[k] = struct{}{}
		}
	}
	return c
}

func (m *ORMap[K, V]) inEqual(o *ORMap[K, V], tr []uint32) bool {
	if m.partial != o.partial || len(m.m) != len(o.m) || len(m.tombs) != len(o.tombs) || len(m.gone) != len(o.gone) {
		return false
	}
	for k := range m.gone {
		if _, ok := o.gone[k]; !ok {
			return false
		}
	}
	for k, v := range m.m {
		ov, ok := o.m[k]
		if !ok || !v.inEqual(ov, tr) {
			return false
		}
	}
	for k, v := range m.tombs {
		ov, ok := o.tombs[k]
		if !ok || !v.inEqual(ov, tr) {
			return false
		}
	}
	return true
}

// inFull makes m and everything it holds a full state.
func (m *ORMap[K, V]) inFull() {
	m.partial = false
	m.gone = nil
	for _, v := range m.m {
		v.inFull()
	}
	for _, v := range m.tombs {
		v.inFull()
	}
}

func (m *ORMap[K, V]) inCheck(o *ORMap[K, V], c *checker) {
	for _, vs := range [2]map[K]V{o.m, o.tombs} {
		for k, ov := range vs {
			var v V // nil: m lacks k, or m is itself a key another map lacks
			if m != nil {
				var ok bool
				if v, ok = m.m[k]; !ok {
					v = m.tombs[k]
				}
			}
			v.inCheck(ov, c)
		}
	}
}

// inAppend writes [kind, partial, entries, removed keys].
func (m *ORMap[K, V]) inAppend(b []byte, pos []uint32) []byte {
	b = wire.AppendArrayLen(b, 4)
	b = wire.AppendUint(b, uint64(wire.KindORMap))
	b = wire.AppendBool(b, m.partial)
	return m.appendStore(b, pos)
}

func (m *ORMap[K, V]) inRead(r *wire.Reader, ctx *dotCtx, full bool) *ORMap[K, V] {
	out := &ORMap[K, V]{}
	readNested(r, wire.KindORMap, 4)
	at := r.Offset()
	out.partial = r.Bool()
	if !r.Failed() && out.partial && full {
		r.FailAt(at, "a partial value inside a full state")
		return out
	}
	out.readStore(r, ctx)
	return out
}
