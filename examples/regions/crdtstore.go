package main

import (
	"fmt"
	"strconv"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// The CRDT design's three data sets, each a converge type kept by one
// merge.Replica per region: profiles in an ORMap of MVRegisters
// (concurrent writes kept as siblings, for the application to resolve),
// carts in an ORMap of ORSets (add-wins lines), likes in an ORMap of
// PNCounters, one a post.
type (
	profileMap = crdt.ORMap[string, *crdt.MVRegister[string]]
	cartMap    = crdt.ORMap[string, *crdt.ORSet[string]]
	likeMap    = crdt.ORMap[string, *crdt.PNCounter]
)

// A dataSet numbers the three; a merge message names the one it is for.
type dataSet uint8

const (
	profileData dataSet = iota
	cartData
	likeData
	nDataSets
)

var dataSetNames = [nDataSets]string{"profiles", "carts", "likes"}

// setOf returns the data set an item belongs to.
func setOf(item int32) dataSet {
	switch kindOf(item) {
	case profileItem:
		return profileData
	case cartItem:
		return cartData
	}
	return likeData
}

// A crdtStore is one region's data in the CRDT design: its three
// merge.Replicas, which share the region's hybrid logical clock.
type crdtStore struct {
	profiles *merge.Replica[*profileMap]
	carts    *merge.Replica[*cartMap]
	likes    *merge.Replica[*likeMap]
}

// A mark is what the CRDT design notes of a write at its origin, to tell
// later whether another region's state holds it: the dot the write issued
// (none for a cart line's removal) and its delta's causal context — that
// dot and the dots it replaced or removed. A state holds the write once
// its context has all of them (and, for a removal, the line no longer
// shows what it removed: see crdtSys.holds).
type mark struct {
	dot     vclock.Dot
	ctx     *vclock.Context
	removal *cartMap // a removal's delta
	likeNo  uint64   // a like: the origin's count of its likes of the post, this one included
}

func profileKey(item int32) string {
	return userName(userOf(item)) + "/" + fieldNames[int(item)%nFields]
}

func cartKey(item int32) (user, sku string) {
	return userName(userOf(item)), skuName(int(item-firstCart) % nSKUs)
}

func postKey(item int32) string { return "p" + strconv.Itoa(int(item-firstLike)) }

// newDot returns the dot a delta issued as writer id: the largest of id's
// in its context (the others are the dots it replaced).
func newDot(ctx *vclock.Context, id vclock.ReplicaID) vclock.Dot {
	return vclock.Dot{Replica: id, Counter: ctx.Max(id)}
}

// mutate applies wr at its origin through merge.Replica.Update, which
// buffers the delta for every peer, and returns the write's mark.
func (s *crdtStore) mutate(wr *write) *mark {
	m := &mark{}
	var err error
	switch wr.kind {
	case opProfile:
		err = s.profiles.Update(func(id vclock.ReplicaID, st *profileMap) *profileMap {
			d := st.Update(profileKey(wr.item), func(reg *crdt.MVRegister[string]) *crdt.MVRegister[string] {
				return reg.Set(id, strconv.Itoa(int(wr.id)))
			})
			m.ctx = d.Context()
			m.dot = newDot(m.ctx, id)
			return d
		})
	case opCartAdd, opCartRemove:
		user, sku := cartKey(wr.item)
		err = s.carts.Update(func(id vclock.ReplicaID, st *cartMap) *cartMap {
			d := st.Update(user, func(set *crdt.ORSet[string]) *crdt.ORSet[string] {
				if wr.kind == opCartAdd {
					return set.Add(id, sku)
				}
				return set.Remove(sku)
			})
			m.ctx = d.Context()
			if wr.kind == opCartAdd {
				m.dot = newDot(m.ctx, id)
			} else {
				m.removal = d.Clone()
			}
			return d
		})
	case opLike:
		key := postKey(wr.item)
		err = s.likes.Update(func(id vclock.ReplicaID, st *likeMap) *likeMap {
			d := st.Update(key, func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(id, 1) })
			m.ctx = d.Context()
			m.dot = newDot(m.ctx, id)
			c, _ := st.Get(key)
			m.likeNo = c.Increments().Get(id)
			return d
		})
	}
	if err != nil {
		panic(fmt.Sprintf("updating %s: %v", dataSetNames[setOf(wr.item)], err)) // a bug, not a network event
	}
	return m
}

// mergeNoop reports whether merging delta d into the carts would change
// nothing. It clones the carts: the rare case where nothing cheaper tells.
func (s *crdtStore) mergeNoop(d *cartMap) bool {
	st := s.carts.State()
	st.Merge(d.Clone())
	same := false
	s.carts.Read(func(cur *cartMap) { same = st.Equal(cur) })
	return same
}

// digest returns the digest of the region's state of data set k.
func (s *crdtStore) digest(k dataSet) (merge.Digest, error) {
	switch k {
	case profileData:
		return s.profiles.Digest()
	case cartData:
		return s.carts.Digest()
	}
	return s.likes.Digest()
}

// context returns the causal context of the region's state of data set k:
// every event it holds or has seen removed.
func (s *crdtStore) context(k dataSet) *vclock.Context {
	var ctx *vclock.Context
	switch k {
	case profileData:
		s.profiles.Read(func(st *profileMap) { ctx = st.Context() })
	case cartData:
		s.carts.Read(func(st *cartMap) { ctx = st.Context() })
	default:
		s.likes.Read(func(st *likeMap) { ctx = st.Context() })
	}
	return ctx
}

// covers reports whether ctx, whose contiguous part is vv, contains every
// dot of d.
func covers(ctx *vclock.Context, vv *vclock.Clock, d *vclock.Context) bool {
	for id, top := range d.VersionVector().All() {
		for c := top; c > vv.Get(id); c-- {
			if !ctx.Contains(vclock.Dot{Replica: id, Counter: c}) {
				return false
			}
		}
	}
	for dot := range d.Cloud() {
		if !ctx.Contains(dot) {
			return false
		}
	}
	return true
}

// value returns the visible value of an item.
func (s *crdtStore) value(item int32) uint64 {
	switch kindOf(item) {
	case profileItem:
		// The siblings' write ids, mixed in order.
		var h uint64
		for _, id := range s.siblings(item) {
			h = mix(h, uint64(id+1))
		}
		return h
	case cartItem:
		if s.present(item) {
			return 1
		}
		return 0
	}
	var v int64
	s.likes.Read(func(st *likeMap) {
		if c, ok := st.Get(postKey(item)); ok {
			v = c.Value()
		}
	})
	return uint64(v)
}

func (s *crdtStore) present(item int32) bool {
	user, sku := cartKey(item)
	ok := false
	s.carts.Read(func(st *cartMap) {
		set, found := st.Get(user)
		ok = found && set.Contains(sku)
	})
	return ok
}

// likesBy returns the count of likes of post item that writer made, as the
// state holds them.
func (s *crdtStore) likesBy(item int32, writer vclock.ReplicaID) uint64 {
	var n uint64
	s.likes.Read(func(st *likeMap) {
		if c, ok := st.Get(postKey(item)); ok {
			n = c.Increments().Get(writer)
		}
	})
	return n
}

// siblings returns the ids of the writes a profile field holds: one, or
// several written concurrently; none if it was never written.
func (s *crdtStore) siblings(item int32) []int32 {
	var vals []string
	s.profiles.Read(func(st *profileMap) {
		if reg, ok := st.Get(profileKey(item)); ok {
			vals = reg.Values()
		}
	})
	var ids []int32
	for _, v := range vals {
		id, err := strconv.Atoi(v)
		if err != nil {
			panic(fmt.Sprintf("profile value %q: %v", v, err)) // only write ids are stored
		}
		ids = append(ids, int32(id))
	}
	return ids
}
