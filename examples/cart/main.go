// Command cart shows a shopping cart edited concurrently in three regions
// ending as the union of what each region did: an item added anywhere is
// in the cart unless a region removed it after seeing that add, and a
// remove takes away only what its region had seen.
//
// The cart maps each item to its quantity, a crdt.ORMap of crdt.CCounter.
// Its keys behave as a crdt.ORSet (add-wins, observed-remove): when
// us-east removes the socks while ap-south, which has not seen the
// remove, adds two more, the two socks ap-south added survive and the
// one us-east saw is gone. Each region runs a merge.Replica on a
// deterministic merge/sim network with the cross-region latencies of
// sim.DefaultLatency, so the output is the same on every run.
//
//	go run ./examples/cart
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// A cart maps items to quantities.
type cart = *crdt.ORMap[string, *crdt.CCounter]

func newCart() cart { return new(crdt.ORMap[string, *crdt.CCounter]) }

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cart:", err)
		os.Exit(1)
	}
}

// A region is one node of the simulated network, with its replica of the
// cart.
type region struct {
	id   sim.NodeID
	name vclock.ReplicaID
	rep  *merge.Replica[cart]
}

func run(w io.Writer) error {
	s, err := sim.New(sim.Config{
		Seed: 1,
		Regions: []sim.Region{
			{Name: sim.USEast, Nodes: 1}, {Name: sim.EUWest, Nodes: 1}, {Name: sim.APSouth, Nodes: 1},
		},
	})
	if err != nil {
		return err
	}
	var (
		regions []*region
		failed  error
	)
	fail := func(err error) {
		if failed == nil {
			failed = err
		}
	}
	for _, n := range s.Nodes() {
		clock := hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID)))
		regions = append(regions, &region{
			id:   n.ID,
			name: vclock.ReplicaID(n.Region),
			rep:  merge.New(vclock.ReplicaID(n.Region), newCart, merge.WithClock(clock), merge.WithRandom(s.Entropy("incarnation "+n.Region))),
		})
	}
	us, eu, ap := regions[0], regions[1], regions[2]

	// sync sends each peer of r what its replica has for it.
	sync := func(r *region) {
		for _, p := range regions {
			if p == r {
				continue
			}
			msg, err := r.rep.Sync(p.name)
			if err != nil {
				fail(err)
			} else if msg != nil {
				s.Send(r.id, p.id, msg)
			}
		}
	}
	for _, r := range regions {
		for _, p := range regions {
			if p != r {
				if err := r.rep.AddPeer(p.name); err != nil {
					return err
				}
			}
		}
		// A region merges what arrives, answers, and says when its
		// cart changed.
		s.Handle(r.id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			before := show(r.rep)
			reply, err := r.rep.Receive(msg)
			if err != nil {
				fail(err)
			}
			if reply != nil {
				s.Send(r.id, from, reply)
			}
			if after := show(r.rep); after != before {
				fmt.Fprintf(w, "%s  %-8s  %-21s  %s\n", at(s.Now()), r.name, "merges from "+regions[from].name, after)
			}
		}))
		s.Every(0, 50*time.Millisecond, func() bool { sync(r); return true })
	}

	// write applies a change to r's cart and sends it at once.
	write := func(r *region, what string, f func(w vclock.ReplicaID, c cart) cart) {
		if err := r.rep.Update(f); err != nil {
			fail(err)
		}
		fmt.Fprintf(w, "%s  %-8s  %-21s  %s\n", at(s.Now()), r.name, what, show(r.rep))
		sync(r)
	}
	add := func(r *region, item string, n uint64) {
		write(r, fmt.Sprintf("adds %d %s", n, item), func(w vclock.ReplicaID, c cart) cart {
			return c.Update(item, func(q *crdt.CCounter) *crdt.CCounter { return q.Inc(w, n) })
		})
	}
	remove := func(r *region, item string) {
		var had int64
		r.rep.Read(func(c cart) {
			if q, ok := c.Get(item); ok {
				had = q.Value()
			}
		})
		write(r, fmt.Sprintf("removes %s (had %d)", item, had), func(_ vclock.ReplicaID, c cart) cart { return c.Remove(item) })
	}

	fmt.Fprintln(w, "One cart (item:quantity) in three regions. Virtual time, region, what it does, its cart:")
	s.Schedule(0, func() {
		add(us, "socks", 1)
		add(eu, "scarf", 1)
	})
	s.Schedule(time.Second, func() {
		fmt.Fprintln(w, "At once, each region unaware of the others' changes:")
		remove(us, "socks")
		add(ap, "socks", 2)
		remove(eu, "scarf")
		add(eu, "hat", 1)
	})
	s.Run(3 * time.Second)
	if failed != nil {
		return failed
	}

	fmt.Fprintln(w, "After replication:")
	final := show(us.rep)
	for _, r := range regions {
		fmt.Fprintf(w, "  %-8s  %s\n", r.name, show(r.rep))
		if show(r.rep) != final {
			fmt.Fprintln(w, "conclusion: the regions disagree")
			return nil
		}
	}
	var socks int64
	us.rep.Read(func(c cart) {
		if q, ok := c.Get("socks"); ok {
			socks = q.Value()
		}
	})
	fmt.Fprintf(w, "conclusion: every region holds %s; us-east's remove took the socks it had seen, and the %d added concurrently in ap-south survive\n", final, socks)
	return nil
}

// show formats the cart of a replica.
func show(rep *merge.Replica[cart]) string {
	var s string
	rep.Read(func(c cart) { s = c.String() })
	return s
}

// at formats a virtual time.
func at(d time.Duration) string { return fmt.Sprintf("%6.3fs", d.Seconds()) }
