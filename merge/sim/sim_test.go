package sim_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/merge/sim"
)

const ms = time.Millisecond

func newSim(t testing.TB, cfg sim.Config) *sim.Sim {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// delivery is one message handed to a node.
type delivery struct {
	at       time.Duration
	from, to sim.NodeID
	msg      string
}

// record makes every node of s append what it receives to *log.
func record(s *sim.Sim, log *[]delivery) {
	for _, n := range s.Nodes() {
		to := n.ID
		s.Handle(to, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			*log = append(*log, delivery{s.Now(), from, to, string(msg)})
		}))
	}
}

func TestScheduleOrder(t *testing.T) {
	s := newSim(t, sim.Config{})
	var got []string
	note := func(name string) func() { return func() { got = append(got, fmt.Sprint(name, "@", s.Now())) } }
	s.Schedule(20*ms, note("c"))
	s.Schedule(10*ms, note("a"))
	s.Schedule(10*ms, note("b")) // same time: after a
	s.Schedule(10*ms, func() { s.After(0, note("d")) })
	s.Schedule(30*ms, func() { s.Stop() })
	s.Schedule(40*ms, note("e"))
	s.Run(time.Second)
	want := []string{"a@10ms", "b@10ms", "d@10ms", "c@20ms"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s.Now() != 30*ms || s.Pending() != 1 {
		t.Fatalf("after Stop: Now %v, %d pending; want 30ms, 1", s.Now(), s.Pending())
	}
	s.Run(35 * ms)
	if s.Now() != 35*ms || len(got) != 4 {
		t.Fatalf("Run(35ms): Now %v, %d events; want 35ms, 4", s.Now(), len(got))
	}
	s.Run(time.Second)
	if s.Now() != time.Second || len(got) != 5 {
		t.Fatalf("Run(1s): Now %v, %d events; want 1s, 5", s.Now(), len(got))
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Schedule in the past did not panic")
		}
	}()
	s.Schedule(0, func() {})
}

func TestEvery(t *testing.T) {
	s := newSim(t, sim.Config{})
	var at []time.Duration
	s.Every(5*ms, 10*ms, func() bool {
		at = append(at, s.Now())
		return len(at) < 3
	})
	s.Run(time.Second)
	if want := []time.Duration{5 * ms, 15 * ms, 25 * ms}; !slices.Equal(at, want) {
		t.Fatalf("got %v, want %v", at, want)
	}
}

func TestTopology(t *testing.T) {
	s := newSim(t, sim.Config{})
	nodes := s.Nodes()
	if len(nodes) != 12 || len(s.Regions()) != 4 {
		t.Fatalf("got %d nodes in %d regions, want 12 in 4", len(nodes), len(s.Regions()))
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	want := "us-east-1 us-east-2 us-east-3 us-west-1 us-west-2 us-west-3 eu-west-1 eu-west-2 eu-west-3 ap-south-1 ap-south-2 ap-south-3"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("got nodes %s, want %s", got, want)
	}
	if got := s.RegionNodes(sim.EUWest); !slices.Equal(got, []sim.NodeID{6, 7, 8}) {
		t.Fatalf("RegionNodes(eu-west) = %v, want [6 7 8]", got)
	}
}

// TestLatency sends many messages on every route of the default topology
// and checks each one-way delay against half its round-trip range, and
// that the delays spread over the range.
func TestLatency(t *testing.T) {
	s := newSim(t, sim.Config{Seed: 7})
	var log []delivery
	record(s, &log)
	nodes := s.Nodes()
	sent := map[[2]sim.NodeID][]time.Duration{}
	for k := 0; k < 200; k++ {
		for _, a := range nodes {
			for _, b := range nodes {
				if a.ID != b.ID {
					s.Send(a.ID, b.ID, []byte{byte(k)})
				}
			}
		}
		s.Run(s.Now() + time.Second)
	}
	for _, d := range log {
		key := [2]sim.NodeID{d.from, d.to}
		sent[key] = append(sent[key], d.at%time.Second)
	}
	table := sim.DefaultLatency()
	for key, delays := range sent {
		a, b := nodes[key[0]], nodes[key[1]]
		rtt, ok := table[sim.LinkBetween(a.Region, b.Region)]
		if a.Region == b.Region {
			rtt, ok = sim.RTT{Min: ms, Max: 2 * ms}, true
		}
		if !ok {
			t.Fatalf("no latency for %s ↔ %s", a.Region, b.Region)
		}
		lo, hi := slices.Min(delays), slices.Max(delays)
		if lo < rtt.Min/2 || hi > rtt.Max/2 {
			t.Fatalf("%s → %s: delays in [%v, %v], want within [%v, %v]", a.Name, b.Name, lo, hi, rtt.Min/2, rtt.Max/2)
		}
		if spread := rtt.Max/2 - rtt.Min/2; hi-lo < spread*8/10 {
			t.Fatalf("%s → %s: delays in [%v, %v], want spread over [%v, %v]", a.Name, b.Name, lo, hi, rtt.Min/2, rtt.Max/2)
		}
	}
	if len(log) != 200*12*11 {
		t.Fatalf("got %d deliveries, want %d", len(log), 200*12*11)
	}
}

// TestLossDuplicationReorder checks the rates of the network's faults
// against binomial bounds, and that the counters add up.
func TestLossDuplicationReorder(t *testing.T) {
	s := newSim(t, sim.Config{Seed: 3, Loss: 0.1, Duplicate: 0.05, Reorder: 0.2, ReorderDelay: time.Second,
		Regions: []sim.Region{{Name: "a", Nodes: 2}}})
	var log []delivery
	record(s, &log)
	const n = 20000
	for k := 0; k < n; k++ {
		s.Send(0, 1, []byte(fmt.Sprint(k)))
		s.Run(s.Now() + ms)
	}
	s.Run(s.Now() + 2*time.Second)
	tr := s.TotalTraffic()
	near := func(what string, got uint64, p float64, of uint64) {
		t.Helper()
		mean := p * float64(of)
		if sd := math.Sqrt(mean * (1 - p)); math.Abs(float64(got)-mean) > 5*sd {
			t.Errorf("%s: got %d of %d, want about %.0f", what, got, of, mean)
		}
	}
	near("duplicated", tr.Duplicated.Messages, 0.05, n)
	near("lost", tr.Lost.Messages, 0.1, n+tr.Duplicated.Messages)
	if got, want := tr.Delivered.Messages, tr.Sent.Messages+tr.Duplicated.Messages-tr.Lost.Messages; got != want || int(got) != len(log) {
		t.Errorf("delivered %d (handler saw %d), want sent + duplicated − lost = %d", got, len(log), want)
	}
	// Reordering: a message overtaken by one sent later.
	overtaken := 0
	last := -1
	for _, d := range log {
		var k int
		fmt.Sscan(d.msg, &k)
		if k < last {
			overtaken++
		}
		last = max(last, k)
	}
	if overtaken < n/20 {
		t.Errorf("%d of %d messages overtaken, want many with Reorder 0.2 over 1 s", overtaken, n)
	}
}

// TestPartitionBlocks sends a message between every pair of nodes every
// 10 ms, and checks that nothing crosses the partition while it lasts,
// and everything else passes.
func TestPartitionBlocks(t *testing.T) {
	s := newSim(t, sim.Config{Seed: 5, Partitions: []sim.Partition{{
		Start: time.Second, End: 3 * time.Second, A: []string{sim.USEast}, B: []string{sim.EUWest, sim.APSouth},
	}}})
	var log []delivery
	record(s, &log)
	nodes := s.Nodes()
	for at := time.Duration(0); at < 5*time.Second; at += 10 * ms {
		s.Schedule(at, func() {
			for _, a := range nodes {
				for _, b := range nodes {
					if a.ID != b.ID {
						s.Send(a.ID, b.ID, []byte(fmt.Sprint(int64(s.Now()))))
					}
				}
			}
		})
	}
	s.Run(6 * time.Second)
	across := func(a, b sim.Node) bool {
		return a.Region == sim.USEast && (b.Region == sim.EUWest || b.Region == sim.APSouth) ||
			b.Region == sim.USEast && (a.Region == sim.EUWest || a.Region == sim.APSouth)
	}
	got := map[[2]sim.NodeID]int{}
	for _, d := range log {
		var sentNs int64
		fmt.Sscan(d.msg, &sentNs)
		sent := time.Duration(sentNs)
		a, b := nodes[d.from], nodes[d.to]
		if across(a, b) && (sent >= time.Second && sent < 3*time.Second || d.at >= time.Second && d.at < 3*time.Second) {
			t.Fatalf("%s → %s sent at %v, delivered at %v, across the partition", a.Name, b.Name, sent, d.at)
		}
		got[[2]sim.NodeID{d.from, d.to}]++
	}
	for _, a := range nodes {
		for _, b := range nodes {
			n := got[[2]sim.NodeID{a.ID, b.ID}]
			switch {
			case a.ID == b.ID:
			case across(a, b) && (n < 250 || n > 300):
				t.Errorf("%s → %s: %d delivered, want about 300 (500 sent, 200 while partitioned, some in flight at its start)", a.Name, b.Name, n)
			case !across(a, b) && n != 500:
				t.Errorf("%s → %s: %d delivered, want 500", a.Name, b.Name, n)
			}
		}
	}
	for _, tr := range s.Traffic() {
		cut := tr.Link == sim.LinkBetween(sim.USEast, sim.EUWest) || tr.Link == sim.LinkBetween(sim.USEast, sim.APSouth)
		if cut != (tr.Partitioned.Messages > 0) {
			t.Errorf("%v: %d partitioned", tr.Link, tr.Partitioned.Messages)
		}
	}
}

func TestOutage(t *testing.T) {
	s := newSim(t, sim.Config{Outages: []sim.Outage{
		{Start: time.Second, End: 2 * time.Second, Region: sim.APSouth},
		{Start: 1500 * ms, End: 3 * time.Second, Region: sim.APSouth}, // overlaps: down until 3 s
	}})
	var log []delivery
	record(s, &log)
	var status []string
	s.OnStatus(func(id sim.NodeID, up bool) {
		status = append(status, strings.TrimSpace(fmt.Sprintln(s.Node(id).Name, up, s.Now())))
	})
	from, to := s.RegionNodes(sim.USEast)[0], s.RegionNodes(sim.APSouth)[0]
	for at := time.Duration(0); at < 4*time.Second; at += 100 * ms {
		s.Schedule(at, func() {
			if s.Up(to) != (s.Now() < time.Second || s.Now() >= 3*time.Second) {
				t.Errorf("Up(ap-south-1) = %v at %v", s.Up(to), s.Now())
			}
			s.Send(from, to, []byte(fmt.Sprint(int64(s.Now()))))
			s.Send(to, from, []byte(fmt.Sprint(int64(s.Now()))))
		})
	}
	s.Run(5 * time.Second)
	down := func(at time.Duration) bool { return at >= time.Second && at < 3*time.Second }
	for _, d := range log {
		var sent int64
		fmt.Sscan(d.msg, &sent)
		if d.to == to && down(d.at) || d.from == to && down(time.Duration(sent)) {
			t.Fatalf("%s → %s sent at %v, delivered at %v, during the outage", s.Node(d.from).Name, s.Node(d.to).Name, time.Duration(sent), d.at)
		}
	}
	if len(log) < 2*17 || len(log) > 2*20 {
		t.Errorf("%d deliveries, want about 2×(10+10) minus those in flight at 1 s", len(log))
	}
	want := []string{
		"ap-south-1 false 1s", "ap-south-2 false 1s", "ap-south-3 false 1s",
		"ap-south-1 true 3s", "ap-south-2 true 3s", "ap-south-3 true 3s",
	}
	if !slices.Equal(status, want) {
		t.Fatalf("status changes %v, want %v", status, want)
	}
	if s.LastHeal() != 3*time.Second {
		t.Fatalf("LastHeal() = %v, want 3s", s.LastHeal())
	}
}

func TestClocks(t *testing.T) {
	s := newSim(t, sim.Config{ClockSkew: 50 * ms, ClockDrift: 200, Regions: []sim.Region{
		{Name: "a", Nodes: 20},
		{Name: "b", Nodes: 1, Skew: time.Second, Drift: 1000},
	}, Latency: map[sim.Link]sim.RTT{{A: "a", B: "b"}: {Min: 10 * ms, Max: 10 * ms}}})
	epoch := sim.DefaultEpoch.UnixNano()
	var skews []time.Duration
	for _, n := range s.Nodes() {
		if n.Region == "a" && (n.Skew < -50*ms || n.Skew > 50*ms || math.Abs(n.Drift) > 200) {
			t.Fatalf("%s: skew %v, drift %v ppm; want within ±50ms, ±200ppm", n.Name, n.Skew, n.Drift)
		}
		skews = append(skews, n.Skew)
	}
	if slices.Min(skews[:20]) > -20*ms || slices.Max(skews[:20]) < 20*ms {
		t.Errorf("skews %v do not spread over ±50ms", skews[:20])
	}
	if err := s.SetClock(20, time.Second, 1000); err != nil {
		t.Fatal(err)
	}
	clock := s.PhysicalClock(20)
	if got := clock(); got != epoch+int64(time.Second) {
		t.Fatalf("b-1 at 0: got %d, want epoch + 1s", got-epoch)
	}
	s.Run(1000 * time.Second) // 1000 ppm of 1000 s is 1 s
	if got, want := time.Duration(clock()-epoch), 1002*time.Second; got != want {
		t.Fatalf("b-1 at 1000s: got epoch + %v, want epoch + %v", got, want)
	}
	if err := s.SetClock(0, 0, 2e5); err == nil {
		t.Fatal("SetClock accepted a drift of 20%")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sim.Config
	}{
		{"loss above 1", sim.Config{Loss: 1.5}},
		{"negative duplicate", sim.Config{Duplicate: -0.1}},
		{"NaN reorder", sim.Config{Reorder: math.NaN()}},
		{"negative jitter", sim.Config{Jitter: -ms}},
		{"duplicate region", sim.Config{Regions: []sim.Region{{Name: "a"}, {Name: "a"}}}},
		{"unnamed region", sim.Config{Regions: []sim.Region{{}}}},
		{"missing latency", sim.Config{Regions: []sim.Region{{Name: "a"}, {Name: "b"}}}},
		{"latency for an unknown region", sim.Config{Latency: map[sim.Link]sim.RTT{{A: "us-east", B: "mars"}: {}}}},
		{"inverted latency", sim.Config{Regions: []sim.Region{{Name: "a"}}, LocalRTT: sim.RTT{Min: 2 * ms, Max: ms}}},
		{"partition with an unknown region", sim.Config{Partitions: []sim.Partition{{Start: 0, End: 1, A: []string{"mars"}}}}},
		{"partition overlapping sides", sim.Config{Partitions: []sim.Partition{{Start: 0, End: 1, A: []string{sim.USEast}, B: []string{sim.USEast}}}}},
		{"partition healing before it starts", sim.Config{Partitions: []sim.Partition{{Start: 2, End: 1, A: []string{sim.USEast}}}}},
		{"outage of an unknown region", sim.Config{Outages: []sim.Outage{{Start: 0, End: 1, Region: "mars"}}}},
		{"outage without end", sim.Config{Outages: []sim.Outage{{Start: 5, Region: sim.USEast}}}},
		{"drift too large", sim.Config{ClockDrift: 1e6}},
	} {
		if _, err := sim.New(tc.cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
}

// TestNetworkDeterminism runs the same traffic twice with one seed and
// once with another: the deliveries repeat exactly, and differ with the
// seed.
func TestNetworkDeterminism(t *testing.T) {
	trace := func(seed uint64) []delivery {
		s := newSim(t, sim.Config{Seed: seed, Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Jitter: 5 * ms})
		var log []delivery
		record(s, &log)
		rng := s.Rand("test")
		for k := 0; k < 5000; k++ {
			s.Send(sim.NodeID(rng.IntN(12)), sim.NodeID(rng.IntN(12)), []byte(fmt.Sprint(k)))
			s.Run(s.Now() + time.Duration(rng.IntN(1000))*time.Microsecond)
		}
		s.Run(s.Now() + time.Second)
		return log
	}
	a, b, c := trace(1), trace(1), trace(2)
	if !slices.Equal(a, b) {
		t.Fatal("two runs with seed 1 delivered differently")
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 1 and 2 delivered identically")
	}
}
