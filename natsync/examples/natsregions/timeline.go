package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// samplesPerPhase is how many rows each phase prints.
const samplesPerPhase = 4

// A report is what a run measured, for the tests.
type report struct {
	samples []sample
	// converged reports that every node of every set held the same states
	// after the writes stopped, settle after how long.
	converged bool
	settle    time.Duration
	writes    [nSets]int
	// missing counts, per set, writes not on some node: cart elements and
	// likes (a profile keeps only its last value).
	missing [nSets]int
	// refused and malformed are the Transports' counts over the run.
	refused, malformed uint64
	// crossBytes is the gateway traffic between regions, both ways.
	crossBytes int64
}

// A sample is one row of the timeline.
type sample struct {
	phase string
	at    time.Duration
	// lag is, per region, the largest converge_peer_oldest_unacked_seconds
	// of its nodes, in seconds; -1 while the region is down.
	lag     [4]float64
	unacked float64 // converge_peer_unacked_deltas, summed over every node
}

// A phase of the timeline: what happens at its start, and whether the
// next phase waits for every region to catch up.
type phase struct {
	name   string
	do     func() error
	settle bool
}

func (f *fleet) phases() []phase {
	a, b := regions[cutA], regions[cutB]
	return []phase{
		{"all up", nil, true},
		{regions[downRegion] + " down", func() error { f.down(downRegion); return nil }, false},
		{regions[downRegion] + " back", func() error { return f.up(downRegion) }, true},
		{a + "/" + b + " cut", func() error { f.wan.Cut(a, b); return nil }, false},
		{"healed", func() error { f.wan.Heal(a, b); return nil }, false},
	}
}

// timeline runs the phases, printing a row per sample.
func (f *fleet) timeline(out io.Writer, rep *report) {
	fmt.Fprintf(out, "oldest unacknowledged write per region (max converge_peer_oldest_unacked_seconds of its nodes):\n")
	fmt.Fprintf(out, "%6s  %-18s", "time", "phase")
	for _, r := range regions {
		fmt.Fprintf(out, " %9s", r)
	}
	fmt.Fprintf(out, " %9s\n", "unacked")
	down := -1
	for _, p := range f.phases() {
		if p.do != nil {
			if err := p.do(); err != nil {
				fmt.Fprintf(out, "%s: %v\n", p.name, err)
			}
		}
		switch {
		case strings.HasSuffix(p.name, " down"):
			down = downRegion
		case strings.HasSuffix(p.name, " back"):
			down = -1
		}
		var s sample
		for range samplesPerPhase {
			time.Sleep(f.cfg.phase / samplesPerPhase)
			s = f.sample(p.name, down)
			rep.samples = append(rep.samples, s)
			printSample(out, s)
		}
		if !p.settle {
			continue
		}
		// The next event waits until every region has caught up (each
		// lag under half a phase), for at most three phases more, so
		// that what it shows is its own.
		for i := 0; i < 3*samplesPerPhase && s.maxLag() >= (f.cfg.phase/2).Seconds(); i++ {
			time.Sleep(f.cfg.phase / samplesPerPhase)
			s = f.sample(p.name, down)
			rep.samples = append(rep.samples, s)
			printSample(out, s)
		}
	}
}

// maxLag returns the largest lag of the regions up.
func (s sample) maxLag() float64 {
	var m float64
	for _, l := range s.lag {
		m = max(m, l)
	}
	return m
}

func printSample(out io.Writer, s sample) {
	fmt.Fprintf(out, "%5.1fs  %-18s", s.at.Seconds(), s.phase)
	for _, l := range s.lag {
		if l < 0 {
			fmt.Fprintf(out, " %9s", "down")
		} else {
			fmt.Fprintf(out, " %8.2fs", l)
		}
	}
	fmt.Fprintf(out, " %9.0f\n", s.unacked)
}

// sample gathers the Transports' metrics, as Prometheus would scrape
// them, and reduces them to a row. down is the region down, or -1.
func (f *fleet) sample(name string, down int) sample {
	s := sample{phase: name, at: time.Since(f.start)}
	reg := prometheus.NewRegistry()
	region := map[string]int{}
	for _, n := range f.nodes {
		region[string(n.id)] = n.region
		n.mu.Lock()
		for _, t := range n.ts {
			if t != nil {
				reg.MustRegister(t)
			}
		}
		n.mu.Unlock()
	}
	fams, err := reg.Gather()
	if err != nil {
		panic(err) // the Transports' metrics are consistent
	}
	for _, fam := range fams {
		for _, m := range fam.GetMetric() {
			var replica string
			for _, l := range m.GetLabel() {
				if l.GetName() == "replica" {
					replica = l.GetValue()
				}
			}
			switch fam.GetName() {
			case "converge_peer_oldest_unacked_seconds":
				r := region[replica]
				s.lag[r] = max(s.lag[r], m.GetGauge().GetValue())
			case "converge_peer_unacked_deltas":
				s.unacked += m.GetGauge().GetValue()
			}
		}
	}
	if down >= 0 {
		s.lag[down] = -1
	}
	return s
}

// waitConverged waits, up to ten phases, until every node of every set
// holds the same states, and prints when.
func (f *fleet) waitConverged(out io.Writer, rep *report) {
	stopped := time.Now()
	deadline := stopped.Add(10 * f.cfg.phase)
	for !f.converged() {
		if time.Now().After(deadline) {
			fmt.Fprintf(out, "\nNOT converged %v after the writes stopped\n", time.Since(stopped).Round(time.Millisecond))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep.converged, rep.settle = true, time.Since(stopped)
	// The acknowledgements of the last deltas follow: the row once they
	// are in (or at the deadline) shows every lag back to 0.
	s := f.sample("quiet", -1)
	for s.unacked > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		s = f.sample("quiet", -1)
	}
	rep.samples = append(rep.samples, s)
	printSample(out, s)
	fmt.Fprintf(out, "\nevery node of every keyspace equal %v after the writes stopped (%.1fs into the run)\n",
		rep.settle.Round(10*time.Millisecond), time.Since(f.start).Seconds())
}

// converged reports whether, in each set, every node's keyspace has the
// tree root and the number of keys of the first node's.
func (f *fleet) converged() bool {
	for set := range nSets {
		first := f.nodes[0].keyspaces()[set]
		for _, n := range f.nodes[1:] {
			ks := n.keyspaces()[set]
			if ks.Root() != first.Root() || ks.Len() != first.Len() {
				return false
			}
		}
	}
	return true
}

// summary counts the writes on every node and the gateway traffic.
func (f *fleet) summary(out io.Writer, rep *report) {
	for _, n := range f.nodes {
		n.mu.Lock()
		for set := range nSets {
			rep.writes[set] += n.writes[set]
		}
		n.mu.Unlock()
	}
	for _, n := range f.nodes {
		var elems, liked uint64
		for _, s := range n.carts.All() {
			elems += uint64(s.Len())
		}
		for _, c := range n.likes.All() {
			liked += c.Value()
		}
		rep.missing[carts] += rep.writes[carts] - int(elems)
		rep.missing[likes] += rep.writes[likes] - int(liked)
	}
	fmt.Fprintf(out, "writes: %d to carts, %d likes, %d to profiles; missing on some node: %d cart items, %d likes\n",
		rep.writes[carts], rep.writes[likes], rep.writes[profiles], rep.missing[carts], rep.missing[likes])
	f.gatewayTable(out, rep)
}

// gatewayTable prints the bytes that crossed each gateway, and the
// Transports' refusals.
func (f *fleet) gatewayTable(out io.Writer, rep *report) {
	fmt.Fprintf(out, "\ngateway traffic, kB from row to column (NATS protocol included):\n%9s", "")
	for _, r := range regions {
		fmt.Fprintf(out, " %9s", r)
	}
	fmt.Fprintln(out)
	for _, a := range regions {
		fmt.Fprintf(out, "%9s", a)
		for _, b := range regions {
			if a == b {
				fmt.Fprintf(out, " %9s", "-")
				continue
			}
			n := f.wan.Bytes(a, b)
			rep.crossBytes += n
			fmt.Fprintf(out, " %9.1f", float64(n)/1e3)
		}
		fmt.Fprintln(out)
	}
	total := rep.writes[carts] + rep.writes[likes] + rep.writes[profiles]
	if total > 0 {
		fmt.Fprintf(out, "%d bytes across regions per write (each bundle crosses each gateway once, whatever the number of peers behind it)\n",
			rep.crossBytes/int64(total))
	}
	for _, n := range f.nodes {
		n.mu.Lock()
		for _, t := range n.ts {
			if t != nil {
				st := t.Stats()
				rep.refused += st.Refused
				rep.malformed += st.Malformed
			}
		}
		n.mu.Unlock()
	}
	fmt.Fprintf(out, "messages refused by a keyspace: %d; bundles malformed: %d\n", rep.refused, rep.malformed)
}
