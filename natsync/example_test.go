package natsync_test

import (
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
)

// Two regions' replicas of a cart over one embedded NATS server with
// JetStream: a write in us-east reaches eu-west in one publish, and
// both keep their bundles in a stream.
func Example() {
	dir, _ := os.MkdirTemp("", "natsync-example")
	defer os.RemoveAll(dir)
	srv, err := natstest.Start(natstest.Options(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	regions := []vclock.ReplicaID{"us-east", "eu-west"}
	var rs []*merge.Replica[*crdt.ORSet[string]]
	var ts []*natsync.Transport
	for _, id := range regions {
		r := merge.New(id, newCart)
		rs = append(rs, r)
		for _, p := range regions {
			if p != id {
				r.AddPeer(p)
			}
		}
		nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1))
		if err != nil {
			log.Fatal(err)
		}
		defer nc.Close()
		t, err := natsync.New(nc, "carts", r, natsync.WithStream(natsync.Stream{MaxAge: time.Hour}))
		if err != nil {
			log.Fatal(err)
		}
		defer t.Close()
		ts = append(ts, t)
	}

	// A write goes to the replica, then Notify has the Transport send it
	// now rather than at its next tick.
	rs[0].Update(func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] {
		return c.Add(w, "socks")
	})
	ts[0].Notify()
	rs[1].Update(func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] {
		return c.Add(w, "shoes")
	})
	ts[1].Notify()
	for !rs[0].State().Equal(rs[1].State()) || rs[0].State().Len() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	for _, r := range rs {
		fmt.Println(r.ID(), slices.Collect(r.State().All()))
	}
	fmt.Println(natsync.StreamName(natsync.DefaultPrefix, "carts", "us-east"))
	// Output:
	// us-east [shoes socks]
	// eu-west [shoes socks]
	// CONVERGE_carts_us-east
}

// A Transport carries a keyspace as it carries a replica: two regions'
// keyspaces of carts, each key a cart, over one embedded NATS server.
func ExampleNew_keyspace() {
	srv, err := natstest.Start(natstest.Options(""))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	regions := []vclock.ReplicaID{"us-east", "eu-west"}
	var ks []*merge.Keyspace[string, *crdt.ORSet[string]]
	var ts []*natsync.Transport
	for i, id := range regions {
		k := merge.NewKeyspace[string](id, newCart)
		k.AddPeer(regions[1-i])
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			log.Fatal(err)
		}
		defer nc.Close()
		t, err := natsync.New(nc, "carts", k)
		if err != nil {
			log.Fatal(err)
		}
		defer t.Close()
		ks, ts = append(ks, k), append(ts, t)
	}

	ks[0].Update("alice", func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] { return c.Add(w, "socks") })
	ts[0].Notify()
	ks[1].Update("bob", func(w vclock.ReplicaID, c *crdt.ORSet[string]) *crdt.ORSet[string] { return c.Add(w, "shoes") })
	ts[1].Notify()
	for ks[0].Len() < 2 || ks[1].Len() < 2 || ks[0].Root() != ks[1].Root() {
		time.Sleep(5 * time.Millisecond)
	}
	for _, cart := range []string{"alice", "bob"} {
		ks[1].Read(cart, func(c *crdt.ORSet[string]) { fmt.Println(cart, slices.Collect(c.All())) })
	}
	// Output:
	// alice [socks]
	// bob [shoes]
}
