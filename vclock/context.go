package vclock

import (
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/converge-go/converge/internal/vv"
)

// A Context is a causal context: the set of dots (events) a replica has
// seen. It is kept compact, as in the delta-CRDT papers: a version vector
// holds, per replica, the contiguous run of counters 1..n, and a dot cloud
// holds the seen dots beyond a gap. A replica that receives events in order
// has an empty cloud, so a context costs O(replicas), not O(events).
//
// Every method leaves the context compact: no cloud dot is covered by the
// version vector or continues it. So two contexts with the same dots have
// the same representation, and the same encoding.
//
// The zero Context is empty and ready to use; a nil *Context reads as empty.
// A Context is not safe for concurrent use, and a copied Context value
// shares its state with the original: use [Context.Clone].
type Context struct {
	vv    Clock
	cloud map[ReplicaID][]uint64 // per replica: ascending, each > vv.Get(r)+1, never empty
}

// ContextOf returns the context holding, for every replica r of vv, the
// dots r:1 through r:vv.Get(r): what a replica whose version vector is vv
// has seen.
func ContextOf(vv *Clock) *Context {
	return &Context{vv: *vv.Clone()}
}

// Next returns the next dot of replica id — one past the largest counter of
// id the context has seen — and adds it. It is how a replica names its own
// new event.
func (c *Context) Next(id ReplicaID) Dot {
	d := Dot{id, c.Max(id) + 1}
	c.Add(d)
	return d
}

// Max returns the largest counter of replica id that the context has seen,
// 0 if none.
func (c *Context) Max(id ReplicaID) uint64 {
	if c == nil {
		return 0
	}
	if s := c.cloud[id]; len(s) > 0 {
		return s[len(s)-1]
	}
	return c.vv.Get(id)
}

// Add records dot d as seen. Adding a dot with counter 0, or one already
// seen, does nothing. The cost is O(log n) when d continues the replica's
// contiguous run, which is the common case, and O(k) in the size of the
// replica's cloud otherwise.
func (c *Context) Add(d Dot) {
	if d.Counter == 0 {
		return
	}
	i, ok := c.vv.e.Search(d.Replica)
	var top uint64
	if ok {
		top = c.vv.e[i].N
	}
	switch {
	case d.Counter <= top:
		return
	case d.Counter == top+1:
		if ok {
			c.vv.e[i].N++
		} else {
			c.vv.e = slices.Insert(c.vv.e, i, vv.Entry[ReplicaID]{ID: d.Replica, N: 1})
		}
		if len(c.cloud[d.Replica]) > 0 {
			c.compact(d.Replica)
		}
		return
	}
	s := c.cloud[d.Replica]
	j, found := slices.BinarySearch(s, d.Counter)
	if found {
		return
	}
	if c.cloud == nil {
		c.cloud = make(map[ReplicaID][]uint64)
	}
	c.cloud[d.Replica] = slices.Insert(s, j, d.Counter)
}

// Contains reports whether dot d has been seen. A dot with counter 0 is
// never contained. The complexity is O(log n + log k).
func (c *Context) Contains(d Dot) bool {
	if c == nil || d.Counter == 0 {
		return false
	}
	if d.Counter <= c.vv.Get(d.Replica) {
		return true
	}
	_, found := slices.BinarySearch(c.cloud[d.Replica], d.Counter)
	return found
}

// Merge adds every dot of o to c: afterwards c contains the union of both.
// It is commutative, associative and idempotent.
func (c *Context) Merge(o *Context) {
	if o == nil || c == o {
		return
	}
	c.vv.Merge(&o.vv)
	for id, s := range o.cloud {
		if c.cloud == nil {
			c.cloud = make(map[ReplicaID][]uint64, len(o.cloud))
		}
		c.cloud[id] = vv.UnionSorted(c.cloud[id], s)
	}
	// Compact every replica whose run may have grown or now covers dots.
	for id := range c.cloud {
		c.compact(id)
	}
}

// Compact folds into the version vector every cloud dot that is covered by
// it or continues it, without changing which dots the context contains.
// Every method already leaves the context compact, so calling Compact is
// never required; it costs O(k) in the size of the cloud.
func (c *Context) Compact() {
	for id := range c.cloud {
		c.compact(id)
	}
}

// compact restores the invariant for replica id.
func (c *Context) compact(id ReplicaID) {
	s := c.cloud[id]
	i, ok := c.vv.e.Search(id)
	var top uint64
	if ok {
		top = c.vv.e[i].N
	}
	k := 0
	for k < len(s) && s[k] <= top+1 {
		top = max(top, s[k])
		k++
	}
	if k == 0 {
		return
	}
	if ok {
		c.vv.e[i].N = top
	} else {
		c.vv.e = slices.Insert(c.vv.e, i, vv.Entry[ReplicaID]{ID: id, N: top})
	}
	if k == len(s) {
		delete(c.cloud, id)
	} else {
		c.cloud[id] = s[k:]
	}
}

// VersionVector returns a copy of the contiguous part of c: for each
// replica, the n such that dots 1..n are all contained.
func (c *Context) VersionVector() *Clock {
	if c == nil {
		return &Clock{}
	}
	return c.vv.Clone()
}

// Cloud returns the dots beyond a gap, ordered by [Dot.Compare]. It is empty
// when every replica's dots were seen in order.
func (c *Context) Cloud() iter.Seq[Dot] {
	return func(yield func(Dot) bool) {
		if c == nil {
			return
		}
		for _, id := range c.cloudIDs() {
			for _, n := range c.cloud[id] {
				if !yield(Dot{id, n}) {
					return
				}
			}
		}
	}
}

func (c *Context) cloudIDs() []ReplicaID {
	return slices.Sorted(maps.Keys(c.cloud))
}

// Clone returns an independent copy of c.
func (c *Context) Clone() *Context {
	out := &Context{}
	if c == nil {
		return out
	}
	out.vv.e = slices.Clone(c.vv.e)
	if len(c.cloud) > 0 {
		out.cloud = make(map[ReplicaID][]uint64, len(c.cloud))
		for id, s := range c.cloud {
			out.cloud[id] = slices.Clone(s)
		}
	}
	return out
}

// Equal reports whether c and o contain the same dots.
func (c *Context) Equal(o *Context) bool {
	var cc, oc map[ReplicaID][]uint64
	if c != nil {
		cc = c.cloud
	}
	if o != nil {
		oc = o.cloud
	}
	if len(cc) != len(oc) {
		return false
	}
	for id, s := range cc {
		if !slices.Equal(s, oc[id]) {
			return false
		}
	}
	var cv, ov *Clock
	if c != nil {
		cv = &c.vv
	}
	if o != nil {
		ov = &o.vv
	}
	return cv.Equal(ov)
}

// String formats c as its version vector followed by its cloud, e.g.
// {a:3 b:1} + [a:5 c:2].
func (c *Context) String() string {
	var sb strings.Builder
	sb.WriteString(c.VersionVector().String())
	first := true
	for d := range c.Cloud() {
		if first {
			sb.WriteString(" + [")
			first = false
		} else {
			sb.WriteByte(' ')
		}
		sb.WriteString(d.String())
	}
	if !first {
		sb.WriteByte(']')
	}
	return sb.String()
}
