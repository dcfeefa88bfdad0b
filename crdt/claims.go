package crdt

import (
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// What a state claims. A replica that takes in states from peers it does
// not fully trust checks them against what it knows (package merge does):
// a state may claim events of a replica only as far as that replica has
// issued them, and timestamps only up to the clock reading of the message
// that carries it. Version and MaxTimestamp report those claims; both are
// cheap for deltas, and O(replicas) or O(state) for full states.

// version returns the largest counter of each replica x has seen.
func (x *dotCtx) version() *vclock.Clock {
	m := make(map[vclock.ReplicaID]uint64)
	if x != nil {
		for i := range x.ent {
			e := &x.ent[i]
			if !e.shown() {
				continue // a retired writer's, which the gone ranges stand for
			}
			c := e.top
			if len(e.cloud) > 0 {
				c = max(c, e.cloud[len(e.cloud)-1])
			}
			if c > 0 {
				m[x.ids[i]] = c
			}
		}
	}
	return vclock.FromMap(m)
}

// versionOf returns version().Get(id) without building the clock.
func (x *dotCtx) versionOf(id vclock.ReplicaID) uint64 {
	i, ok := x.lookup(id)
	if !ok {
		return 0
	}
	e := &x.ent[i]
	if !e.shown() {
		return 0
	}
	c := e.top
	if len(e.cloud) > 0 {
		c = max(c, e.cloud[len(e.cloud)-1])
	}
	return c
}

// Version returns, for each replica whose events s has seen, the largest
// event (dot) counter of it that s's causal context holds. O(replicas).
func (s *ORSet[E]) Version() *vclock.Clock { return s.m.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that s holds, or 0.
func (s *ORSet[E]) VersionOf(id vclock.ReplicaID) uint64 { return s.m.ctx.versionOf(id) }

// Version returns, for each replica whose events s has seen, the largest
// event (dot) counter of it that s's causal context holds. O(replicas).
func (s *RWSet[E]) Version() *vclock.Clock { return s.m.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that s holds, or 0.
func (s *RWSet[E]) VersionOf(id vclock.ReplicaID) uint64 { return s.m.ctx.versionOf(id) }

// Version returns, for each replica whose events f has seen, the largest
// event (dot) counter of it that f's causal context holds. O(replicas).
func (f *EWFlag) Version() *vclock.Clock { return f.m.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that f holds, or 0.
func (f *EWFlag) VersionOf(id vclock.ReplicaID) uint64 { return f.m.ctx.versionOf(id) }

// Version returns, for each replica whose events f has seen, the largest
// event (dot) counter of it that f's causal context holds. O(replicas).
func (f *DWFlag) Version() *vclock.Clock { return f.m.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that f holds, or 0.
func (f *DWFlag) VersionOf(id vclock.ReplicaID) uint64 { return f.m.ctx.versionOf(id) }

// Version returns, for each replica whose events m has seen, the largest
// event (dot) counter of it that m's causal context holds. O(replicas).
func (m *MVRegister[V]) Version() *vclock.Clock { return m.f.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that m holds, or 0.
func (m *MVRegister[V]) VersionOf(id vclock.ReplicaID) uint64 { return m.f.ctx.versionOf(id) }

// Version returns, for each replica whose events c has seen, the largest
// event (dot) counter of it that c's causal context holds. O(replicas).
func (c *CCounter) Version() *vclock.Clock { return c.f.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that c holds, or 0.
func (c *CCounter) VersionOf(id vclock.ReplicaID) uint64 { return c.f.ctx.versionOf(id) }

// Version returns, for each replica whose events m has seen, the largest
// event (dot) counter of it that m's causal context — shared by every
// value — holds. O(replicas).
func (m *ORMap[K, V]) Version() *vclock.Clock { return m.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that m holds, or 0.
func (m *ORMap[K, V]) VersionOf(id vclock.ReplicaID) uint64 { return m.ctx.versionOf(id) }

// Version returns a copy of c's counts: a GCounter is a version vector,
// each replica's count growing with its increments. For a counter inside
// an ORMap it returns instead the counters of the map's context, as the
// other values of a map do: there each increment is an event with a dot.
func (c *GCounter) Version() *vclock.Clock {
	if c.em != nil {
		return c.em.ctx.version()
	}
	m := make(map[vclock.ReplicaID]uint64, len(c.entries()))
	for _, e := range c.entries() {
		m[e.ID] = e.N
	}
	return vclock.FromMap(m)
}

// VersionOf returns Version().Get(id) without building the clock.
func (c *GCounter) VersionOf(id vclock.ReplicaID) uint64 {
	if c.em != nil {
		return c.em.ctx.versionOf(id)
	}
	return c.entries().Get(id)
}

// Version returns, for each replica, the larger of its increment count
// and its decrement count. Both grow with the replica's writes, and the
// delta of each write holds one of them, so that a replica knows the
// Version of what it wrote from its deltas alone. For a counter inside an
// ORMap it returns the counters of the map's context (see
// [GCounter.Version]).
func (c *PNCounter) Version() *vclock.Clock {
	if c.em != nil {
		return c.em.ctx.version()
	}
	m := make(map[vclock.ReplicaID]uint64)
	for _, e := range c.p.entries() {
		m[e.ID] = e.N
	}
	for _, e := range c.n.entries() {
		m[e.ID] = max(m[e.ID], e.N)
	}
	return vclock.FromMap(m)
}

// VersionOf returns Version().Get(id) without building the clock.
func (c *PNCounter) VersionOf(id vclock.ReplicaID) uint64 {
	if c.em != nil {
		return c.em.ctx.versionOf(id)
	}
	return max(c.p.entries().Get(id), c.n.entries().Get(id))
}

// Version returns an empty clock: a GSet counts no replica's events.
func (s *GSet[E]) Version() *vclock.Clock { return new(vclock.Clock) }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that s holds, or 0.
func (s *GSet[E]) VersionOf(id vclock.ReplicaID) uint64 { return 0 }

// Version returns an empty clock: a TwoPSet counts no replica's events.
func (s *TwoPSet[E]) Version() *vclock.Clock { return new(vclock.Clock) }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that s holds, or 0.
func (s *TwoPSet[E]) VersionOf(id vclock.ReplicaID) uint64 { return 0 }

// Version returns an empty clock: an LWWMap orders writes by timestamp,
// not by counting them (see MaxTimestamp).
func (m *LWWMap[K, V]) Version() *vclock.Clock { return new(vclock.Clock) }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that m holds, or 0.
func (m *LWWMap[K, V]) VersionOf(id vclock.ReplicaID) uint64 { return 0 }

// Version returns, for a register inside an ORMap, the counters of the
// map's context; for a top-level register, an empty clock: its writes are
// ordered by timestamp (see MaxTimestamp).
func (r *LWWRegister[V]) Version() *vclock.Clock { return r.ctx.version() }

// VersionOf returns Version().Get(id) without building the clock: the
// largest event counter of id that r holds, or 0.
func (r *LWWRegister[V]) VersionOf(id vclock.ReplicaID) uint64 { return r.ctx.versionOf(id) }

// MaxTimestamp returns the timestamp of the write r holds (of the latest,
// inside an ORMap), or 0 if none.
func (r *LWWRegister[V]) MaxTimestamp() hlc.Timestamp {
	ts := r.ts
	for _, s := range r.sibs {
		ts = max(ts, s.ts)
	}
	return ts
}

// MaxTimestamp returns the largest timestamp of a write or a deletion
// (tombstone) m holds, or 0 if none. O(n).
func (m *LWWMap[K, V]) MaxTimestamp() hlc.Timestamp {
	var ts hlc.Timestamp
	for _, e := range m.m {
		ts = max(ts, e.ts)
	}
	return ts
}

// MaxTimestamp returns the largest timestamp of a write of a register
// value m holds, at any depth, or 0 if none. O(n).
func (m *ORMap[K, V]) MaxTimestamp() hlc.Timestamp { return m.inMaxTimestamp() }

func (m *ORMap[K, V]) inMaxTimestamp() hlc.Timestamp {
	var ts hlc.Timestamp
	for _, v := range m.m {
		ts = max(ts, v.inMaxTimestamp())
	}
	for _, v := range m.tombs {
		ts = max(ts, v.inMaxTimestamp())
	}
	return ts
}

func (r *LWWRegister[V]) inMaxTimestamp() hlc.Timestamp { return r.MaxTimestamp() }
func (s *ORSet[E]) inMaxTimestamp() hlc.Timestamp       { return 0 }
func (s *RWSet[E]) inMaxTimestamp() hlc.Timestamp       { return 0 }
func (f *EWFlag) inMaxTimestamp() hlc.Timestamp         { return 0 }
func (f *DWFlag) inMaxTimestamp() hlc.Timestamp         { return 0 }
func (m *MVRegister[V]) inMaxTimestamp() hlc.Timestamp  { return 0 }
func (c *CCounter) inMaxTimestamp() hlc.Timestamp       { return 0 }
func (c *GCounter) inMaxTimestamp() hlc.Timestamp       { return 0 }
func (c *PNCounter) inMaxTimestamp() hlc.Timestamp      { return 0 }
func (l *List[E]) inMaxTimestamp() hlc.Timestamp        { return 0 }
