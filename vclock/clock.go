package vclock

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/converge-go/converge/internal/vv"
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
	e vv.Vector[ReplicaID] // ascending by ID; every N > 0
}

// FromMap returns a clock holding the counters of m. Zero counters are
// dropped: a clock never stores one.
func FromMap(m map[ReplicaID]uint64) *Clock {
	var c *Clock
	if len(m) == 1 { // a delta's: one allocation for the clock and its entry
		one := &struct {
			c Clock
			e [1]vv.Entry[ReplicaID]
		}{}
		c = &one.c
		c.e = one.e[:0]
	} else {
		c = &Clock{e: make(vv.Vector[ReplicaID], 0, len(m))}
	}
	for id, n := range m {
		if n > 0 {
			c.e = append(c.e, vv.Entry[ReplicaID]{ID: id, N: n})
		}
	}
	slices.SortFunc(c.e, func(a, b vv.Entry[ReplicaID]) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return c
}

func (c *Clock) entries() vv.Vector[ReplicaID] {
	if c == nil {
		return nil
	}
	return c.e
}

// Tick records one more event of replica id and returns its new count.
// It panics if the count would overflow uint64, which takes 2^63 events
// past [MaxCounter].
func (c *Clock) Tick(id ReplicaID) uint64 {
	n, saturated := c.e.Add(id, 1)
	if saturated {
		panic("vclock: counter overflow for replica " + strconv.Quote(string(id)))
	}
	return n
}

// Get returns the count of replica id, 0 if the clock has none.
func (c *Clock) Get(id ReplicaID) uint64 { return c.entries().Get(id) }

// Len returns the number of replicas with a non-zero count.
func (c *Clock) Len() int { return len(c.entries()) }

// All returns the (replica, count) pairs in ascending ReplicaID order.
// Counts are never zero.
func (c *Clock) All() iter.Seq2[ReplicaID, uint64] {
	return func(yield func(ReplicaID, uint64) bool) {
		for _, e := range c.entries() {
			if !yield(e.ID, e.N) {
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
	if c != o {
		c.e.Merge(o.entries())
	}
}

// Compare returns how c stands against o in the happened-before order:
// [Before] if every count of c is at most o's and one is smaller, [After]
// in the mirror case, [Equal] if all counts match, [Concurrent] otherwise.
// Missing replicas count as zero. The complexity is O(n+m), with no
// allocation.
func (c *Clock) Compare(o *Clock) Order {
	less, more := vv.Compare(c.entries(), o.entries())
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
	_, less := vv.Compare(o.entries(), c.entries())
	return !less
}

// Equal reports whether c and o hold the same counts.
func (c *Clock) Equal(o *Clock) bool { return vv.Equal(c.entries(), o.entries()) }

// String formats c as {a:1 b:2}, in ReplicaID order.
func (c *Clock) String() string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range c.entries() {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(string(e.ID))
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatUint(e.N, 10))
	}
	sb.WriteByte('}')
	return sb.String()
}
