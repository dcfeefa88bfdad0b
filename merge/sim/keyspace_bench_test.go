package sim_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
)

// fleetOps is the number of operations of BenchmarkKeyspaceFleet's run;
// CONVERGE_FLEET_OPS overrides it.
func fleetOps(b *testing.B) int {
	if v := os.Getenv("CONVERGE_FLEET_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CONVERGE_FLEET_OPS=%q: want a positive number", v)
		}
		return n
	}
	return 50000
}

// fleetOptions returns the keyspaces' options: CONVERGE_FLEET_MAXDELTAS
// sets the delta buffer's bound (merge.WithMaxDeltas; 0, the default:
// merge.DefaultMaxDeltas), its byte bound following at 256 bytes a delta.
func fleetOptions(b *testing.B) []merge.Option {
	v := os.Getenv("CONVERGE_FLEET_MAXDELTAS")
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("CONVERGE_FLEET_MAXDELTAS=%q: want a positive number", v)
	}
	return []merge.Option{merge.WithMaxDeltas(n), merge.WithMaxBufferBytes(256 * n)}
}

// fleetSyncEvery is the sync tick of the fleet run: a node sends what it
// has every 200 ms, so that a message across regions carries several
// writes; CONVERGE_FLEET_TICK overrides it in the benchmark.
const fleetSyncEvery = 200 * time.Millisecond

func fleetTick(b *testing.B) time.Duration {
	if v := os.Getenv("CONVERGE_FLEET_TICK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("CONVERGE_FLEET_TICK=%q: want a positive duration", v)
		}
		return d
	}
	return fleetSyncEvery
}

// BenchmarkKeyspaceFleet is the fleet run: 4 regions of 25 nodes, each a
// keyspace of carts (ORSets of about two items) drawn from 1M keys, on
// the region-relay partial mesh (4 peers in a region, 3 more for a
// relay), with 10% loss and 1% duplication, us-east cut off from the
// other regions for 60 s, and ap-south down for 5 minutes, over an
// 8-minute workload. Each iteration runs the next seed (-benchtime 5x:
// seeds 1 to 5) and fails unless every keyspace is equal after the heal
// with no write lost. It reports, per run, the bytes sent across regions
// per byte of delta written, the time to converge after the workload,
// and the catch-ups and tree passes.
func BenchmarkKeyspaceFleet(b *testing.B) {
	ops, tick := fleetOps(b), fleetTick(b)
	var seed uint64
	for b.Loop() {
		seed++
		s, err := sim.New(ksFaults(seed, 25, 10*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		c, err := sim.NewKeyspaceCluster(s, carts, sim.KeyspaceConfig{
			ClusterConfig: sim.ClusterConfig{Ops: ops, Duration: 8 * time.Minute, SyncEvery: tick, ReplicaOptions: fleetOptions(b)},
			Topology:      sim.RegionRelays(5),
		})
		if err != nil {
			b.Fatal(err)
		}
		rep := c.Run()
		if !rep.Converged || rep.LostWrites != 0 || rep.Refused != 0 || rep.Errors != 0 {
			b.Fatalf("seed %d: converged %v, %d lost, %d refused, %d errors (%s)", seed, rep.Converged, rep.LostWrites, rep.Refused, rep.Errors, rep.FirstError)
		}
		ratio := float64(rep.CrossRegionBytes()) / float64(rep.DeltaBytes)
		b.ReportMetric(ratio, "cross/delta")
		b.ReportMetric(ratio/3, "cross/delta/boundary")
		b.ReportMetric(rep.ConvergenceTime.Seconds(), "converge-s")
		b.ReportMetric(float64(rep.FullStates), "passes")
		b.Logf("seed %d: %d writes, converged %v after quiescence, %.2f× the deltas across regions, %d passes", seed, rep.Writes, rep.ConvergenceTime, ratio, rep.FullStates)
	}
}
