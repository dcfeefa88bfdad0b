// Command counters shows a like counter taking likes and unlikes in three
// regions at once over a network that loses, duplicates and reorders
// messages, and ending exact in every region.
//
// The counter is a crdt.PNCounter, replicated by merge.Replica: deltas
// are acknowledged and sent again when lost, and merging a duplicate or a
// stale delta changes nothing, so every like counts once. For contrast,
// each region also keeps a naive counter that sends "+1" or "-1" to the
// others and adds what arrives: a lost message is a lost like, a
// duplicated one counts twice. The network is a deterministic merge/sim
// with the cross-region latencies of sim.DefaultLatency, so the output is the same
// on every run.
//
//	go run ./examples/counters
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
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "counters:", err)
		os.Exit(1)
	}
}

// The network's faults.
const (
	loss      = 0.2
	duplicate = 0.2
	reorder   = 0.2
)

// The workload: likes at a fixed interval per region, and unlikes in
// eu-west, before stop.
var (
	likeEvery = map[string]time.Duration{
		sim.USEast:  20 * time.Millisecond,
		sim.EUWest:  30 * time.Millisecond,
		sim.APSouth: 40 * time.Millisecond,
	}
	unlikeEvery = map[string]time.Duration{sim.EUWest: 250 * time.Millisecond}
)

const stop = 3 * time.Second

type counter = *crdt.PNCounter

func run(w io.Writer) error {
	s, err := sim.New(sim.Config{
		Seed: 1,
		Regions: []sim.Region{
			{Name: sim.USEast, Nodes: 1}, {Name: sim.EUWest, Nodes: 1}, {Name: sim.APSouth, Nodes: 1},
		},
		Loss:      loss,
		Duplicate: duplicate,
		Reorder:   reorder,
	})
	if err != nil {
		return err
	}
	nodes := s.Nodes()
	var clocks []*hlc.Clock
	for _, n := range nodes {
		clocks = append(clocks, hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID))))
	}
	likes := mesh.New(s, 'c', clocks, func() counter { return new(crdt.PNCounter) })
	var (
		failed        error
		taken         = make([]int64, len(nodes)) // likes minus unlikes each region took
		naive         = make([]int64, len(nodes)) // each region's naive count
		naiveSent     int
		likesN, unliN int
	)
	fail := func(err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	// vote records a like (+1) or an unlike (-1) in region id: in the
	// replicated counter, and in the naive one, which tells the others.
	vote := func(id sim.NodeID, n int64) {
		fail(likes.Replica(id).Update(func(w vclock.ReplicaID, c counter) counter {
			if n > 0 {
				return c.Inc(w, 1)
			}
			return c.Dec(w, 1)
		}))
		taken[id] += n
		naive[id] += n
		for _, p := range nodes {
			if p.ID != id {
				s.Send(id, p.ID, []byte{'n', byte(n)}) // byte(-1) is 0xff
				naiveSent++
			}
		}
	}

	for _, n := range nodes {
		id := n.ID
		s.Handle(id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			switch msg[0] {
			case 'n':
				naive[id] += int64(int8(msg[1]))
			case likes.Tag():
				fail(likes.Receive(id, from, msg))
			}
		}))
		// The replicated counter syncs every 50 ms; deltas that piled up
		// in between travel as one.
		s.Every(0, 50*time.Millisecond, func() bool { fail(likes.Sync(id)); return true })
		every := likeEvery[n.Region]
		s.Every(every, every, func() bool { vote(id, +1); likesN++; return s.Now()+every < stop })
		if every, ok := unlikeEvery[n.Region]; ok {
			s.Every(every, every, func() bool { vote(id, -1); unliN++; return s.Now()+every < stop })
		}
	}

	value := func(id sim.NodeID) int64 {
		var v int64
		likes.Replica(id).Read(func(c counter) { v = c.Value() })
		return v
	}
	sum := func(xs []int64) int64 {
		var t int64
		for _, x := range xs {
			t += x
		}
		return t
	}
	reads := func() string {
		var b strings.Builder
		for i, n := range nodes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", n.Region, value(n.ID))
		}
		return b.String()
	}

	fmt.Fprintf(w, "Likes in three regions over a network that loses %d%%, duplicates %d%% and reorders %d%% of messages.\n",
		int(loss*100), int(duplicate*100), int(reorder*100))
	fmt.Fprintf(w, "Likes every %v in us-east, %v in eu-west, %v in ap-south; an unlike every %v in eu-west; for %v.\n",
		likeEvery[sim.USEast], likeEvery[sim.EUWest], likeEvery[sim.APSouth], unlikeEvery[sim.EUWest], stop)
	fmt.Fprintln(w, "Virtual time, true count so far, and what each region's replicated counter reads:")
	s.Every(500*time.Millisecond, 500*time.Millisecond, func() bool {
		fmt.Fprintf(w, "%s  true %3d  reads: %s\n", at(s.Now()), sum(taken), reads())
		return s.Now() < stop
	})
	// From the last like on, check every 10 ms whether every region
	// reads the true count.
	converged := time.Duration(-1)
	s.Every(stop, 10*time.Millisecond, func() bool {
		for _, n := range nodes {
			if value(n.ID) != sum(taken) {
				return true
			}
		}
		converged = s.Now()
		s.Stop()
		return false
	})
	s.Run(stop + time.Minute)
	if failed != nil {
		return failed
	}
	if converged < 0 {
		fmt.Fprintf(w, "%s  true %3d  reads: %s\n", at(s.Now()), sum(taken), reads())
		fmt.Fprintln(w, "conclusion: the regions did not converge within a minute")
		return nil
	}
	// Let the naive messages still in flight land.
	s.Run(s.Now() + time.Second)

	total := s.TotalTraffic()
	fmt.Fprintf(w, "%s  true %3d  reads: %s  (converged %v after the votes stopped)\n",
		at(converged), sum(taken), reads(), converged-stop)
	fmt.Fprintf(w, "network: %d messages sent (%d of them naive), %d lost, %d duplicated\n",
		total.Sent.Messages, naiveSent, total.Lost.Messages, total.Duplicated.Messages)
	var b strings.Builder
	for i, n := range nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", n.Region, naive[n.ID])
	}
	fmt.Fprintf(w, "naive counters (+1/-1 sent on each vote, added on arrival): %s\n", b.String())
	fmt.Fprintf(w, "conclusion: %d likes - %d unlikes = %d, and every region's PNCounter reads %d: exact\n",
		likesN, unliN, sum(taken), value(0))
	return nil
}

// at formats a virtual time.
func at(d time.Duration) string { return fmt.Sprintf("%6.3fs", d.Seconds()) }
