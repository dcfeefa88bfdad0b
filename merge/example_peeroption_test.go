package merge_test

import (
	"fmt"
	"slices"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// Three keyspaces in a line, us-east — eu-west — ap-south: us-east and
// ap-south are not peers, and eu-west forwards between them what each
// writes. Without Forward, eu-west would send each only its own writes.
func ExamplePeerOption() {
	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	ks := map[vclock.ReplicaID]*merge.Keyspace[string, *crdt.ORSet[string]]{}
	for i, id := range []vclock.ReplicaID{"us-east", "eu-west", "ap-south"} {
		ks[id] = merge.NewKeyspace[string](id, newCart, merge.WithRandom(seeded(uint64(i+1))))
	}
	link := func(a, b vclock.ReplicaID) {
		if err := ks[a].AddPeer(b, merge.Forward()); err != nil {
			panic(err)
		}
		if err := ks[b].AddPeer(a, merge.Forward()); err != nil {
			panic(err)
		}
	}
	link("us-east", "eu-west")
	link("eu-west", "ap-south")

	err := ks["us-east"].Update("alice", func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] {
		return c.Add(w, "book")
	})
	if err != nil {
		panic(err)
	}
	// The transport: each keyspace sends its peers what Sync has, and the
	// replies go back, until nothing is due.
	for range 3 {
		for _, from := range ks {
			for _, to := range from.Peers() {
				for {
					msg, err := from.Sync(to)
					if err != nil {
						panic(err)
					}
					if msg == nil {
						break
					}
					if reply, err := ks[to].Receive(msg); err != nil {
						panic(err)
					} else if reply != nil {
						if _, err := from.Receive(reply); err != nil {
							panic(err)
						}
					}
				}
			}
		}
	}
	ks["ap-south"].Read("alice", func(c *crdt.ORSet[string]) {
		fmt.Println("ap-south, alice's cart:", slices.Collect(c.All()))
	})
	fmt.Println("eu-west forwarded:", ks["eu-west"].Stats().Forwarded)
	// Output:
	// ap-south, alice's cart: [book]
	// eu-west forwarded: 1
}
