// Command profile shows why last-writer-wins needs hybrid logical clocks
// when clocks are skewed. Ada's display name is kept in two
// crdt.LWWRegister side by side, replicated alike between three regions;
// they differ only in how a write is stamped: with the region's wall
// clock, or with its hlc.Clock, which takes in the timestamps of what the
// region receives (hlc.Clock.Update, called by merge.Replica.Receive).
//
// eu-west's clock runs 50 ms ahead. Ada types her name in eu-west; a
// name formatter in us-east receives it and writes the cleaned-up name
// a few milliseconds later. By the wall clocks the cleaned-up name is
// older than the name it corrects, so wall-clock LWW keeps the earlier
// write and loses the later one; the HLC stamps the correction after
// the write it saw, so HLC LWW keeps the later one.
//
// The regions run merge.Replica on a deterministic merge/sim network
// with the cross-region latencies of sim.DefaultLatency.
//
//	go run ./examples/profile
package main

import (
	"fmt"
	"io"
	"os"
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
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

// skew is how far ahead eu-west's clock runs.
const skew = 50 * time.Millisecond

// name is a display name register.
type name = *crdt.LWWRegister[string]

func newName() name { return new(crdt.LWWRegister[string]) }

// A write is one write of the name, as it happened.
type write struct {
	value  string
	at     time.Duration // true (virtual) time
	region vclock.ReplicaID
}

func run(w io.Writer) error {
	s, err := sim.New(sim.Config{
		// The seed draws the delays of messages. With this one, the name
		// reaches us-east 42 and 45 ms after it was written, so that the
		// formatter writes within the 50 ms of skew: the window in which
		// wall-clock LWW misorders a write and one it saw. (One way,
		// eu-west to us-east takes 40 to 60 ms.)
		Seed:  17,
		Epoch: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Regions: []sim.Region{
			{Name: sim.USEast, Nodes: 1}, {Name: sim.EUWest, Nodes: 1, Skew: skew}, {Name: sim.APSouth, Nodes: 1},
		},
	})
	if err != nil {
		return err
	}
	nodes := s.Nodes()
	us, eu := s.RegionNodes(sim.USEast)[0], s.RegionNodes(sim.EUWest)[0]
	var clocks []*hlc.Clock
	for _, n := range nodes {
		clocks = append(clocks, hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID))))
	}
	// wallNow reads a region's wall clock as a timestamp.
	wallNow := func(id sim.NodeID) hlc.Timestamp {
		return hlc.FromTime(time.Unix(0, s.PhysicalClock(id)()))
	}
	wall := mesh.New(s, 'w', clocks, newName)
	hybrid := mesh.New(s, 'h', clocks, newName)
	meshes := []struct {
		m     *mesh.Mesh[name]
		label string
	}{{wall, "wall-clock"}, {hybrid, "HLC"}}

	var (
		failed error
		writes []write
		fixed  bool
	)
	fail := func(err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	// set writes v as node id into both registers, stamped by the wall
	// clock and by the HLC.
	set := func(id sim.NodeID, who, v string) {
		r := vclock.ReplicaID(nodes[id].Region)
		wts, hts := wallNow(id), clocks[id].Now()
		// An LWWRegister's writer ID only breaks ties between writes
		// stamped alike: the region's name serves, and reads better.
		fail(wall.Write(id, func(_ vclock.ReplicaID, n name) name { return n.Set(r, v, wts) }))
		fail(hybrid.Write(id, func(_ vclock.ReplicaID, n name) name { return n.Set(r, v, hts) }))
		writes = append(writes, write{v, s.Now(), r})
		fmt.Fprintf(w, "%s  %-8s  %s writes %q: wall stamp %s, HLC stamp %s\n", at(s.Now()), r, who, v, stamp(wts), stamp(hts))
		for _, x := range meshes {
			rep := x.m.Replica(id)
			if got := get(rep); got != v {
				var held hlc.Timestamp
				rep.Read(func(n name) { held = n.Timestamp() })
				fmt.Fprintf(w, "%s  %-8s  its %s register keeps %q, stamped %s: later by the clocks\n", at(s.Now()), r, x.label, got, stamp(held))
			}
		}
	}

	for _, n := range nodes {
		id := n.ID
		s.Handle(id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			for _, x := range meshes {
				if msg[0] != x.m.Tag() {
					continue
				}
				before := get(x.m.Replica(id))
				fail(x.m.Receive(id, from, msg))
				if after := get(x.m.Replica(id)); after != before {
					fmt.Fprintf(w, "%s  %-8s  gets %q in its %s register", at(s.Now()), n.Region, after, x.label)
					if x.m == hybrid {
						fmt.Fprintf(w, "; its HLC moves to %s", stamp(clocks[id].Last()))
					}
					fmt.Fprintln(w)
				}
			}
			// The formatter in us-east cleans up a new name as soon as
			// both registers show it.
			if id == us && !fixed && get(wall.Replica(us)) == "ada lovelace " && get(hybrid.Replica(us)) == "ada lovelace " {
				fixed = true
				s.After(2*time.Millisecond, func() { set(us, "the name formatter", "Ada Lovelace") })
			}
		}))
		s.Every(0, 50*time.Millisecond, func() bool {
			fail(wall.Sync(id))
			fail(hybrid.Sync(id))
			return true
		})
	}

	fmt.Fprintf(w, "Ada's name in two LWW registers, one stamped by wall clocks, one by HLCs; eu-west's clock is %v ahead.\n", skew)
	fmt.Fprintln(w, "True (virtual) time, region, event:")
	s.Schedule(100*time.Millisecond, func() { set(eu, "Ada", "ada lovelace ") })
	s.Run(2 * time.Second)
	if failed != nil {
		return failed
	}
	if len(writes) != 2 {
		return fmt.Errorf("%d writes, want 2", len(writes))
	}

	first, last := writes[0], writes[1]
	fmt.Fprintf(w, "True order: %q (%s, %s), then %q (%s, %s), which saw it.\n",
		first.value, first.region, strings.TrimSpace(at(first.at)), last.value, last.region, strings.TrimSpace(at(last.at)))
	fmt.Fprintf(w, "%-8s  %-16s  %s\n", "region", "wall-clock LWW", "HLC LWW")
	agree := true
	for _, n := range nodes {
		fmt.Fprintf(w, "%-8s  %-16q  %q\n", n.Region, get(wall.Replica(n.ID)), get(hybrid.Replica(n.ID)))
		agree = agree && get(wall.Replica(n.ID)) == get(wall.Replica(us)) && get(hybrid.Replica(n.ID)) == get(hybrid.Replica(us))
	}
	if !agree {
		fmt.Fprintln(w, "conclusion: the regions disagree")
		return nil
	}
	fmt.Fprintf(w, "conclusion: wall-clock LWW keeps the %s write, HLC LWW keeps the %s write\n",
		which(get(wall.Replica(us)), writes), which(get(hybrid.Replica(us)), writes))
	return nil
}

// which says which of the writes v is: "earlier", "later", or neither.
func which(v string, writes []write) string {
	switch v {
	case writes[0].value:
		return "earlier"
	case writes[1].value:
		return "later"
	}
	return fmt.Sprintf("unknown (%q)", v)
}

// get returns the value a replica of the name holds.
func get(rep *merge.Replica[name]) string {
	var v string
	rep.Read(func(n name) { v, _ = n.Get() })
	return v
}

// stamp formats a timestamp's time of day and logical part.
func stamp(t hlc.Timestamp) string {
	return fmt.Sprintf("%s/%d", t.Time().Format("15:04:05.000"), t.Logical())
}

// at formats a virtual time.
func at(d time.Duration) string { return fmt.Sprintf("%6.3fs", d.Seconds()) }
