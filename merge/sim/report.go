package sim

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// A Report is what [Cluster.Run] measured. It is a plain value: the same
// Config, ClusterConfig and Model give an equal Report, and an identical
// String, on every run. Times are virtual, since the start of the Sim.
type Report struct {
	Seed    uint64
	Regions int

	// Ops counts the operations run: Writes and Reads at nodes that were
	// up, and Rejected, those that found every node down.
	Ops, Writes, Reads, Rejected int
	// LastWrite is the time of the last write; LastHeal the end of the
	// last fault; Quiet the start of the quiescent phase, the later of
	// the last operation and LastHeal.
	LastWrite, LastHeal, Quiet time.Duration

	// Converged reports that every replica's digest was equal at a
	// check of the quiescent phase, the first time at ConvergedAt,
	// ConvergenceTime after Quiet (a multiple of CheckEvery). End is
	// the time the run stopped.
	Converged       bool
	ConvergedAt     time.Duration
	ConvergenceTime time.Duration
	End             time.Duration

	// LostWrites counts accepted writes whose effect is missing from the
	// converged state, as the Model defines it; without convergence, the
	// most missing at any replica.
	LostWrites int
	// StaleReads counts reads whose node did not yet reflect a write
	// accepted at another node more than StaleAfter earlier, as the
	// Model defines it.
	StaleReads int
	StaleAfter time.Duration

	// FullStates counts the full states replicas sent: buffer-overflow
	// fallbacks and answers to digests. Refused counts messages
	// Replica.Receive refused (a clock beyond the max offset, say);
	// Errors other failures of the Replicas (encoding), the first of
	// either in FirstError.
	FullStates uint64
	Refused    uint64
	Errors     uint64
	FirstError string

	// DeltaBytes is, for a [KeyspaceCluster], the encoded size of the
	// deltas its writes returned, keys included: what a write costs on
	// one hop at least. 0 for a Cluster.
	DeltaBytes uint64

	// Total is the network's traffic over all links, Links per link
	// class, as [Sim.Traffic] returns them.
	Total Traffic
	Links []Traffic
	// Nodes has a row per node, in NodeID order.
	Nodes []NodeReport
}

// A NodeReport is one node's part of a [Report].
type NodeReport struct {
	Node, Region string
	// Operations run at the node, and those of its reads that were stale.
	Writes, Reads, StaleReads int
	// MessagesSent and BytesSent count what the node's replica sent (its
	// Lag figures), FullStatesSent the full states among them.
	MessagesSent, BytesSent, FullStatesSent uint64
	// MaxUnacked and MaxOldestUnacked are the largest Unacked and
	// OldestUnacked of any peer in the node's Replica.Lag, sampled at
	// each of the node's sync ticks while it was up: how many of its
	// deltas a peer lacked, and for how long, at worst.
	MaxUnacked       uint64
	MaxOldestUnacked time.Duration
}

// String returns the report as a few aligned tables: a summary, traffic
// per link class, and figures per node. It is deterministic: fixed
// order, fixed formats.
func (r Report) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(w, strings.Join(cells, "\t")) }
	conv := "no, within " + (r.End - r.Quiet).String()
	if r.Converged {
		conv = fmt.Sprintf("yes, at %v: %v after quiescence", r.ConvergedAt, r.ConvergenceTime)
	}
	row("seed", u(r.Seed))
	row("nodes", fmt.Sprintf("%d in %d regions", len(r.Nodes), r.Regions))
	row("operations", fmt.Sprintf("%d: %d writes, %d reads, %d rejected", r.Ops, r.Writes, r.Reads, r.Rejected))
	row("last write", r.LastWrite.String())
	row("last heal", r.LastHeal.String())
	row("quiescence", r.Quiet.String())
	row("converged", conv)
	row("lost writes", strconv.Itoa(r.LostWrites))
	row("stale reads", fmt.Sprintf("%d of %d (%s), after %v", r.StaleReads, r.Reads, pct(r.StaleReads, r.Reads), r.StaleAfter))
	row("messages", fmt.Sprintf("%d sent, %d delivered", r.Total.Sent.Messages, r.Total.Delivered.Messages))
	row("bytes", fmt.Sprintf("%d sent, %d delivered", r.Total.Sent.Bytes, r.Total.Delivered.Bytes))
	row("full states", u(r.FullStates))
	if r.DeltaBytes > 0 {
		cross := r.CrossRegionBytes()
		row("deltas written", fmt.Sprintf("%d bytes; %d bytes sent across regions, %d.%02d× that", r.DeltaBytes, cross, cross/r.DeltaBytes, cross%r.DeltaBytes*100/r.DeltaBytes))
	}
	row("refused", u(r.Refused))
	if r.Errors > 0 || r.FirstError != "" {
		row("errors", u(r.Errors))
		row("first error", r.FirstError)
	}
	w.Flush()

	b.WriteString("\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row("link", "sent", "bytes", "delivered", "duplicated", "lost", "partitioned", "down", "")
	for _, t := range r.Links {
		row(t.Link.String(), u(t.Sent.Messages), u(t.Sent.Bytes), u(t.Delivered.Messages), u(t.Duplicated.Messages),
			u(t.Lost.Messages), u(t.Partitioned.Messages), u(t.Down.Messages), "")
	}
	t := r.Total
	row("total", u(t.Sent.Messages), u(t.Sent.Bytes), u(t.Delivered.Messages), u(t.Duplicated.Messages),
		u(t.Lost.Messages), u(t.Partitioned.Messages), u(t.Down.Messages), "")
	w.Flush()

	b.WriteString("\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row("node", "writes", "reads", "stale", "msgs sent", "bytes sent", "full states", "max unacked", "max oldest unacked", "")
	for _, n := range r.Nodes {
		row(n.Node, strconv.Itoa(n.Writes), strconv.Itoa(n.Reads), strconv.Itoa(n.StaleReads), u(n.MessagesSent),
			u(n.BytesSent), u(n.FullStatesSent), u(n.MaxUnacked), n.MaxOldestUnacked.String(), "")
	}
	w.Flush()
	return b.String()
}

// CrossRegionBytes returns the bytes sent between nodes of different
// regions, over every link class that joins two regions.
func (r Report) CrossRegionBytes() uint64 {
	var n uint64
	for _, t := range r.Links {
		if t.Link.A != t.Link.B {
			n += t.Sent.Bytes
		}
	}
	return n
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

// pct formats part/whole as a percentage with two decimals, from integers
// so that no float formatting is involved.
func pct(part, whole int) string {
	if whole == 0 {
		return "0.00%"
	}
	bp := (int64(part)*10000 + int64(whole)/2) / int64(whole) // basis points, rounded
	return fmt.Sprintf("%d.%02d%%", bp/100, bp%100)
}
