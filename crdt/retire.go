package crdt

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// Retired writers. Every replica ID that ever wrote to a causal state
// keeps an entry in its context, and so in every encoding of it: with
// replicas that restart under a new writer ID each time, or ephemeral
// ones, the context grows with every ID ever used. Retiring a range of
// IDs says that none of them will write again and that every event they
// issued has been seen: the context then counts every dot of theirs as
// seen, listed or not, and its entries for them go once the state holds
// none of their dots. What the state holds of them stays, under its
// dots; a dot of theirs the state has not seen is taken for removed, and
// a mutator may not write under a retired ID again (it panics).

// An IDRange is a set of replica IDs: those of Lo's length between Lo and
// Hi, both included, in byte order. IDs of one fixed-width format —
// a writer ID's incarnation suffix, a pod's zero-padded ordinal — so form
// ranges: us-east~0000000000000 to us-east~fzzzzzzzzzzzz is every
// writer ID of us-east. A single ID is the range from it to itself.
type IDRange struct {
	Lo, Hi vclock.ReplicaID
}

// ErrBadRange is returned by the Retire methods for a range that is not
// one: Lo and Hi of different lengths, empty, or Lo after Hi.
var ErrBadRange = errors.New("crdt: not a replica ID range")

// Contains reports whether id is in g.
func (g IDRange) Contains(id vclock.ReplicaID) bool {
	return len(id) == len(g.Lo) && g.Lo <= id && id <= g.Hi
}

func (g IDRange) String() string { return "[" + string(g.Lo) + ", " + string(g.Hi) + "]" }

// check returns ErrBadRange, wrapped, if g is not a range.
func (g IDRange) check() error {
	if len(g.Lo) == 0 || len(g.Lo) != len(g.Hi) || g.Lo > g.Hi {
		return fmt.Errorf("%w: %s", ErrBadRange, g)
	}
	return nil
}

// cmpRange orders ranges by length, then by Lo: the canonical order.
func cmpRange(a, b IDRange) int {
	if len(a.Lo) != len(b.Lo) {
		return len(a.Lo) - len(b.Lo)
	}
	return strings.Compare(string(a.Lo), string(b.Lo))
}

// covers reports whether a retired range of x holds id.
func (x *dotCtx) covers(id vclock.ReplicaID) bool {
	if x == nil || len(x.gone) == 0 {
		return false
	}
	i, _ := slices.BinarySearchFunc(x.gone, IDRange{id, id}, cmpRange)
	// x.gone[i-1] is the last range of id's length starting at or
	// before id (i may name one starting at id exactly).
	if i < len(x.gone) && x.gone[i].Contains(id) {
		return true
	}
	return i > 0 && x.gone[i-1].Contains(id)
}

// retire adds the ranges gs to x's, and marks the entries they cover. It
// reports whether anything changed.
func (x *dotCtx) retire(gs []IDRange) bool {
	all := append(slices.Clone(x.gone), gs...)
	slices.SortFunc(all, cmpRange)
	out := all[:0]
	for _, g := range all {
		if n := len(out); n > 0 && len(out[n-1].Lo) == len(g.Lo) && g.Lo <= out[n-1].Hi {
			out[n-1].Hi = max(out[n-1].Hi, g.Hi)
			continue
		}
		out = append(out, g)
	}
	if slices.Equal(out, x.gone) {
		return false
	}
	x.gone = slices.Clip(out)
	for i, id := range x.ids {
		x.ent[i].retired = x.covers(id)
	}
	return true
}

// deadRetired returns the entries of x that encodings omit: retired
// writers' of which the store holds no dot.
func (x *dotCtx) deadRetired() int {
	if x == nil {
		return 0
	}
	n := 0
	for i := range x.ent {
		if e := &x.ent[i]; e.retired && e.live == 0 {
			n++
		}
	}
	return n
}

// readRanges reads n retired ranges, lo then hi each, and checks that they
// are canonical: each a range, in the order of cmpRange, none overlapping
// the one before of its length.
func readRanges(r *wire.Reader, n int) []IDRange {
	if n == 0 || r.Failed() {
		return nil
	}
	gs := make([]IDRange, 0, r.Presize(n, 2*sliceEntryBytes[vclock.ReplicaID]()))
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		g := IDRange{vclock.ReplicaID(r.Str()), vclock.ReplicaID(r.Str())}
		if r.Failed() {
			return gs
		}
		if g.check() != nil {
			r.FailAt(at, "retired range "+g.String()+" is not a range")
			return gs
		}
		if k := len(gs); k > 0 && (cmpRange(gs[k-1], g) >= 0 || len(g.Lo) == len(gs[k-1].Lo) && g.Lo <= gs[k-1].Hi) {
			r.FailAt(at, "retired range "+g.String()+" out of order or overlapping")
			return gs
		}
		gs = append(gs, g)
	}
	return gs
}

// retiredRanges returns a copy of x's retired ranges.
func (x *dotCtx) retiredRanges() []IDRange {
	if x == nil {
		return nil
	}
	return slices.Clone(x.gone)
}

// A retirable is a top-level causal state whose encoding rebuilds it.
type retirable[T any] interface {
	*T
	MarshalBinary() ([]byte, error)
	unmarshal(b []byte, lim wire.Limits) error
}

// unbounded are the limits a state is decoded with when it rebuilds
// itself from its own encoding.
var unbounded = wire.Limits{MaxBytes: math.MaxInt, MaxElements: math.MaxInt, MaxDepth: math.MaxInt32}

// retire retires g in ctx, the context of s, and returns a delta context
// holding the range alone. Once ctx has at least linearIDs entries the
// encoding omits, and as many as it lists, s is rebuilt from its encoding,
// which numbers the replicas afresh: that is what frees them. (A state
// that merged ranges from another compacts so on its next Retire, of any
// range it holds: the scan costs O(replicas).)
func retire[T any, P retirable[T]](s P, ctx func(P) *dotCtx, g IDRange) (*dotCtx, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	c := ctx(s)
	d := &dotCtx{gone: []IDRange{g}}
	c.edited(d)
	c.retire(d.gone)
	if dead := c.deadRetired(); dead < linearIDs || dead < len(c.ids)-dead {
		return d, nil
	}
	b, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	edits := c.edits
	var n T
	if err := P(&n).unmarshal(b, unbounded); err != nil {
		return nil, fmt.Errorf("crdt: rebuilding a state after retiring %s: %w", g, err)
	}
	*s = n
	ctx(s).edits = edits
	return d, nil
}

// checkShown fails r if x, just read with its store, lists a retired
// writer of which the store holds no dot: an encoder leaves such an entry
// out, so a canonical encoding has none.
func (x *dotCtx) checkShown(r *wire.Reader) {
	if r.Failed() || len(x.gone) == 0 {
		return
	}
	for i := range x.ent {
		if !x.ent[i].shown() {
			r.Fail("retired replica " + string(x.ids[i]) + " listed without a dot in the store")
			return
		}
	}
}
