package merge_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// A Keyspace replicates many carts — each key a set of items — between
// two regions. Deltas of many carts travel in one message; a tree pass
// then checks, in a couple of hundred bytes, that the regions agree.
func ExampleKeyspace() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	open := func(id vclock.ReplicaID, peer vclock.ReplicaID, seed uint64) *merge.Keyspace[string, *crdt.ORSet[string]] {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))
		ks := merge.NewKeyspace[string](id, newCart, merge.WithClock(clock), merge.WithRandom(seeded(seed)))
		if err := ks.AddPeer(peer); err != nil {
			panic(err)
		}
		return ks
	}
	us := open("us-east", "eu-west", 1)
	eu := open("eu-west", "us-east", 2)
	put := func(ks *merge.Keyspace[string, *crdt.ORSet[string]], cart, item string) {
		err := ks.Update(cart, func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] { return c.Add(w, item) })
		if err != nil {
			panic(err)
		}
	}
	put(us, "alice", "book")
	put(us, "bob", "pen")
	put(eu, "alice", "lamp")

	// The transport: every message Sync has, and the replies, until none.
	bytes := 0
	deliver := func(from, to *merge.Keyspace[string, *crdt.ORSet[string]], msg []byte) {
		for msg != nil {
			bytes += len(msg)
			reply, err := to.Receive(msg)
			if err != nil {
				panic(err)
			}
			from, to, msg = to, from, reply
		}
	}
	sync := func(from, to *merge.Keyspace[string, *crdt.ORSet[string]]) {
		for {
			msg, err := from.Sync(to.ID())
			if err != nil {
				panic(err)
			}
			if msg == nil {
				return
			}
			deliver(from, to, msg)
		}
	}
	sync(us, eu)
	sync(eu, us)

	for _, cart := range []string{"alice", "bob"} {
		eu.Read(cart, func(c *crdt.ORSet[string]) { fmt.Println(cart, slices.Collect(c.All())) })
	}
	fmt.Println("keys:", eu.Len(), "same root:", us.Root() == eu.Root())

	bytes = 0
	msg, err := us.SyncDigest(eu.ID())
	if err != nil {
		panic(err)
	}
	deliver(us, eu, msg)
	sync(us, eu)
	fmt.Println("agreed:", us.Lag()[0].Agreed != 0, "in under 200 bytes:", bytes < 200)
	// Output:
	// alice [book lamp]
	// bob [pen]
	// keys: 2 same root: true
	// agreed: true in under 200 bytes: true
}

// A durable keyspace of carts on a store (here in memory; boltstore has
// one on disk): what Update returned for is there after a restart, and
// the keyspace that comes back writes as a new writer.
func ExampleOpenKeyspace() {
	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	store := merge.NewMemoryStore()
	ks, err := merge.OpenKeyspace[string]("us-east", newCart, store)
	if err != nil {
		panic(err)
	}
	for _, item := range []string{"book", "pen"} {
		err := ks.Update("alice", func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] { return c.Add(w, item) })
		if err != nil {
			panic(err)
		}
	}
	if err := ks.Compact(); err != nil { // in the background, from time to time
		panic(err)
	}
	ks.Update("bob", func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] { return c.Add(w, "lamp") })
	writer := ks.Writer()
	ks.Close() // or a crash: every Update that returned is on the store

	again, err := merge.OpenKeyspace[string]("us-east", newCart, store)
	if err != nil {
		panic(err)
	}
	for cart, c := range again.All() {
		fmt.Println(cart, slices.Sorted(c.All()))
	}
	fmt.Println("new writer:", again.Writer() != writer)
	// Unordered output:
	// alice [book pen]
	// bob [lamp]
	// new writer: true
}
