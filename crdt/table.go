package crdt

import "hash/maphash"

// hashSeed seeds the hash of every element of every table in the process,
// so that a merge can carry an element's hash from the table it reads to
// the table it writes instead of hashing the element again.
var hashSeed = maphash.MakeSeed()

// hashOf returns e's 32-bit table hash, which is never 0.
func hashOf[E comparable](e E) uint32 {
	h := uint32(maphash.Comparable(hashSeed, e) >> 32)
	if h == 0 {
		h = 1
	}
	return h
}

// A table is the large form of a dotStore: an open-addressing hash table
// from elements to packed values that keeps each element's hash beside it.
//
// Go's map is fast at lookups, but a merge of two large stores spends most
// of its time where the map reads key bytes it has already hashed once:
// growing (every key is hashed again) and probing for keys it does not
// hold. Keeping the hash means a table grows, shrinks and is cloned
// without reading an element, a probe compares an element only when the
// hashes match, and a merge passes the hash it read from one table to the
// next, so an element the receiver lacks costs no read of its bytes at all.
//
// Slot i holds hs[i] (0: empty) and es[i]. An element's home slot is its
// hash scaled to the table's length (so the table needs no power-of-two
// size, and slots are in hash order); a probe walks forward from there,
// wrapping at the end. A deletion shifts the run that follows back over
// the freed slot, so there are no tombstones and a probe stops at the
// first empty slot.
type table[E comparable] struct {
	hs []uint32
	es []storeEntry[E]
	n  int // occupied slots
}

// Load: a table holds at most 3/4 of its slots, so the expected probe
// length stays under 3 slots for a hit and 9 for a miss (Knuth's linear
// probing figures), all in the compact hash array.
const (
	tableLoadNum = 3
	tableLoadDen = 4
	tableMinLen  = 16
)

// tableLen is the number of slots for n elements.
func tableLen(n int) int {
	l := n/tableLoadNum*tableLoadDen + tableLoadDen
	return max(l, tableMinLen)
}

func newTable[E comparable](n int) *table[E] {
	l := tableLen(n)
	return &table[E]{hs: make([]uint32, l), es: make([]storeEntry[E], l)}
}

// home returns the slot a probe for hash h starts at.
func (t *table[E]) home(h uint32) int {
	return int(uint64(h) * uint64(len(t.hs)) >> 32)
}

// find returns the slot of e, whose hash is h, or -1.
func (t *table[E]) find(e E, h uint32) int {
	hs := t.hs
	i := t.home(h)
	for {
		switch hs[i] {
		case 0:
			return -1
		case h:
			if t.es[i].e == e {
				return i
			}
		}
		if i++; i == len(hs) {
			i = 0
		}
	}
}

// place puts e, known absent, in the first free slot from its home. The
// table must have a free slot.
func (t *table[E]) place(e E, h uint32, v uint64) {
	hs := t.hs
	i := t.home(h)
	for hs[i] != 0 {
		if i++; i == len(hs) {
			i = 0
		}
	}
	hs[i] = h
	t.es[i] = storeEntry[E]{e, v}
	t.n++
}

// full reports whether one more element would pass the load limit.
func (t *table[E]) full() bool {
	return (t.n+1)*tableLoadDen > len(t.hs)*tableLoadNum
}

// resize moves every element to a table sized for n elements (n ≥ t.n)
// without hashing any of them again.
func (t *table[E]) resize(n int) {
	old := *t
	*t = *newTable[E](n)
	for i, h := range old.hs {
		if h != 0 {
			t.place(old.es[i].e, h, old.es[i].v)
		}
	}
}

// put sets e's value to v and reports whether e was added.
func (t *table[E]) put(e E, h uint32, v uint64) bool {
	if i := t.find(e, h); i >= 0 {
		t.es[i].v = v
		return false
	}
	if t.full() {
		t.resize(2 * t.n)
	}
	t.place(e, h, v)
	return true
}

// del removes e and reports whether it was present.
func (t *table[E]) del(e E, h uint32) bool {
	i := t.find(e, h)
	if i < 0 {
		return false
	}
	hs, l := t.hs, len(t.hs)
	// Shift back every entry of the run after i that may sit at i: one
	// whose home is not in (i, j], cyclically.
	for j := i + 1; ; j++ {
		if j == l {
			j = 0
		}
		hj := hs[j]
		if hj == 0 {
			break
		}
		k := t.home(hj)
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			hs[i], t.es[i] = hj, t.es[j]
			i = j
		}
	}
	hs[i], t.es[i] = 0, storeEntry[E]{}
	t.n--
	return true
}

func (t *table[E]) clone() *table[E] {
	return &table[E]{hs: append([]uint32(nil), t.hs...), es: append([]storeEntry[E](nil), t.es...), n: t.n}
}
