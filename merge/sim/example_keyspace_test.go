package sim_test

import (
	"fmt"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge/sim"
)

// Keyspaces of carts on four regions of three nodes, with one relay per
// region, under 10% loss: every keyspace converges with no write lost,
// and each write's delta crosses each of the three region boundaries
// about once — a full mesh of the same twelve nodes sends it to each of
// the nine nodes of the other regions.
func ExampleKeyspaceCluster() {
	run := func(top sim.Topology) sim.Report {
		s, err := sim.New(sim.Config{Seed: 1, Loss: 0.1})
		if err != nil {
			panic(err)
		}
		c, err := sim.NewKeyspaceCluster(s,
			func() sim.Model[*crdt.ORSet[string]] { return &sim.ORSetModel{Size: 2} },
			sim.KeyspaceConfig{
				ClusterConfig: sim.ClusterConfig{Ops: 2000, Duration: 10 * time.Second, SyncEvery: 200 * time.Millisecond},
				Keys:          10000,
				Topology:      top,
			})
		if err != nil {
			panic(err)
		}
		return c.Run()
	}
	for _, v := range []struct {
		name string
		top  sim.Topology
	}{{"relays", sim.RegionRelays(1)}, {"full mesh", nil}} {
		rep := run(v.top)
		fmt.Printf("%s: converged %v, %d writes lost, across regions %.1f× the deltas written\n",
			v.name, rep.Converged, rep.LostWrites, float64(rep.CrossRegionBytes())/float64(rep.DeltaBytes))
	}
	// Output:
	// relays: converged true, 0 writes lost, across regions 4.3× the deltas written
	// full mesh: converged true, 0 writes lost, across regions 15.7× the deltas written
}
