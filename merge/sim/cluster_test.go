package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

const sec = time.Second

// lagOf returns what node from's replica knows of how far peer lags behind
// it.
func lagOf[T crdt.State[T]](t *testing.T, c *sim.Cluster[T], from, peer sim.NodeID) merge.PeerLag {
	t.Helper()
	name := vclock.ReplicaID(c.Sim().Node(peer).Name)
	for _, l := range c.Replica(from).Lag() {
		if l.Peer == name {
			return l
		}
	}
	t.Fatalf("%s has no peer %s", c.Sim().Node(from).Name, name)
	return merge.PeerLag{}
}

// TestPartitionBlocksReplication cuts us-east off from 2 s to 12 s while
// writes go on until 14 s, and watches us-east-1's lag figures: the
// peers across the partition fall behind for as long as it lasts, those
// on its side do not, and the lag heals once it ends.
func TestPartitionBlocksReplication(t *testing.T) {
	s := newSim(t, sim.Config{Seed: 2, Partitions: []sim.Partition{{Start: 2 * sec, End: 12 * sec, A: []string{sim.USEast}}}})
	c, err := sim.NewCluster(s, &sim.ORSetModel{}, sim.ClusterConfig{Ops: 14000, Duration: 14 * sec})
	if err != nil {
		t.Fatal(err)
	}
	east, east2, west := s.RegionNodes(sim.USEast)[0], s.RegionNodes(sim.USEast)[1], s.RegionNodes(sim.EUWest)[0]
	var during, after merge.PeerLag
	var inside merge.PeerLag
	var equalDuring bool
	s.Schedule(11900*ms, func() {
		during, inside = lagOf(t, c, east, west), lagOf(t, c, east, east2)
		equalDuring = c.Replica(east).State().Equal(c.Replica(west).State())
	})
	s.Schedule(13900*ms, func() { after = lagOf(t, c, east, west) })
	rep := c.Run()

	if during.OldestUnacked < 9*sec || during.Unacked == 0 {
		t.Errorf("eu-west-1 behind us-east-1 at 11.9 s: %d deltas, oldest %v; want the partition's 10 s", during.Unacked, during.OldestUnacked)
	}
	if inside.OldestUnacked > sec {
		t.Errorf("us-east-2 behind us-east-1 at 11.9 s: oldest %v; want under 1 s on the same side", inside.OldestUnacked)
	}
	if equalDuring {
		t.Errorf("us-east-1 and eu-west-1 hold the same set during the partition")
	}
	if after.OldestUnacked > sec {
		t.Errorf("eu-west-1 behind us-east-1 at 13.9 s: oldest %v; want under 1 s after the heal", after.OldestUnacked)
	}
	if !rep.Converged || rep.LostWrites != 0 {
		t.Errorf("converged %v, %d lost writes; want converged, none lost", rep.Converged, rep.LostWrites)
	}
	for _, tr := range rep.Links {
		cut := (tr.Link.A == sim.USEast) != (tr.Link.B == sim.USEast)
		if cut != (tr.Partitioned.Messages > 0) {
			t.Errorf("%v: %d messages dropped by the partition", tr.Link, tr.Partitioned.Messages)
		}
	}
}

// upOnly wraps a Model and fails the test if an operation runs at a node
// that is down.
type upOnly[T crdt.State[T]] struct {
	sim.Model[T]
	t   *testing.T
	s   *sim.Sim
	ops map[sim.NodeID]int
}

func (m *upOnly[T]) check(op sim.Op) {
	if !m.s.Up(op.Node) {
		m.t.Errorf("operation at %s at %v, while it is down", m.s.Node(op.Node).Name, op.At)
	}
	m.ops[op.Node]++
}

func (m *upOnly[T]) Write(op sim.Op, state T) T {
	m.check(op)
	return m.Model.Write(op, state)
}

func (m *upOnly[T]) Read(op sim.Op, state T) bool {
	m.check(op)
	return m.Model.Read(op, state)
}

// TestOutageCatchUp takes ap-south down from 5 s to 15 s while writes go
// on until 14 s: no operation may run there meanwhile, and once back its
// nodes catch up — at once with the recovery digest, later without it,
// when their peers' backed-off retransmission timers fire.
func TestOutageCatchUp(t *testing.T) {
	converge := func(skipDigest bool) sim.Report {
		s := newSim(t, sim.Config{Seed: 4, Outages: []sim.Outage{{Start: 5 * sec, End: 15 * sec, Region: sim.APSouth}}})
		model := &upOnly[*crdt.PNCounter]{Model: &sim.CounterModel{}, t: t, s: s, ops: map[sim.NodeID]int{}}
		c, err := sim.NewCluster(s, model, sim.ClusterConfig{Ops: 14000, Duration: 14 * sec, SkipRecoveryDigest: skipDigest})
		if err != nil {
			t.Fatal(err)
		}
		rep := c.Run()
		for _, id := range s.RegionNodes(sim.APSouth) {
			if model.ops[id] == 0 {
				t.Errorf("no operation at %s before the outage", s.Node(id).Name)
			}
		}
		if !rep.Converged || rep.LostWrites != 0 {
			t.Fatalf("converged %v, %d lost writes; want converged, none lost", rep.Converged, rep.LostWrites)
		}
		if rep.Quiet != 15*sec {
			t.Errorf("quiescence at %v, want 15s: the end of the outage", rep.Quiet)
		}
		return rep
	}
	withDigest, without := converge(false), converge(true)
	t.Logf("caught up %v after the outage with recovery digests, %v without", withDigest.ConvergenceTime, without.ConvergenceTime)
	if withDigest.ConvergenceTime > 500*ms {
		t.Errorf("caught up %v after the outage, want within 500 ms: a digest round trip", withDigest.ConvergenceTime)
	}
	if without.ConvergenceTime <= withDigest.ConvergenceTime {
		t.Errorf("without recovery digests caught up in %v, with them in %v; want slower without", without.ConvergenceTime, withDigest.ConvergenceTime)
	}
	if withDigest.FullStates == 0 {
		t.Errorf("no full state sent in answer to the recovery digests")
	}
}

// TestHealthyNetwork runs both models on the default network without
// faults: nothing is lost or refused, no full state is needed, the
// replicas converge within a sync tick and the longest route, and no read
// is stale after 500 ms, which is more than a tick plus the longest
// one-way delay (50 + 150 ms). A 100 ms bound, below the delay between
// distant regions, must find stale reads.
func TestHealthyNetwork(t *testing.T) {
	models := []struct {
		name string
		run  func(s *sim.Sim, cfg sim.ClusterConfig) sim.Report
	}{
		{"ORSet", func(s *sim.Sim, cfg sim.ClusterConfig) sim.Report {
			_, rep := play(t, s, &sim.ORSetModel{}, cfg)
			return rep
		}},
		{"PNCounter", func(s *sim.Sim, cfg sim.ClusterConfig) sim.Report {
			_, rep := play(t, s, &sim.CounterModel{}, cfg)
			return rep
		}},
	}
	for _, after := range []time.Duration{500 * ms, 100 * ms} {
		for _, m := range models {
			name := m.name
			rep := m.run(newSim(t, sim.Config{Seed: 9}), sim.ClusterConfig{Ops: 5000, StaleAfter: after})
			switch {
			case !rep.Converged || rep.ConvergenceTime > 250*ms:
				t.Errorf("%s: converged %v, in %v; want within 250 ms", name, rep.Converged, rep.ConvergenceTime)
			case rep.LostWrites != 0 || rep.Refused != 0 || rep.Errors != 0 || rep.FullStates != 0:
				t.Errorf("%s: %d lost writes, %d refused, %d errors, %d full states; want none", name, rep.LostWrites, rep.Refused, rep.Errors, rep.FullStates)
			case after == 500*ms && rep.StaleReads != 0:
				t.Errorf("%s: %d stale reads after %v, want none", name, rep.StaleReads, after)
			case after == 100*ms && rep.StaleReads == 0:
				t.Errorf("%s: no stale read after %v, want some", name, after)
			}
			if tr := rep.Total; tr.Lost.Messages+tr.Partitioned.Messages+tr.Down.Messages+tr.Duplicated.Messages != 0 {
				t.Errorf("%s: messages dropped or duplicated on a perfect network: %+v", name, tr)
			}
		}
	}
}

// TestClockSkewRefused gives eu-west a clock 2 s fast, beyond the hlc
// max offset of 500 ms: its peers refuse its messages, the report counts
// them, and the replicas do not converge.
func TestClockSkewRefused(t *testing.T) {
	regions := sim.DefaultRegions()
	regions[2].Skew = 2 * sec
	s := newSim(t, sim.Config{Regions: regions})
	_, rep := play(t, s, &sim.CounterModel{}, sim.ClusterConfig{Ops: 2000, ConvergeWithin: 5 * sec})
	if rep.Refused == 0 || !strings.Contains(rep.FirstError, "offset") {
		t.Errorf("%d messages refused (first: %s), want some for the clock offset", rep.Refused, rep.FirstError)
	}
	if rep.Converged {
		t.Errorf("converged though eu-west's messages are refused")
	}
	if rep.LostWrites == 0 {
		t.Errorf("no lost writes reported without convergence")
	}
}

// TestReportsRepeat plays each model twice with one seed and once with
// another, on the faulty network: the reports repeat byte for byte and
// differ with the seed.
func TestReportsRepeat(t *testing.T) {
	report := func(seed uint64, set bool) string {
		if set {
			_, rep := scenario(t, seed, &sim.ORSetModel{}, 1000)
			return rep.String()
		}
		_, rep := scenario(t, seed, &sim.CounterModel{}, 1000)
		return rep.String()
	}
	for _, set := range []bool{true, false} {
		a, b, c := report(7, set), report(7, set), report(8, set)
		if a != b {
			t.Fatalf("two runs with seed 7 differ:\n%s\n%s", a, b)
		}
		if a == c {
			t.Fatalf("seeds 7 and 8 give the same report:\n%s", a)
		}
	}
}
