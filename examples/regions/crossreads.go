package main

import (
	"fmt"
	"io"
	"time"

	"github.com/converge-go/converge/merge/sim"
)

// Cross-region reads. In the CRDT design every region serves reads from
// its own replica: fast, and stale by the replication lag (and by the
// faults). Reading an item from its home region (its owner's, see
// ownerOf) instead pays a cross-region round trip for fresher data, and
// fails when the home is out of reach; a cache of the home's answers in
// the reader's region, kept for cacheTTL, makes most of those reads
// local again and stale by up to the TTL. crossReads plays the three
// side by side on the reads of items homed in another region than the
// one serving them, judging each as world.read judges the real one.

// cacheTTL is how long a region keeps an item read from its home.
const cacheTTL = 10 * time.Second

// Read strategies, in the order reportCrossReads prints them.
const (
	readLocal = iota
	readHome
	readCached
	nReadWays
)

var readWayNames = [nReadWays]string{
	"local replica",
	"home region",
	fmt.Sprintf("local cache of the home, %ds TTL", int(cacheTTL.Seconds())),
}

// readTally is what one strategy did with the cross-region reads.
type readTally struct {
	reads, stale, failed int
	lat                  []time.Duration
}

// A cached item: when it was read from its home, and what that home had
// applied then.
type cached struct {
	at       time.Duration
	frontier [nRegions]int32
}

type crossReads struct {
	ways  [nReadWays]readTally
	cache [nRegions]map[int32]cached
}

func newCrossReads() *crossReads {
	c := &crossReads{}
	for i := range c.cache {
		c.cache[i] = map[int32]cached{}
	}
	return c
}

// read judges a read of o served at region n by each strategy.
func (c *crossReads) read(w *world, n int, o *op) {
	home := ownerOf(o.item)
	if home == n {
		return
	}
	local := rtt(int(o.loc), n)
	c.tally(readLocal, local, w.stale(&w.reps[n].frontier, o.item))
	far := local + rtt(n, home)
	reach := w.s.Connected(nodeOf(n), nodeOf(home))
	if reach {
		c.tally(readHome, far, w.stale(&w.reps[home].frontier, o.item))
	} else {
		c.ways[readHome].reads++
		c.ways[readHome].failed++
	}
	e, hit := c.cache[n][o.item]
	switch {
	case hit && w.now()-e.at < cacheTTL:
		c.tally(readCached, local, w.stale(&e.frontier, o.item))
	case reach:
		e = cached{at: w.now(), frontier: w.reps[home].frontier}
		c.cache[n][o.item] = e
		c.tally(readCached, far, w.stale(&e.frontier, o.item))
	case hit: // the home is out of reach: serve what the cache has
		c.tally(readCached, local, w.stale(&e.frontier, o.item))
	default:
		c.ways[readCached].reads++
		c.ways[readCached].failed++
	}
}

func (c *crossReads) tally(way int, lat time.Duration, stale bool) {
	t := &c.ways[way]
	t.reads++
	t.lat = append(t.lat, lat)
	if stale {
		t.stale++
	}
}

// rtt is the mean round trip between two regions of the latency table,
// or within one.
func rtt(a, b int) time.Duration {
	if a == b {
		return 1500 * time.Microsecond
	}
	r := sim.DefaultLatency()[sim.LinkBetween(regionNames[a], regionNames[b])]
	return (r.Min + r.Max) / 2
}

// reportCrossReads prints the three strategies' read latency, stale
// share and failures.
func reportCrossReads(out io.Writer, results []result) {
	var c *crossReads
	for _, r := range results {
		if r.crossReads != nil {
			c = r.crossReads
		}
	}
	if c == nil {
		return
	}
	fmt.Fprintf(out, "\ncross-region reads, active-active, converge CRDTs: %d reads of items homed in another region\n", c.ways[readLocal].reads)
	fmt.Fprintf(out, "%-38s %9s %7s %7s\n", "read from", "p50 read", "stale", "failed")
	for i, t := range c.ways {
		fmt.Fprintf(out, "%-38s %9s %6.1f%% %7d\n", readWayNames[i], fmtDur(quantile(t.lat, 50)),
			100*float64(t.stale)/float64(max(t.reads, 1)), t.failed)
	}
	fmt.Fprintln(out, crossReadsNote)
}

// crossReadsNote explains the cross-region reads' table.
const crossReadsNote = "Against reading the home, a cache buys local latency with staleness (up to its TTL, and all through an outage it serves from); the local replica of an active-active design is as fast as the cache and fresher than both."

// crossReadsTable is reportCrossReads' table, for the HTML report; it is
// empty if no run tallied cross-region reads.
func crossReadsTable(results []result) htmlTable {
	c := byDesign(results, "crdt").crossReads
	t := htmlTable{Caption: "Cross-region reads, active-active, converge CRDTs: reads of items homed in another region",
		Head: []string{"read from", "p50 read", "stale", "failed"}, Note: crossReadsNote}
	if c == nil {
		return t
	}
	for i, w := range c.ways {
		t.Rows = append(t.Rows, []string{readWayNames[i], fmtDur(quantile(w.lat, 50)),
			fmt.Sprintf("%.1f%%", 100*float64(w.stale)/float64(max(w.reads, 1))), fmt.Sprint(w.failed)})
	}
	return t
}
