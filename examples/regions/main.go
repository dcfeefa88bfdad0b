// Command regions plays one multi-region workload through seven designs
// of a replicated service and prints, for each, what users got: writes
// acknowledged and rejected, writes lost, conflicting writes, writes
// resolved against causality, how long the regions took to agree after
// the last fault healed, write latency, and stale reads.
//
// The workload: 160 users, 40 homed in each of us-east, us-west,
// eu-west and ap-south, edit their profiles, fill their carts and like
// posts; a tenth of them travel to another region for a while and work
// from there. The scenario: the latency table of sim.DefaultLatency, eu-west's
// clocks 50 ms ahead, a one-minute partition between the US and Europe,
// and a five-minute us-east outage. The designs:
//
//   - active-passive, async: one primary in us-east takes every write and
//     ships its log to the other regions every 200 ms; when health checks
//     declare us-east down, us-west is promoted and DNS follows.
//   - active-passive, sync: the same, but a write is acknowledged once
//     another region has it too.
//   - active-active, wall-clock LWW: every region takes writes and
//     streams them to the others; the write with the latest wall-clock
//     timestamp wins.
//   - active-active, HLC LWW: the same, stamped by hybrid logical clocks.
//   - active-active, converge CRDTs: profiles in multi-value registers,
//     carts in observed-remove sets, likes in counters, each data set
//     kept by a merge.Replica in every region and replicated by its
//     delta anti-entropy, over a network that also loses, duplicates and
//     reorders its messages.
//   - regional primary: every item belongs to its user's home region
//     (a post's likes to its author's), which takes its writes.
//   - quorum with witness: a Raft-like log over the four regions, led
//     from us-east; a write is acknowledged once three regions have it,
//     and ap-south's vote decides which side of a US–Europe split may
//     write; the minority side goes read-only.
//
// Then it sells stock: 10,000 units of one product in every region at
// once, through merge.Replica over merge/sim, kept as a level in an LWW
// register, in a plain counter and in a bounded counter, and prints the
// units each sold and oversold.
//
// Usage:
//
//	go run ./examples/regions [-seed N] [-duration D] [-skew D] [-chart FILE.svg] [-html FILE.html]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var cfg config
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the workload and the network")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "virtual time of traffic; the faults are laid out on it")
	flag.DurationVar(&cfg.skew, "skew", 50*time.Millisecond, "how far eu-west's clocks run ahead")
	flag.StringVar(&cfg.chart, "chart", "", "write a chart of what each design trades (writes lost, writes rejected, p50 write latency) to this SVG file")
	flag.StringVar(&cfg.html, "html", "", "write a self-contained HTML report (tables, chart, trade-offs) to this file")
	flag.Parse()
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.progress = os.Stderr
	}
	if err := run(os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "regions:", err)
		os.Exit(1)
	}
}

// A config is what the flags set.
type config struct {
	seed     uint64
	duration time.Duration
	skew     time.Duration
	chart    string
	html     string
	progress io.Writer // a terminal for the progress line, or nil
}

func run(out io.Writer, cfg config) error {
	if cfg.duration < time.Minute {
		return fmt.Errorf("-duration %v: want at least 1m, to lay the faults out on", cfg.duration)
	}
	if cfg.skew < 0 || cfg.skew > 400*time.Millisecond {
		return fmt.Errorf("-skew %v: want 0 to 400ms, within the HLC's max offset", cfg.skew)
	}
	sc := newScenario(cfg.duration, cfg.skew)
	wl := newWorkload(cfg.seed, cfg.duration)
	results, x, invs, err := simulate(cfg, sc, wl)
	if err != nil {
		return err
	}
	report(out, cfg, sc, wl, results)
	reportSpike(out, sc, results, x.spikes)
	reportCrossReads(out, results)
	reportResidency(out, results)
	reportRouting(out, sc, results, x.anycast)
	reportInventory(out, invs)
	if cfg.chart != "" {
		if err := chart(cfg.chart, sc, results); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nchart: %s\n", cfg.chart)
	}
	if cfg.html != "" {
		if err := writeHTML(cfg.html, cfg, sc, wl, results, x, invs); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nreport: %s\n", cfg.html)
	}
	return nil
}

// simulate plays every run the report needs, each on its own Sim, two at
// a time: each design, then the CRDT design routed by anycast, the async
// design under each load spike and the three inventories. The progress
// line counts them all.
func simulate(cfg config, sc scenario, wl *workload) ([]result, extraRuns, []inventory, error) {
	results := make([]result, len(designs))
	x := extraRuns{spikes: make([]result, len(spikeCaps))}
	invs := make([]inventory, len(stockDesigns))
	var jobs []func(progress func(float64)) error
	for i, d := range designs {
		jobs = append(jobs, func(progress func(float64)) error {
			w, err := newWorld(d, sc, wl, cfg.seed)
			if err != nil {
				return err
			}
			w.run(progress)
			results[i] = w.measure()
			return nil
		})
	}
	jobs = append(jobs, func(progress func(float64)) (err error) {
		x.anycast, err = anycastRun(cfg, sc, wl, progress)
		return err
	})
	for i, c := range spikeCaps {
		jobs = append(jobs, func(progress func(float64)) (err error) {
			x.spikes[i], err = spikeRun(cfg, sc, wl, c, progress)
			return err
		})
	}
	for i, run := range stockDesigns {
		jobs = append(jobs, func(func(float64)) (err error) {
			invs[i], err = run(sc, cfg.seed)
			return err
		})
	}
	if err := runJobs(cfg.progress, jobs); err != nil {
		return nil, extraRuns{}, nil, err
	}
	return results, x, invs, nil
}

// runJobs runs jobs two at a time, printing to progress (if not nil) a
// line of how far they are in all, and returns the first error.
func runJobs(progress io.Writer, jobs []func(progress func(float64)) error) error {
	errs := make([]error, len(jobs))
	done := make([]atomic.Int64, len(jobs)) // per mille
	stop := make(chan struct{})
	var printer sync.WaitGroup
	if progress != nil {
		printer.Add(1)
		go func() {
			defer printer.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				var sum int64
				for i := range done {
					sum += done[i].Load()
				}
				fmt.Fprintf(progress, "\rsimulating %d designs and %d variants: %3d%%", len(designs), len(jobs)-len(designs), sum/int64(10*len(jobs)))
				select {
				case <-stop:
					fmt.Fprint(progress, "\r\033[K")
					return
				case <-tick.C:
				}
			}
		}()
	}
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = job(func(f float64) { done[i].Store(int64(f * 1000)) })
			done[i].Store(1000)
		}()
	}
	wg.Wait()
	close(stop)
	printer.Wait()
	return errors.Join(errs...)
}

// report prints the table, the rejections by where users were, and
// what happened when.
func report(out io.Writer, cfg config, sc scenario, wl *workload, results []result) {
	fmt.Fprintf(out, "regions: %d users in 4 regions (%d travelling), %d writes and %d reads over %v, seed %d\n",
		nUsers, len(wl.trips), wl.writes, wl.reads, cfg.duration, cfg.seed)
	fmt.Fprintf(out, "scenario: eu-west clocks +%v; US ↔ eu-west partition %s–%s; us-east outage %s–%s\n\n",
		cfg.skew, fmtAt(sc.partStart), fmtAt(sc.partEnd), fmtAt(sc.outageStart), fmtAt(sc.outageEnd))

	fmt.Fprintf(out, "%-38s %7s %8s %6s %11s %9s %10s %9s %9s %6s\n",
		"design", "acked", "rejected", "lost", "conflicting", "vs-causal", "converged", "p50 write", "p99 write", "stale")
	for _, r := range results {
		conv := "no"
		if r.converged {
			conv = fmtDur(r.convergence)
		}
		fmt.Fprintf(out, "%-38s %7d %8d %6d %11d %9d %10s %9s %9s %5.1f%%\n",
			r.design.name, r.acked, r.rejected, r.lost, r.conflicting, r.againstCausality, conv,
			fmtDur(r.p50), fmtDur(r.p99), 100*float64(r.staleReads)/float64(max(r.reads, 1)))
	}

	fmt.Fprintf(out, "\nrejected writes, by where the user was: during the partition | during the outage\n")
	fmt.Fprintf(out, "%-38s %7s %7s %7s %7s | %7s %7s %7s %7s\n", "design",
		"us-east", "us-west", "eu-west", "ap", "us-east", "us-west", "eu-west", "ap")
	for _, r := range results {
		fmt.Fprintf(out, "%-38s %7d %7d %7d %7d | %7d %7d %7d %7d\n", r.design.name,
			r.rejectedInPartition[0], r.rejectedInPartition[1], r.rejectedInPartition[2], r.rejectedInPartition[3],
			r.rejectedInOutage[0], r.rejectedInOutage[1], r.rejectedInOutage[2], r.rejectedInOutage[3])
	}

	fmt.Fprintf(out, "\np50 write latency, by where the user was\n")
	fmt.Fprintf(out, "%-38s %7s %7s %7s %7s\n", "design", "us-east", "us-west", "eu-west", "ap")
	for _, r := range results {
		fmt.Fprintf(out, "%-38s %7s %7s %7s %7s\n", r.design.name,
			fmtDur(r.p50By[0]), fmtDur(r.p50By[1]), fmtDur(r.p50By[2]), fmtDur(r.p50By[3]))
	}

	fmt.Fprintf(out, "\nevents:\n")
	for _, r := range results {
		for _, n := range r.notes {
			fmt.Fprintf(out, "  %-8s %s\n", r.design.key, n)
		}
		if r.lostNearOutage > 0 && r.lostNearOutage == r.lost {
			fmt.Fprintf(out, "  %-8s %d lost writes were acknowledged %s to %s from the outage's start\n",
				r.design.key, r.lostNearOutage, fmtOffset(r.lostFrom), fmtOffset(r.lostTo))
		}
	}
	fmt.Fprintln(out, `
acked: writes the user saw succeed; rejected: refused or timed out (2 s);
lost: acked writes the converged state does not reflect, overwritten by no
write that had seen them; conflicting: acked writes that met a concurrent
write to the same item at some region (CRDT counters' increments add up and
are not counted); vs-causal: acked writes that lose to a write they had seen
(last-writer-wins with a later timestamp on the earlier write); converged:
time from the last heal until every region agrees; stale: reads missing a
write acknowledged 1 s or more before.

The writes rejected by every active-active design are us-east users':
their region is down, and they keep resolving it until health checks
declare it dead and the DNS TTL runs out; writing locally does not help a
client that cannot reach any region. The two LWW designs show the same
stale share: they ship writes on one schedule, and the stale reads are
writes that could not cross the partition or leave the dead region yet;
a merge rule decides what a region keeps of the writes it has, not which
writes it has. The CRDT design replicates through merge.Replica, whose
deltas the network loses, duplicates and delays, so its share is its own.`)

	for _, r := range results {
		if r.merge != nil {
			reportMerge(out, &r)
		}
	}
}

// reportMerge prints what the CRDT design's replication did: the
// library's own counts (merge.Replica.Lag, Stats) and the network's.
func reportMerge(out io.Writer, r *result) {
	m := r.merge
	conv := "no"
	if r.converged {
		conv = fmtDur(r.convergence) + " after the last heal"
	}
	fmt.Fprintf(out, "\n%s, replicated by merge.Replica (%d data sets in each of 4 regions, every region a peer of every other):\n", r.design.name, nDataSets)
	fmt.Fprintf(out, "  %-20s %d (%.1f MB, %d of them full states)\n", "merge messages", m.messages, float64(m.bytes)/1e6, m.fullStates)
	fmt.Fprintf(out, "  %-20s %d lost, %d duplicated, %d held back by up to %v\n", "network faults", m.faults.lost, m.faults.duplicated, m.faults.delayed, mergeReorderDelay)
	fmt.Fprintf(out, "  %-20s %d deliveries after a later message of their link\n", "reordered", m.faults.reordered)
	fmt.Fprintf(out, "  %-20s %d\n", "delivered twice", m.faults.duplicates)
	fmt.Fprintf(out, "  %-20s %d\n", "refused by Receive", m.rejected)
	fmt.Fprintf(out, "  %-20s %d\n", "acked writes lost", r.lost)
	fmt.Fprintf(out, "  %-20s %s\n", "converged", conv)
}

// fmtDur formats a latency or a convergence time for the table.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
}

// fmtOffset formats a time relative to an event: -120ms, +3ms.
func fmtOffset(d time.Duration) string {
	return fmt.Sprintf("%+dms", d.Milliseconds())
}
