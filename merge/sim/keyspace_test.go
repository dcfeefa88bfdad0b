package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
)

// regionsOf returns the four default regions with n nodes each.
func regionsOf(n int) []sim.Region {
	rs := sim.DefaultRegions()
	for i := range rs {
		rs[i].Nodes = n
	}
	return rs
}

func carts() sim.Model[*crdt.ORSet[string]] { return &sim.ORSetModel{Size: 2} }

// ksFaults is the fault schedule of the keyspace runs, scaled by unit:
// 10% loss and duplication of 1%, us-east cut off from the other regions
// from 2 to 8 units, ap-south down from 4 to 34.
func ksFaults(seed uint64, nodes int, unit time.Duration) sim.Config {
	return sim.Config{
		Seed: seed, Regions: regionsOf(nodes), Loss: 0.1, Duplicate: 0.01,
		Partitions: []sim.Partition{{Start: 2 * unit, End: 8 * unit, A: []string{sim.USEast}}},
		Outages:    []sim.Outage{{Region: sim.APSouth, Start: 4 * unit, End: 34 * unit}},
	}
}

// runRelays runs keyspaces of carts on four regions of four nodes, each
// node a forwarding peer of the two next to it and of the one across in
// its region, with one relay per region (a full mesh if top is nil),
// under loss, a partition and a region outage, with the given options.
func runRelays(t *testing.T, seed uint64, top sim.Topology, opts ...merge.Option) sim.Report {
	t.Helper()
	s := newSim(t, ksFaults(seed, 4, 300*time.Millisecond))
	c, err := sim.NewKeyspaceCluster(s, carts, sim.KeyspaceConfig{
		ClusterConfig: sim.ClusterConfig{Ops: 4000, Duration: 12 * time.Second, SyncEvery: fleetSyncEvery, ReplicaOptions: opts},
		Keys:          100000, Topology: top,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := c.Run()
	if !rep.Converged || rep.LostWrites != 0 || rep.Refused != 0 || rep.Errors != 0 {
		t.Fatalf("seed %d: converged %v, %d lost, %d refused, %d errors (%s)\n%s", seed, rep.Converged, rep.LostWrites, rep.Refused, rep.Errors, rep.FirstError, rep)
	}
	return rep
}

func crossRatio(rep sim.Report) float64 {
	return float64(rep.CrossRegionBytes()) / float64(rep.DeltaBytes)
}

// TestKeyspacesConvergeOnRelays: on relays, for three seeds, the
// keyspaces converge with no write lost, and the bytes crossing regions
// per byte of delta written stay within 1.5 × (regions − 1), where a full
// mesh of the same nodes sends more than twice as much across.
// BenchmarkKeyspaceFleet is the run at fleet scale.
func TestKeyspacesConvergeOnRelays(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		rep := runRelays(t, seed, sim.RegionRelays(2))
		ratio := crossRatio(rep)
		t.Logf("seed %d: converged %v after quiescence, %.2f× the deltas across regions", seed, rep.ConvergenceTime, ratio)
		if ratio > 1.5*3 {
			t.Errorf("seed %d: %.2f× the deltas crossed regions, want ≤ 4.5×\n%s", seed, ratio, rep)
		}
		if seed == 1 {
			mesh := runRelays(t, seed, nil)
			if m := crossRatio(mesh); m < 2*ratio {
				t.Errorf("full mesh: %.2f× the deltas across regions, relays %.2f×: want the mesh at least twice", m, ratio)
			} else {
				t.Logf("full mesh: %.2f× the deltas across regions", m)
			}
		}
	}
}

// TestRelaysCatchUp: with delta buffers the partition and the outage
// overflow, the relays bring the regions cut off up to date through
// catch-ups, forwarded to the region's other nodes, and every keyspace
// converges with no write lost.
func TestRelaysCatchUp(t *testing.T) {
	rep := runRelays(t, 1, sim.RegionRelays(2), merge.WithMaxDeltas(512))
	if rep.FullStates == 0 {
		t.Fatalf("no catch-up: the faults overflowed no buffer\n%s", rep)
	}
	t.Logf("%d catch-ups and tree passes, %.2f× the deltas across regions", rep.FullStates, crossRatio(rep))
}

// TestKeyspaceClusterRepeats: a keyspace run with catch-ups repeats
// byte for byte under its seed, as every run of the simulator must: a
// catch-up sends its keys, and a pass requeues its requests, in an order
// that does not depend on a map's.
func TestKeyspaceClusterRepeats(t *testing.T) {
	a := runRelays(t, 2, sim.RegionRelays(2), merge.WithMaxDeltas(512))
	b := runRelays(t, 2, sim.RegionRelays(2), merge.WithMaxDeltas(512))
	if a.FullStates == 0 {
		t.Fatalf("no catch-up: the faults overflowed no buffer\n%s", a)
	}
	if a.String() != b.String() {
		t.Fatalf("two runs of seed 2 differ:\n%s\n---\n%s", a, b)
	}
}

// TestKeyspaceClusterRefusesAsymmetricTopology: a topology in which a
// node lists a peer that does not list it is refused before anything
// runs.
func TestKeyspaceClusterRefusesAsymmetricTopology(t *testing.T) {
	s := newSim(t, sim.Config{Seed: 1})
	oneWay := func(s *sim.Sim, id sim.NodeID) []sim.Peer {
		if id == 0 {
			return []sim.Peer{{Node: 1}}
		}
		return nil
	}
	if _, err := sim.NewKeyspaceCluster(s, carts, sim.KeyspaceConfig{Topology: oneWay}); err == nil || !strings.Contains(err.Error(), "not symmetric") {
		t.Fatalf("NewKeyspaceCluster with a one-way link: %v, want an error saying it is not symmetric", err)
	}
}
