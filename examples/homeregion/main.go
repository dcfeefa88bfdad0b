// Command homeregion shows the trade of a home region. Ada's account
// record is homed in eu-west; she travels to ap-south. While she is away
// her phone changes her city, and at the same moment a job in eu-west
// adds loyalty points to the same record.
//
// With a home region, every write to the record is made in eu-west: the
// phone's request travels there and back (the ap-south ↔ eu-west round
// trip, 200–300 ms), eu-west applies the writes one after the other, and
// replicates the record to the other regions. There are no conflicts,
// and the write is slow while Ada travels.
//
// Without one, ap-south writes its own copy at once, and the record,
// replicated whole with last-writer-wins as a store without CRDTs does,
// keeps only one of the two concurrent writes: the write is fast, and an
// update is lost. (CRDTs would keep both — a crdt.ORMap with a
// crdt.LWWRegister for the city and a crdt.CCounter for the points — as
// examples/cart and examples/splitbrain show.)
//
// The record is a crdt.LWWRegister replicated by merge.Replica on a
// deterministic merge/sim network with the cross-region latencies of
// sim.DefaultLatency, so the output is the same on every run.
//
//	go run ./examples/homeregion
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
		fmt.Fprintln(os.Stderr, "homeregion:", err)
		os.Exit(1)
	}
}

// A record is Ada's account record, written whole.
type record struct {
	City   string
	Points int64
}

func (r record) String() string { return fmt.Sprintf("{%s, %d points}", r.City, r.Points) }

type register = *crdt.LWWRegister[record]

const (
	home = sim.EUWest  // Ada's home region
	away = sim.APSouth // where she travels
	when = time.Second // when the phone and the job write
)

// The outcome of one way of writing.
type outcome struct {
	final     record
	latency   time.Duration // of the phone's write
	conflicts int           // writes made concurrently with another
	lost      []string      // writes the final record does not reflect
}

func run(w io.Writer) error {
	fmt.Fprintf(w, "Ada's record is homed in %s; she is in %s. At %v her phone sets her city to Tokyo,\n", home, away, when)
	fmt.Fprintf(w, "while a job in %s adds 50 points. Virtual time, region, event:\n", home)
	fmt.Fprintf(w, "1) Home region: every write to the record is made in %s\n", home)
	h, err := play(w, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "2) Local writes: %s writes its own copy; the record is replicated whole, last writer wins\n", away)
	l, err := play(w, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "conclusion: home region: %s, %s, Ada's writes take %s from %s; local writes: %s, but %s, %s\n",
		count(h.conflicts, "conflict"), count(len(h.lost), "write")+" lost", ms(h.latency), away,
		ms(l.latency), count(l.conflicts, "conflict"), count(len(l.lost), "write")+" lost")
	return nil
}

// A write is one write of the record, with the write it was based on.
type write struct {
	what     string
	id, base version
}

// A version names a write: its timestamp and writer.
type version struct {
	at hlc.Timestamp
	by vclock.ReplicaID
}

// play runs the story with a home region or with local writes.
func play(w io.Writer, homed bool) (outcome, error) {
	var out outcome
	s, err := sim.New(sim.Config{
		Seed: 1,
		Regions: []sim.Region{
			{Name: sim.USEast, Nodes: 1}, {Name: sim.EUWest, Nodes: 1}, {Name: sim.APSouth, Nodes: 1},
		},
	})
	if err != nil {
		return out, err
	}
	nodes := s.Nodes()
	homeID, awayID := s.RegionNodes(home)[0], s.RegionNodes(away)[0]
	var clocks []*hlc.Clock
	for _, n := range nodes {
		clocks = append(clocks, hlc.New(hlc.WithPhysicalClock(s.PhysicalClock(n.ID))))
	}
	records := mesh.New(s, 'r', clocks, func() register { return new(crdt.LWWRegister[record]) })
	var (
		failed error
		writes []write
	)
	fail := func(err error) {
		if err != nil && failed == nil {
			failed = err
		}
	}
	get := func(id sim.NodeID) (rec record, v version) {
		records.Replica(id).Read(func(r register) { rec, _ = r.Get(); v = version{r.Timestamp(), r.Replica()} })
		return rec, v
	}
	// change applies f to the record in region id, as a read-modify-write
	// of the whole record, and returns the new record.
	change := func(id sim.NodeID, what string, f func(*record)) record {
		rec, base := get(id)
		f(&rec)
		ts := clocks[id].Now()
		r := vclock.ReplicaID(nodes[id].Region)
		// An LWWRegister's writer ID only breaks ties between writes
		// stamped alike: the region's name serves, and reads better.
		fail(records.Write(id, func(_ vclock.ReplicaID, reg register) register { return reg.Set(r, rec, ts) }))
		writes = append(writes, write{what, version{ts, r}, base})
		return rec
	}
	setCity := func(city string) func(*record) { return func(r *record) { r.City = city } }
	addPoints := func(n int64) func(*record) { return func(r *record) { r.Points += n } }

	var sent time.Duration // when the phone sent its write
	for _, n := range nodes {
		id := n.ID
		s.Handle(id, sim.HandlerFunc(func(from sim.NodeID, msg []byte) {
			switch msg[0] {
			case 'q': // a request to write, at the home region
				rec := change(id, "city="+string(msg[1:]), setCity(string(msg[1:])))
				fmt.Fprintf(w, "%s  %-8s  applies city=%s from %s: %v\n", at(s.Now()), n.Region, msg[1:], nodes[from].Region, rec)
				s.Send(id, from, []byte{'a'})
			case 'a': // the home region's acknowledgement
				out.latency = s.Now() - sent
				fmt.Fprintf(w, "%s  %-8s  phone's write acknowledged, %s after it was sent\n", at(s.Now()), n.Region, ms(out.latency))
			case records.Tag():
				before, _ := get(id)
				fail(records.Receive(id, from, msg))
				if after, _ := get(id); after != before && s.Now() > when {
					fmt.Fprintf(w, "%s  %-8s  replica now %v\n", at(s.Now()), n.Region, after)
				}
			}
		}))
		s.Every(0, 50*time.Millisecond, func() bool { fail(records.Sync(id)); return true })
	}

	// Before the trip: the record, written at home, in every region.
	s.Schedule(0, func() {
		change(homeID, "create", func(r *record) { *r = record{"Lyon", 1000} })
	})
	s.Schedule(when, func() {
		if homed {
			sent = s.Now()
			s.Send(awayID, homeID, append([]byte{'q'}, "Tokyo"...))
			fmt.Fprintf(w, "%s  %-8s  phone: city=Tokyo, sent to %s\n", at(s.Now()), away, home)
		} else {
			rec := change(awayID, "city=Tokyo", setCity("Tokyo"))
			fmt.Fprintf(w, "%s  %-8s  phone: city=Tokyo, written here: %v, acknowledged at once\n", at(s.Now()), away, rec)
		}
		rec := change(homeID, "points+50", addPoints(50))
		fmt.Fprintf(w, "%s  %-8s  job: points+50: %v\n", at(s.Now()), home, rec)
	})
	s.Run(when + 2*time.Second)
	if failed != nil {
		return out, failed
	}

	// Every region holds the same record; which writes does it reflect?
	// Follow the chain of writes it was built on: a write off that chain
	// was overwritten by one that had not seen it.
	var final version
	out.final, final = get(0)
	for _, n := range nodes {
		if rec, v := get(n.ID); rec != out.final || v != final {
			return out, fmt.Errorf("%s holds %v, %s holds %v", nodes[0].Region, out.final, n.Region, rec)
		}
	}
	chain := map[version]bool{}
	for v := final; v != (version{}); {
		chain[v] = true
		next := version{}
		for _, x := range writes {
			if x.id == v {
				next = x.base
			}
		}
		v = next
	}
	// A conflict is a set of writes made on the same version: none of
	// them saw the others.
	bases := map[version]int{}
	for _, x := range writes {
		if bases[x.base]++; bases[x.base] == 2 {
			out.conflicts++
		}
		if !chain[x.id] {
			out.lost = append(out.lost, x.what)
		}
	}
	lost := fmt.Sprint(len(out.lost))
	if len(out.lost) > 0 {
		lost += " (" + strings.Join(out.lost, ", ") + ")"
	}
	fmt.Fprintf(w, "   then every region holds %v; conflicts: %d, writes lost: %s\n", out.final, out.conflicts, lost)
	return out, nil
}

// count formats n things.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// ms formats a duration in whole milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds()) }

// at formats a virtual time.
func at(d time.Duration) string { return fmt.Sprintf("%6.3fs", d.Seconds()) }
