package crdt

// A dotStore maps elements to the dots that added them. It is built for the
// two shapes that matter: deltas and small nested sets, kept in a slice
// scanned linearly, and large sets, kept in a map that shrinks again after
// mass removals. An element almost always has exactly one dot, packed with
// its tag into the map's uint64 value; an element with several dots
// (concurrent adds), or a dot too large to pack, keeps its dots in extra.

// smallStore is how many elements a store keeps in a slice before it moves
// them to a map.
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
	m     map[E]uint64
	extra map[E][]tdot // sorted by (r, c); for entries whose value is 0
	peak  int          // map size at its last growth or rebuild
}

func (s *dotStore[E]) len() int {
	if s.m != nil {
		return len(s.m)
	}
	return len(s.small)
}

// get returns e's packed dot, or 0 if e's dots are in extra; ok reports
// whether e is present.
func (s *dotStore[E]) get(e E) (v uint64, ok bool) {
	if s.m != nil {
		v, ok = s.m[e]
		return v, ok
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
	if n > smallStore && s.m == nil && len(s.small) == 0 {
		s.m = make(map[E]uint64, n)
		s.peak = n
	}
}

// put stores v for e, which must have no extra dots.
func (s *dotStore[E]) put(e E, v uint64) {
	if s.m != nil {
		s.m[e] = v
		if len(s.m) > s.peak {
			s.peak = len(s.m)
		}
		return
	}
	for i := range s.small {
		if s.small[i].e == e {
			s.small[i].v = v
			return
		}
	}
	if len(s.small) < smallStore {
		s.small = append(s.small, storeEntry[E]{e, v})
		return
	}
	s.m = make(map[E]uint64, 2*smallStore)
	for _, x := range s.small {
		s.m[x.e] = x.v
	}
	s.small = nil
	s.m[e] = v
	s.peak = len(s.m)
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

// del removes e. A map that has lost half its peak size is rebuilt, so
// that memory follows the live elements down (a Go map never shrinks).
func (s *dotStore[E]) del(e E) {
	if s.extra != nil {
		delete(s.extra, e)
	}
	if s.m == nil {
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
	delete(s.m, e)
	if n := len(s.m); n <= s.peak/2 {
		s.rebuild()
	}
}

func (s *dotStore[E]) rebuild() {
	n := len(s.m)
	if n <= smallStore {
		small := make([]storeEntry[E], 0, n)
		for e, v := range s.m {
			small = append(small, storeEntry[E]{e, v})
		}
		s.m, s.small, s.peak = nil, small, 0
		return
	}
	m := make(map[E]uint64, n)
	for e, v := range s.m {
		m[e] = v
	}
	s.m, s.peak = m, n
}

// all calls f for every element and its packed value (0: see extra) until
// f returns false. f must not change the store.
func (s *dotStore[E]) all(f func(e E, v uint64) bool) {
	if s.m != nil {
		for e, v := range s.m {
			if !f(e, v) {
				return
			}
		}
		return
	}
	for _, x := range s.small {
		if !f(x.e, x.v) {
			return
		}
	}
}

func (s *dotStore[E]) clone() dotStore[E] {
	out := dotStore[E]{peak: s.peak}
	if s.m != nil {
		out.m = make(map[E]uint64, len(s.m))
		for e, v := range s.m {
			out.m[e] = v
		}
		out.peak = len(s.m)
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
