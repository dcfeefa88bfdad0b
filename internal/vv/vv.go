// Package vv implements the sorted per-replica counters shared by
// vclock.Clock and the crdt counters: one implementation of the search,
// merge, compare and encoding of a version vector.
package vv

import (
	"slices"

	"github.com/converge-go/converge/internal/wire"
)

// An Entry is one replica's count.
type Entry[ID ~string] struct {
	ID ID
	N  uint64
}

// A Vector holds entries in ascending ID order with no zero counts. The
// zero Vector is empty.
type Vector[ID ~string] []Entry[ID]

// Search returns the index of id, or where it would be inserted.
func (v Vector[ID]) Search(id ID) (int, bool) {
	lo, hi := 0, len(v)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if v[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(v) && v[lo].ID == id
}

// Get returns the count of id, 0 if none.
func (v Vector[ID]) Get(id ID) uint64 {
	if i, ok := v.Search(id); ok {
		return v[i].N
	}
	return 0
}

// Add adds n to id's count, saturating at the largest uint64, and returns
// the new count and whether it saturated. Adding 0 to a missing id stores
// nothing.
func (v *Vector[ID]) Add(id ID, n uint64) (uint64, bool) {
	i, ok := v.Search(id)
	if !ok {
		if n == 0 {
			return 0, false
		}
		*v = slices.Insert(*v, i, Entry[ID]{id, n})
		return n, false
	}
	e := &(*v)[i]
	sum := e.N + n
	if sum < e.N {
		e.N = ^uint64(0)
		return e.N, true
	}
	e.N = sum
	return sum, false
}

// Set raises id's count to at least n.
func (v *Vector[ID]) Set(id ID, n uint64) {
	i, ok := v.Search(id)
	switch {
	case ok:
		(*v)[i].N = max((*v)[i].N, n)
	case n > 0:
		*v = slices.Insert(*v, i, Entry[ID]{id, n})
	}
}

// Merge sets v to the pointwise maximum of v and o. It allocates only when
// o names replicas v lacks, and never aliases o.
func (v *Vector[ID]) Merge(o Vector[ID]) {
	a := *v
	missing := 0
	for i, j := 0, 0; j < len(o); {
		switch {
		case i == len(a) || o[j].ID < a[i].ID:
			missing++
			j++
		case o[j].ID == a[i].ID:
			i++
			j++
		default:
			i++
		}
	}
	if missing == 0 {
		for i, j := 0, 0; j < len(o); i++ {
			if a[i].ID == o[j].ID {
				a[i].N = max(a[i].N, o[j].N)
				j++
			}
		}
		return
	}
	out := make(Vector[ID], 0, len(a)+missing)
	i, j := 0, 0
	for i < len(a) && j < len(o) {
		switch {
		case a[i].ID < o[j].ID:
			out = append(out, a[i])
			i++
		case a[i].ID > o[j].ID:
			out = append(out, o[j])
			j++
		default:
			out = append(out, Entry[ID]{a[i].ID, max(a[i].N, o[j].N)})
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	*v = append(out, o[j:]...)
}

// Compare reports whether some count of a is below b's (less) and whether
// some count of a is above b's (more). Missing entries, and explicit zero
// entries, count as zero.
func Compare[ID ~string](a, b Vector[ID]) (less, more bool) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].ID < b[j].ID:
			more = more || a[i].N > 0
			i++
		case a[i].ID > b[j].ID:
			less = less || b[j].N > 0
			j++
		default:
			less = less || a[i].N < b[j].N
			more = more || a[i].N > b[j].N
			i++
			j++
		}
	}
	for ; i < len(a); i++ {
		more = more || a[i].N > 0
	}
	for ; j < len(b); j++ {
		less = less || b[j].N > 0
	}
	return less, more
}

// Equal reports whether a and b hold the same counts.
func Equal[ID ~string](a, b Vector[ID]) bool {
	less, more := Compare(a, b)
	return !less && !more
}

// Sum returns the sum of the counts, saturating at the largest uint64.
func (v Vector[ID]) Sum() uint64 {
	var s uint64
	for _, e := range v {
		if s+e.N < s {
			return ^uint64(0)
		}
		s += e.N
	}
	return s
}

// Append appends v as a msgpack map {id: count}, ids ascending.
func (v Vector[ID]) Append(b []byte) []byte {
	b = wire.AppendMapLen(b, len(v))
	for _, e := range v {
		b = wire.AppendString(b, string(e.ID))
		b = wire.AppendUint(b, e.N)
	}
	return b
}

// Read reads a map written by Append, failing r unless ids are strictly
// ascending and every count is in 1..maxCount.
func Read[ID ~string](r *wire.Reader, maxCount uint64) Vector[ID] {
	n := r.MapLen()
	if n == 0 {
		return nil
	}
	v := make(Vector[ID], 0, n)
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := ID(r.Str())
		if i > 0 && id <= v[i-1].ID {
			r.FailAt(at, "replica "+string(id)+" out of order or repeated")
			return nil
		}
		at = r.Offset()
		c := r.Uint()
		if !r.Failed() && (c == 0 || c > maxCount) {
			r.FailAt(at, "count of replica "+string(id)+" is 0 or above the limit")
			return nil
		}
		v = append(v, Entry[ID]{id, c})
	}
	return v
}

// UnionSorted returns the union of two ascending slices of counters, in a
// new slice: the merge of two dot clouds.
func UnionSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
