package vclock

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A ReplicaID names one writer: a process, a node or a region, whatever
// issues operations on its own. Two writers must never share an ID. IDs are
// ordered by their bytes; that order fixes every canonical order in
// converge. Keep them short: they travel in every encoding.
type ReplicaID string

// An Order is the result of comparing two clocks: exactly one of [Equal],
// [Before], [After] and [Concurrent].
type Order int

const (
	// Equal: both clocks have seen the same events.
	Equal Order = iota
	// Before: the receiver has seen a strict subset of the other's events
	// (it happened before the other).
	Before
	// After: the receiver has seen a strict superset of the other's events.
	After
	// Concurrent: each has seen an event the other has not.
	Concurrent
)

// String returns "Equal", "Before", "After" or "Concurrent".
func (o Order) String() string {
	switch o {
	case Equal:
		return "Equal"
	case Before:
		return "Before"
	case After:
		return "After"
	case Concurrent:
		return "Concurrent"
	}
	return "Order(" + strconv.Itoa(int(o)) + ")"
}

// MaxCounter is the largest counter a decoder accepts. Bounding what peers
// may send keeps a local Tick from ever reaching the end of uint64: it would
// take 2^63 more events.
const MaxCounter = math.MaxInt64

// A Clock is a version vector: for each replica, how many of its events
// have been seen. A replica missing from the clock counts as zero, so an
// explicit zero never changes a comparison.
//
// The zero Clock is empty and ready to use; a nil *Clock reads as empty.
// Entries are kept in a slice sorted by ReplicaID, so reads cost O(log n),
// Compare and Merge O(n+m), and a Tick of a new replica O(n). A Clock is not
// safe for concurrent use, and a copied Clock value shares its entries with
// the original: use [Clock.Clone].
type Clock struct {
	e []entry // ascending by id; every n > 0
}

type entry struct {
	id ReplicaID
	n  uint64
}

// FromMap returns a clock holding the counters of m. Zero counters are
// dropped: a clock never stores one.
func FromMap(m map[ReplicaID]uint64) *Clock {
	c := &Clock{e: make([]entry, 0, len(m))}
	for id, n := range m {
		if n > 0 {
			c.e = append(c.e, entry{id, n})
		}
	}
	slices.SortFunc(c.e, func(a, b entry) int { return strings.Compare(string(a.id), string(b.id)) })
	return c
}

func (c *Clock) entries() []entry {
	if c == nil {
		return nil
	}
	return c.e
}

// search returns the index of id in c.e, or where it would be inserted.
func (c *Clock) search(id ReplicaID) (int, bool) {
	e := c.e
	lo, hi := 0, len(e)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(e) && e[lo].id == id
}

// Tick records one more event of replica id and returns its new count.
// It panics if the count would overflow uint64, which takes 2^63 events
// past [MaxCounter].
func (c *Clock) Tick(id ReplicaID) uint64 {
	i, ok := c.search(id)
	if !ok {
		c.e = slices.Insert(c.e, i, entry{id, 1})
		return 1
	}
	if c.e[i].n == math.MaxUint64 {
		panic("vclock: counter overflow for replica " + strconv.Quote(string(id)))
	}
	c.e[i].n++
	return c.e[i].n
}

// Get returns the count of replica id, 0 if the clock has none.
func (c *Clock) Get(id ReplicaID) uint64 {
	if c == nil {
		return 0
	}
	if i, ok := c.search(id); ok {
		return c.e[i].n
	}
	return 0
}

// Len returns the number of replicas with a non-zero count.
func (c *Clock) Len() int { return len(c.entries()) }

// All returns the (replica, count) pairs in ascending ReplicaID order.
// Counts are never zero.
func (c *Clock) All() iter.Seq2[ReplicaID, uint64] {
	return func(yield func(ReplicaID, uint64) bool) {
		for _, e := range c.entries() {
			if !yield(e.id, e.n) {
				return
			}
		}
	}
}

// Clone returns an independent copy of c. The complexity is O(n).
func (c *Clock) Clone() *Clock {
	return &Clock{e: slices.Clone(c.entries())}
}

// Merge sets c to the pointwise maximum of c and o: afterwards c has seen
// every event either had seen. It is commutative, associative and
// idempotent. It allocates only when o names replicas c lacks.
func (c *Clock) Merge(o *Clock) {
	oe := o.entries()
	if len(oe) == 0 || c == o {
		return
	}
	// Count the replicas c lacks; when there are none, update in place.
	missing := 0
	for i, j := 0, 0; j < len(oe); {
		switch {
		case i == len(c.e) || oe[j].id < c.e[i].id:
			missing++
			j++
		case oe[j].id == c.e[i].id:
			i++
			j++
		default:
			i++
		}
	}
	if missing == 0 {
		for i, j := 0, 0; j < len(oe); i++ {
			if c.e[i].id == oe[j].id {
				c.e[i].n = max(c.e[i].n, oe[j].n)
				j++
			}
		}
		return
	}
	out := make([]entry, 0, len(c.e)+missing)
	i, j := 0, 0
	for i < len(c.e) && j < len(oe) {
		switch {
		case c.e[i].id < oe[j].id:
			out = append(out, c.e[i])
			i++
		case c.e[i].id > oe[j].id:
			out = append(out, oe[j])
			j++
		default:
			out = append(out, entry{c.e[i].id, max(c.e[i].n, oe[j].n)})
			i++
			j++
		}
	}
	out = append(out, c.e[i:]...)
	out = append(out, oe[j:]...)
	c.e = out
}

// Compare returns how c stands against o in the happened-before order:
// [Before] if every count of c is at most o's and one is smaller, [After]
// in the mirror case, [Equal] if all counts match, [Concurrent] otherwise.
// Missing replicas count as zero. The complexity is O(n+m), with no
// allocation.
func (c *Clock) Compare(o *Clock) Order {
	a, b := c.entries(), o.entries()
	less, more := false, false // some count of c is below / above o's
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].id < b[j].id:
			more = more || a[i].n > 0
			i++
		case a[i].id > b[j].id:
			less = less || b[j].n > 0
			j++
		default:
			less = less || a[i].n < b[j].n
			more = more || a[i].n > b[j].n
			i++
			j++
		}
	}
	for ; i < len(a); i++ {
		more = more || a[i].n > 0
	}
	for ; j < len(b); j++ {
		less = less || b[j].n > 0
	}
	switch {
	case less && more:
		return Concurrent
	case less:
		return Before
	case more:
		return After
	}
	return Equal
}

// Descends reports whether c has seen every event o has seen: Compare
// returns [Equal] or [After].
func (c *Clock) Descends(o *Clock) bool {
	ord := c.Compare(o)
	return ord == Equal || ord == After
}

// Equal reports whether c and o hold the same counts.
func (c *Clock) Equal(o *Clock) bool { return c.Compare(o) == Equal }

// String formats c as {a:1 b:2}, in ReplicaID order.
func (c *Clock) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range c.entries() {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(string(e.id))
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatUint(e.n, 10))
	}
	sb.WriteByte('}')
	return sb.String()
}
