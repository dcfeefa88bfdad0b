package crdt

// A dotStore maps elements to the dots that added them. It is built for the
// two shapes that matter: deltas and small nested sets, kept in a slice
// scanned linearly, and large sets, kept in a hash table (table.go) that
// shrinks again after mass removals. An element almost always has exactly one dot, packed with
// its tag into the table's uint64 value; an element with several dots
// (concurrent adds), or a dot too large to pack, keeps its dots in extra.

// smallStore is how many elements a store keeps in a slice before it moves
// them to a table.
const smallStore = 8

// Packing: replica index (16 bits) | removal tag (1 bit) | counter (47
// bits). The zero value means "see extra".
const (
	packCounterBits = 47
	packCounterMask = 1<<packCounterBits - 1
	packTag         = 1 << packCounterBits
	packMaxReplica  = 1<<16 - 1
)

// A tdot is a dot with the tag that RWSet and DWFlag put on removals. The
// tag is part of the event: one dot never carries both tags.
type tdot struct {
	dot
	rm bool
}

func pack(d tdot) (uint64, bool) {
	if d.r >= packMaxReplica || d.c > packCounterMask || d.c == 0 {
		return 0, false
	}
	v := uint64(d.r)<<48 | d.c
	if d.rm {
		v |= packTag
	}
	return v, true
}

func unpack(v uint64) tdot {
	return tdot{dot{uint32(v >> 48), v & packCounterMask}, v&packTag != 0}
}

type storeEntry[E comparable] struct {
	e E
	v uint64
}

type dotStore[E comparable] struct {
	small []storeEntry[E]
	t     *table[E]
	extra map[E][]tdot // sorted by (r, c); for entries whose value is 0
	peak  int          // table size at its last growth or rebuild
}

func (s *dotStore[E]) len() int {
	if s.t != nil {
		return s.t.n
	}
	return len(s.small)
}

// get returns e's packed dot, or 0 if e's dots are in extra; ok reports
// whether e is present.
func (s *dotStore[E]) get(e E) (v uint64, ok bool) {
	return s.getH(e, 0)
}

// getH is get for an element whose table hash is h; 0 stands for not yet
// computed.
func (s *dotStore[E]) getH(e E, h uint32) (v uint64, ok bool) {
	if s.t != nil {
		if h == 0 {
			h = hashOf(e)
		}
		if i := s.t.find(e, h); i >= 0 {
			return s.t.es[i].v, true
		}
		return 0, false
	}
	for i := range s.small {
		if s.small[i].e == e {
			return s.small[i].v, true
		}
	}
	return 0, false
}

// dots appends e's dots to buf.
func (s *dotStore[E]) dots(e E, buf []tdot) []tdot {
	v, ok := s.get(e)
	return s.expand(e, v, ok, buf)
}

func (s *dotStore[E]) expand(e E, v uint64, ok bool, buf []tdot) []tdot {
	switch {
	case !ok:
		return buf
	case v != 0:
		return append(buf, unpack(v))
	}
	return append(buf, s.extra[e]...)
}

// reserve makes room for n elements in an empty store.
func (s *dotStore[E]) reserve(n int) {
	if n > smallStore && s.t == nil && len(s.small) == 0 {
		s.t = newTable[E](n)
		s.peak = n
	}
}

// put stores v for e, which must have no extra dots.
func (s *dotStore[E]) put(e E, v uint64) { s.putH(e, 0, v) }

// putH is put for an element whose table hash is h (0: not yet computed),
// and reports whether e was added.
func (s *dotStore[E]) putH(e E, h uint32, v uint64) bool {
	if s.t != nil {
		if h == 0 {
			h = hashOf(e)
		}
		if !s.t.put(e, h, v) {
			return false
		}
		if s.t.n > s.peak {
			s.peak = s.t.n
		}
		return true
	}
	for i := range s.small {
		if s.small[i].e == e {
			s.small[i].v = v
			return false
		}
	}
	if len(s.small) < smallStore {
		s.small = append(s.small, storeEntry[E]{e, v})
		return true
	}
	s.t = newTable[E](2 * smallStore)
	for _, x := range s.small {
		s.t.place(x.e, hashOf(x.e), x.v)
	}
	s.small = nil
	if h == 0 {
		h = hashOf(e)
	}
	s.t.place(e, h, v)
	s.peak = s.t.n
	return true
}

// makeRoom makes room for k more elements, so that a run of k inserts does
// not grow the table on the way. A merge must call it before inserting a
// table's elements in the table's order: that order is hash order, and a
// table that grows while it fills in hash order packs everything it holds
// into the front of its slots, where the runs grow long. Room made and
// not used is given back by fit.
func (s *dotStore[E]) makeRoom(k int) {
	n := s.len() + k
	switch {
	case s.t != nil:
		if n*tableLoadDen > len(s.t.hs)*tableLoadNum {
			s.t.resize(n)
		}
	case n > smallStore:
		t := newTable[E](n)
		for _, x := range s.small {
			t.place(x.e, hashOf(x.e), x.v)
		}
		s.t, s.small = t, nil
		s.peak = max(s.peak, t.n)
	}
}

// fit shrinks a table that holds less than a quarter of what its slots
// could, as a merge that made room for elements the store already had
// leaves it.
func (s *dotStore[E]) fit() {
	if s.t == nil {
		return
	}
	if n := s.t.n; 4*n < len(s.t.hs)*tableLoadNum/tableLoadDen {
		if n <= smallStore {
			s.rebuild()
			return
		}
		s.t.resize(n)
	}
}

// hashFor returns e's table hash if the store is a table, else 0.
func (s *dotStore[E]) hashFor(e E) uint32 {
	if s.t != nil {
		return hashOf(e)
	}
	return 0
}

// insert stores v for e, which must be absent; h is e's table hash or 0.
func (s *dotStore[E]) insert(e E, h uint32, v uint64) {
	if s.t == nil || h == 0 {
		s.putH(e, h, v)
		return
	}
	if s.t.full() {
		s.t.resize(2 * s.t.n)
	}
	s.t.place(e, h, v)
	if s.t.n > s.peak {
		s.peak = s.t.n
	}
}

// set replaces e's dots with ds, sorted by (r, c); no dots deletes e.
func (s *dotStore[E]) set(e E, ds []tdot) {
	if len(ds) == 0 {
		s.del(e)
		return
	}
	if len(ds) == 1 {
		if v, ok := pack(ds[0]); ok {
			if s.extra != nil {
				delete(s.extra, e)
			}
			s.put(e, v)
			return
		}
	}
	if s.extra == nil {
		s.extra = make(map[E][]tdot)
	}
	s.extra[e] = append([]tdot(nil), ds...)
	s.put(e, 0)
}

// del removes e. A table that has lost half its peak size is rebuilt, so
// that memory follows the live elements down.
func (s *dotStore[E]) del(e E) {
	if s.extra != nil {
		delete(s.extra, e)
	}
	if s.t == nil {
		for i := range s.small {
			if s.small[i].e == e {
				last := len(s.small) - 1
				s.small[i] = s.small[last]
				s.small[last] = storeEntry[E]{}
				s.small = s.small[:last]
				return
			}
		}
		return
	}
	s.t.del(e, hashOf(e))
	if n := s.t.n; n <= s.peak/2 {
		s.rebuild()
	}
}

func (s *dotStore[E]) rebuild() {
	n := s.t.n
	if n <= smallStore {
		small := make([]storeEntry[E], 0, n)
		s.all(func(e E, v uint64) bool {
			small = append(small, storeEntry[E]{e, v})
			return true
		})
		s.t, s.small, s.peak = nil, small, 0
		return
	}
	s.t.resize(n)
	s.peak = n
}

// all calls f for every element and its packed value (0: see extra) until
// f returns false. f must not change the store.
func (s *dotStore[E]) all(f func(e E, v uint64) bool) {
	s.allH(func(e E, _ uint32, v uint64) bool { return f(e, v) })
}

// allH is all with each element's table hash, 0 in a store that keeps
// none.
func (s *dotStore[E]) allH(f func(e E, h uint32, v uint64) bool) {
	if s.t != nil {
		for i, h := range s.t.hs {
			if h != 0 && !f(s.t.es[i].e, h, s.t.es[i].v) {
				return
			}
		}
		return
	}
	for _, x := range s.small {
		if !f(x.e, 0, x.v) {
			return
		}
	}
}

func (s *dotStore[E]) clone() dotStore[E] {
	out := dotStore[E]{peak: s.peak}
	if s.t != nil {
		out.t = s.t.clone()
		out.peak = s.t.n
	} else if len(s.small) > 0 {
		out.small = append([]storeEntry[E](nil), s.small...)
	}
	if len(s.extra) > 0 {
		out.extra = make(map[E][]tdot, len(s.extra))
		for e, ds := range s.extra {
			out.extra[e] = append([]tdot(nil), ds...)
		}
	}
	return out
}
