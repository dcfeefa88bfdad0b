package mesh_test

import (
	"fmt"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/examples/internal/mesh"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// Three regions, one node each, share a counter; us-east writes and the
// others receive it over the simulated network.
func ExampleMesh() {
	s, err := sim.New(sim.Config{Regions: []sim.Region{
		{Name: sim.USEast, Nodes: 1}, {Name: sim.EUWest, Nodes: 1}, {Name: sim.APSouth, Nodes: 1},
	}})
	if err != nil {
		panic(err)
	}
	var clocks []*hlc.Clock
	for _, n := range s.Nodes() {
		clocks = append(clocks, hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID))))
	}
	likes := mesh.New(s, 'l', clocks, func() *crdt.GCounter { return new(crdt.GCounter) })
	for _, n := range s.Nodes() {
		s.Handle(n.ID, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			if len(msg) > 0 && msg[0] == likes.Tag() {
				_ = likes.Receive(n.ID, from, msg)
			}
		}))
	}
	_ = likes.Write(0, func(w vclock.ReplicaID, c *crdt.GCounter) *crdt.GCounter { return c.Inc(w, 3) })
	fmt.Println("converged before the network ran:", likes.Converged())
	s.Run(time.Second)
	likes.Replica(2).Read(func(c *crdt.GCounter) { fmt.Println("ap-south reads", c.Value()) })
	fmt.Println("converged:", likes.Converged())
	// Output:
	// converged before the network ran: false
	// ap-south reads 3
	// converged: true
}
