package main

import (
	"fmt"
	"io"
	"time"
)

// DNS failover against anycast. With DNS, a client keeps the address of a
// region the health checks declared down until its cached record expires
// (the scenario's ttl); with anycast or a global load balancer the
// network stops sending traffic to the dead region as soon as it is
// declared down. Both wait for the same detection (healthMisses checks
// healthEvery apart); the difference is the TTL.

// extraRuns are the runs of one design on variants of the scenario.
type extraRuns struct {
	anycast result   // the CRDT design routed by anycast
	spikes  []result // the async design under each load spike
}

// rerun plays one design again, with the same workload and seed, on a
// variant of the scenario, reporting how far it is to progress (if not
// nil).
func rerun(key string, cfg config, sc scenario, wl *workload, progress func(float64)) (result, error) {
	for _, d := range designs {
		if d.key == key {
			w, err := newWorld(d, sc, wl, cfg.seed)
			if err != nil {
				return result{}, err
			}
			w.run(progress)
			return w.measure(), nil
		}
	}
	return result{}, fmt.Errorf("no design %q", key)
}

// anycastRun plays the converge CRDT design routed by anycast: a TTL of 0.
func anycastRun(cfg config, sc scenario, wl *workload, progress func(float64)) (result, error) {
	sc.ttl = 0
	return rerun("crdt", cfg, sc, wl, progress)
}

// reportRouting prints, for the CRDT design, what us-east users met
// during the outage under each routing.
func reportRouting(out io.Writer, sc scenario, results []result, anycast result) {
	dns := byDesign(results, "crdt")
	fmt.Fprintf(out, "\nfailover routing, %s: us-east users during the outage (declared down after %d failed checks %v apart)\n",
		dns.design.name, healthMisses, healthEvery)
	fmt.Fprintf(out, "%-38s %8s  %s\n", "routing", "rejected", "first write acked after")
	fmt.Fprintf(out, "%-38s %8d  %s\n", fmt.Sprintf("DNS failover, %ds TTL", int(sc.ttl.Seconds())), dns.rejectedInOutage[usEast], fmtResume(dns.resume))
	fmt.Fprintf(out, "%-38s %8d  %s\n", "anycast / global load balancer", anycast.rejectedInOutage[usEast], fmtResume(anycast.resume))
}

// fmtResume formats the time from the outage's start to a user's first
// acknowledged write.
func fmtResume(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return fmtAt(d)
}

// routingTable is reportRouting's table, for the HTML report.
func routingTable(sc scenario, results []result, anycast result) htmlTable {
	dns := byDesign(results, "crdt")
	return htmlTable{
		Caption: "Failover routing, " + dns.design.name + ": us-east users during the outage",
		Head:    []string{"routing", "rejected", "first write acked after"},
		Rows: [][]string{
			{fmt.Sprintf("DNS failover, %ds TTL", int(sc.ttl.Seconds())), fmt.Sprint(dns.rejectedInOutage[usEast]), fmtResume(dns.resume)},
			{"anycast / global load balancer", fmt.Sprint(anycast.rejectedInOutage[usEast]), fmtResume(anycast.resume)},
		},
		Note: fmt.Sprintf("Both wait for the region to be declared down (%d failed health checks %v apart); DNS clients then keep its address for the TTL.", healthMisses, healthEvery),
	}
}

// byDesign returns the result of the design named key.
func byDesign(results []result, key string) result {
	for _, r := range results {
		if r.design.key == key {
			return r
		}
	}
	return result{}
}
