package main

import (
	"fmt"
	"io"
	"time"
)

// Replication lag under load. Cross-region replication trails by 50–200 ms
// when the link is idle, and by seconds under load. spikeCaps are the
// batch sizes the async design's log shipping is held to in the minute
// before the outage, a link saturated by a bulk job: the writes arrive
// faster than it ships them, the backlog grows, and the failover loses
// what the backlog held.
var spikeCaps = []int{10, 8, 6}

// spikeRun plays the async design with its log shipping held to batches
// of at most limit writes during the spike.
func spikeRun(cfg config, sc scenario, wl *workload, limit int, progress func(float64)) (result, error) {
	sc.spikeCap = limit
	return rerun("async", cfg, sc, wl, progress)
}

// reportSpike prints the async design's loss at failover against its
// replication lag: without the spike, then at each cap.
func reportSpike(out io.Writer, sc scenario, results []result, spikes []result) {
	base := byDesign(results, "async")
	fmt.Fprintf(out, "\nreplication lag under load, %s: a load spike on the replication link %s–%s (batches every %v)\n",
		base.design.name, fmtAt(sc.spikeStart), fmtAt(sc.outageStart), shipEvery)
	fmt.Fprintf(out, "%-38s %15s %11s\n", "link during the spike", "lag at failover", "writes lost")
	row := func(name string, r result) {
		fmt.Fprintf(out, "%-38s %15s %11d\n", name, fmtDur(lagAtFailover(r)), r.lost)
	}
	row("idle (no spike)", base)
	for i, r := range spikes {
		row(fmt.Sprintf("at most %d writes a batch (%d/s)", spikeCaps[i], spikeCaps[i]*int(time.Second/shipEvery)), r)
	}
	fmt.Fprintln(out, spikeNote)
}

// spikeNote explains the spike's table.
const spikeNote = "The async primary acknowledges a write before shipping it, so the backlog is what a failover loses; a design that acknowledges once another region has the write would wait longer instead."

// lagAtFailover is how far the replicas trailed when us-east failed: the
// age, at the outage, of the oldest acknowledged write it took with it.
func lagAtFailover(r result) time.Duration { return r.lostBefore }

// spikeTable is reportSpike's table, for the HTML report.
func spikeTable(sc scenario, results []result, spikes []result) htmlTable {
	base := byDesign(results, "async")
	t := htmlTable{
		Caption: fmt.Sprintf("Replication lag under load, %s: a load spike on the replication link %s–%s", base.design.name, fmtAt(sc.spikeStart), fmtAt(sc.outageStart)),
		Head:    []string{"link during the spike", "lag at failover", "writes lost"},
		Rows:    [][]string{{"idle (no spike)", fmtDur(lagAtFailover(base)), fmt.Sprint(base.lost)}},
		Note:    spikeNote,
	}
	for i, r := range spikes {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("at most %d writes a batch (%d/s)", spikeCaps[i], spikeCaps[i]*int(time.Second/shipEvery)), fmtDur(lagAtFailover(r)), fmt.Sprint(r.lost)})
	}
	return t
}
