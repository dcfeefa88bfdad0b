package sim_test

import (
	"fmt"
	"time"

	"github.com/converge-go/converge/merge/sim"
)

// The core alone: two nodes, one in us-east and one in ap-south, play
// ping-pong over a lossy network. Any node logic that moves bytes runs
// the same way.
func ExampleSim() {
	s, err := sim.New(sim.Config{
		Seed:    4,
		Loss:    0.2,
		Regions: []sim.Region{{Name: sim.USEast, Nodes: 1}, {Name: sim.APSouth, Nodes: 1}},
	})
	if err != nil {
		panic(err)
	}
	east, asia := s.RegionNodes(sim.USEast)[0], s.RegionNodes(sim.APSouth)[0]
	s.Handle(asia, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
		fmt.Printf("%v: %s got %s\n", s.Now().Round(time.Millisecond), s.Node(asia).Name, msg)
		s.Send(asia, from, []byte("pong"))
	}))
	s.Handle(east, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
		fmt.Printf("%v: %s got %s\n", s.Now().Round(time.Millisecond), s.Node(east).Name, msg)
	}))
	s.Every(0, time.Second, func() bool {
		s.Send(east, asia, []byte("ping"))
		return s.Now() < 3*time.Second
	})
	s.Run(10 * time.Second)
	t := s.TotalTraffic()
	fmt.Printf("sent %d, delivered %d, lost %d\n", t.Sent.Messages, t.Delivered.Messages, t.Lost.Messages)
	// Output:
	// 79ms: ap-south-1 got ping
	// 184ms: us-east-1 got pong
	// 1.097s: ap-south-1 got ping
	// 3.087s: ap-south-1 got ping
	// 3.21s: us-east-1 got pong
	// sent 7, delivered 5, lost 2
}

// The replication layer: a PNCounter replicated over two regions of two
// nodes, with a 5-second partition between them while writes go on. A
// peer across the partition lags for as long as it lasts, and a little
// longer: the retransmission timeout backed off while the peer was
// silent. Reads during the partition are stale; no write is lost.
func ExampleCluster() {
	s, err := sim.New(sim.Config{
		Seed:       1,
		Regions:    []sim.Region{{Name: sim.USEast, Nodes: 2}, {Name: sim.EUWest, Nodes: 2}},
		Partitions: []sim.Partition{{Start: 2 * time.Second, End: 7 * time.Second, A: []string{sim.USEast}}},
	})
	if err != nil {
		panic(err)
	}
	c, err := sim.NewCluster(s, &sim.CounterModel{}, sim.ClusterConfig{Ops: 1000, Duration: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	rep := c.Run()
	fmt.Println("writes:", rep.Writes, "reads:", rep.Reads)
	fmt.Println("converged:", rep.Converged, "after", rep.ConvergenceTime)
	fmt.Println("lost writes:", rep.LostWrites)
	fmt.Println("stale reads:", rep.StaleReads)
	for _, n := range rep.Nodes {
		fmt.Printf("%s: worst lag %v\n", n.Node, n.MaxOldestUnacked.Round(100*time.Millisecond))
	}
	v := c.Replica(0).State().Value()
	for id := range s.Nodes() {
		if c.Replica(sim.NodeID(id)).State().Value() != v {
			fmt.Println("replicas differ")
		}
	}
	// Output:
	// writes: 757 reads: 243
	// converged: true after 80ms
	// lost writes: 0
	// stale reads: 121
	// us-east-1: worst lag 5.3s
	// us-east-2: worst lag 5.2s
	// eu-west-1: worst lag 6.2s
	// eu-west-2: worst lag 5.2s
}
