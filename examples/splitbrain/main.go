// Command splitbrain shows a split brain that loses nothing. The network
// between the US regions (us-east, us-west) and eu-west is cut for 60
// seconds; both sides keep taking writes to one account — cart items, likes
// and profile fields — and acknowledge them. When the partition heals,
// the replicas merge, and every acknowledged write is there, in every
// region. Both sides wrote the same profile field, and both values are
// kept, for the application to settle.
//
// The account is three converge types, each replicated by merge.Replica:
// the cart a crdt.ORSet, the likes a crdt.PNCounter, the profile a
// crdt.ORMap of crdt.MVRegister (concurrent writes to a field are kept as
// siblings; see crdt.MVRegister.Siblings). The network is a deterministic merge/sim
// with the cross-region latencies of sim.DefaultLatency, so the output is the same
// on every run.
//
//	go run ./examples/splitbrain
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/examples/internal/mesh"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "splitbrain:", err)
		os.Exit(1)
	}
}

type (
	cart    = *crdt.ORSet[string]
	likes   = *crdt.PNCounter
	profile = *crdt.ORMap[string, *crdt.MVRegister[string]]
)

// The partition: the US side from the EU side, from start to heal.
const (
	start = 1 * time.Second
	heal  = 61 * time.Second
)

// digestEvery is how often each region checks with its peers that they
// agree.
const digestEvery = 2 * time.Second

// likeEvery is how often each region takes a like while the sides are
// apart.
var likeEvery = map[string]time.Duration{
	sim.USEast: time.Second,
	sim.USWest: 2 * time.Second,
	sim.EUWest: 1500 * time.Millisecond,
}

// A fieldWrite is an acknowledged write of a profile field.
type fieldWrite struct {
	field, value string
	// overwritten is set when a later write to the field, in a region
	// that had seen this one, replaced it: not a loss.
	overwritten bool
}

func run(w io.Writer) error {
	s, err := sim.New(sim.Config{
		Seed: 1,
		Regions: []sim.Region{
			{Name: sim.USEast, Nodes: 1}, {Name: sim.USWest, Nodes: 1}, {Name: sim.EUWest, Nodes: 1},
		},
		Partitions: []sim.Partition{{Start: start, End: heal, A: []string{sim.USEast, sim.USWest}}},
	})
	if err != nil {
		return err
	}
	nodes := s.Nodes()
	byName := map[string]sim.NodeID{}
	var clocks []*hlc.Clock
	for _, n := range nodes {
		byName[n.Region] = n.ID
		clocks = append(clocks, hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID))))
	}
	carts := mesh.New(s, 'c', clocks, func() cart { return new(crdt.ORSet[string]) })
	counts := mesh.New(s, 'l', clocks, func() likes { return new(crdt.PNCounter) })
	profiles := mesh.New(s, 'p', clocks, func() profile { return new(crdt.ORMap[string, *crdt.MVRegister[string]]) })

	var (
		failed error
		added  []string                     // acknowledged cart adds
		liked  = make([]uint64, len(nodes)) // acknowledged likes per region
		fields []*fieldWrite
	)
	fail := func(err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	for _, n := range nodes {
		id := n.ID
		s.Handle(id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			switch msg[0] {
			case carts.Tag():
				fail(carts.Receive(id, from, msg))
			case counts.Tag():
				fail(counts.Receive(id, from, msg))
			case profiles.Tag():
				fail(profiles.Receive(id, from, msg))
			}
		}))
		s.Every(0, 50*time.Millisecond, func() bool {
			fail(carts.Sync(id))
			fail(counts.Sync(id))
			fail(profiles.Sync(id))
			return true
		})
		// Every few seconds, a region also sends its peers digests of its
		// states: replicas that differ answer with their full state. That
		// is how the sides find each other again as soon as the partition
		// heals, rather than at the next retransmission of unacknowledged
		// deltas, whose timeout backed off while the peer was silent.
		s.Every(digestEvery*time.Duration(id+1)/time.Duration(len(nodes)), digestEvery, func() bool {
			fail(carts.Digest(id))
			fail(counts.Digest(id))
			fail(profiles.Digest(id))
			return true
		})
	}

	// The writes. Each is acknowledged once its region's replica has it.
	add := func(region, item string) {
		id := byName[region]
		if err := carts.Replica(id).Update(func(w vclock.ReplicaID, c cart) cart { return c.Add(w, item) }); err != nil {
			fail(err)
			return
		}
		added = append(added, item)
		fmt.Fprintf(w, "%s  %-8s  adds %s to the cart\n", at(s.Now()), region, item)
	}
	like := func(id sim.NodeID) {
		if err := counts.Replica(id).Update(func(w vclock.ReplicaID, c likes) likes { return c.Inc(w, 1) }); err != nil {
			fail(err)
			return
		}
		liked[id]++
	}
	set := func(region, field, value string) {
		id := byName[region]
		seen := siblings(profiles.Replica(id), field)
		if err := profiles.Replica(id).Update(func(w vclock.ReplicaID, p profile) profile {
			return p.Update(field, func(v *crdt.MVRegister[string]) *crdt.MVRegister[string] { return v.Set(w, value) })
		}); err != nil {
			fail(err)
			return
		}
		for _, f := range fields {
			if f.field == field && slices.Contains(seen, f.value) {
				f.overwritten = true
			}
		}
		fields = append(fields, &fieldWrite{field: field, value: value})
		fmt.Fprintf(w, "%s  %-8s  sets %s to %q\n", at(s.Now()), region, field, value)
	}

	fmt.Fprintf(w, "One account in us-east, us-west and eu-west; the US side and eu-west are cut apart from %gs to %gs.\n",
		start.Seconds(), heal.Seconds())
	s.Schedule(0, func() {
		set(sim.USEast, "bio", "Hello")
		add(sim.USEast, "socks")
	})
	s.Schedule(start, func() { fmt.Fprintf(w, "%s  partition: us-east, us-west | eu-west\n", at(s.Now())) })
	for _, n := range nodes {
		id, every := n.ID, likeEvery[n.Region]
		s.Every(start+every, every, func() bool { like(id); return s.Now()+every < heal })
	}
	script := []struct {
		at time.Duration
		do func()
	}{
		{10 * time.Second, func() { add(sim.USEast, "book") }},
		{15 * time.Second, func() { add(sim.EUWest, "pen") }},
		{20 * time.Second, func() { set(sim.EUWest, "bio", "Bonjour") }},
		{25 * time.Second, func() { set(sim.USWest, "bio", "Howdy") }},
		{30 * time.Second, func() { add(sim.USWest, "lamp") }},
		{40 * time.Second, func() { set(sim.EUWest, "city", "Paris") }},
		{45 * time.Second, func() { set(sim.USEast, "email", "ada@example.com") }},
	}
	for _, x := range script {
		s.Schedule(x.at, x.do)
	}
	s.Schedule(heal-time.Second, func() {
		for _, region := range []string{sim.USEast, sim.EUWest} {
			id := byName[region]
			fmt.Fprintf(w, "%s  %-8s  sees cart %v, %d likes, bio %v\n", at(s.Now()), region,
				carts.Replica(id).State(), counts.Replica(id).State().Value(), profileField(profiles.Replica(id), "bio"))
		}
	})
	s.Schedule(heal, func() { fmt.Fprintf(w, "%s  the partition heals\n", at(s.Now())) })

	// present counts the acknowledged writes node id holds, and those
	// overwritten by a write that had seen them.
	present := func(id sim.NodeID) (n int) {
		c := carts.Replica(id).State()
		for _, item := range added {
			if c.Contains(item) {
				n++
			}
		}
		l := counts.Replica(id).State()
		for k, node := range nodes {
			n += int(min(countOf(l.Increments(), vclock.ReplicaID(node.Region)), liked[k]))
		}
		for _, f := range fields {
			if f.overwritten || slices.Contains(siblings(profiles.Replica(id), f.field), f.value) {
				n++
			}
		}
		return n
	}
	acknowledged := func() int { return len(added) + int(sum(liked)) + len(fields) }
	// After the heal, check every 10 ms whether every region holds every
	// acknowledged write and the replicas are equal.
	converged := time.Duration(-1)
	s.Every(heal, 10*time.Millisecond, func() bool {
		for _, n := range nodes {
			if present(n.ID) != acknowledged() {
				return true
			}
		}
		if !carts.Converged() || !counts.Converged() || !profiles.Converged() {
			return true
		}
		converged = s.Now()
		s.Stop()
		return false
	})
	s.Run(heal + 5*time.Minute)
	if failed != nil {
		return failed
	}
	if converged < 0 {
		fmt.Fprintln(w, "conclusion: the regions did not converge within 5 minutes of the heal")
		return nil
	}

	fmt.Fprintf(w, "%s  every region holds the same account, %v after the heal:\n", at(converged), converged-heal)
	us := byName[sim.USEast]
	fmt.Fprintf(w, "  cart     %v\n", carts.Replica(us).State())
	fmt.Fprintf(w, "  likes    %d\n", counts.Replica(us).State().Value())
	fmt.Fprintf(w, "  profile  %v\n", profiles.Replica(us).State())
	bio, conflict := profileField(profiles.Replica(us), "bio").Siblings()
	if conflict {
		fmt.Fprintf(w, "  bio was written on both sides: both kept for the application to settle, %q\n", bio)
	}
	var overwritten []string
	for _, f := range fields {
		if f.overwritten {
			overwritten = append(overwritten, fmt.Sprintf("%s=%q", f.field, f.value))
		}
	}
	minPresent := acknowledged()
	for _, n := range nodes {
		minPresent = min(minPresent, present(n.ID))
	}
	fmt.Fprintf(w, "acknowledged writes: %d cart adds + %d likes + %d profile fields = %d (overwritten by a later write that saw it: %s)\n",
		len(added), sum(liked), len(fields), acknowledged(), strings.Join(overwritten, " "))
	fmt.Fprintf(w, "conclusion: %d of %d acknowledged writes lost; converged %v after the heal\n",
		acknowledged()-minPresent, acknowledged(), converged-heal)
	return nil
}

func sum(xs []uint64) uint64 {
	var t uint64
	for _, x := range xs {
		t += x
	}
	return t
}

// profileField returns a copy of a profile field's register.
func profileField(rep *merge.Replica[profile], field string) *crdt.MVRegister[string] {
	var r *crdt.MVRegister[string]
	rep.Read(func(p profile) {
		if v, ok := p.Get(field); ok {
			r = v.Clone()
		}
	})
	if r == nil {
		r = new(crdt.MVRegister[string])
	}
	return r
}

// siblings returns the values a profile field holds.
func siblings(rep *merge.Replica[profile], field string) []string {
	return profileField(rep, field).Values()
}

// at formats a virtual time.
func at(d time.Duration) string { return fmt.Sprintf("%7.3fs", d.Seconds()) }

// countOf returns the count of a region's replica in c, summed over its
// writers (one per incarnation, see merge.Replica.Writer).
func countOf(c *crdt.GCounter, region vclock.ReplicaID) uint64 {
	var n uint64
	for w, k := range c.All() {
		if merge.WriterNode(w) == region {
			n += k
		}
	}
	return n
}
