package main

import (
	"fmt"
	"io"
)

// Data residency: EU-homed users' personal data — their profiles and
// carts — is to stay in eu-west. The regional design keeps it there (its
// home region takes every write to it, and its stream to the other
// regions carries no such data); every other design replicates it to
// every region.

// euPersonal reports whether item is an EU-homed user's personal data:
// a profile field or a cart line of a user homed in eu-west.
func euPersonal(item int32) bool {
	return kindOf(item) != likeItem && homeOf(userOf(item)) == euWest
}

// pinned reports whether the world's design keeps item in eu-west only.
func (w *world) pinned(item int32) bool { return w.design.pinEU && euPersonal(item) }

// recordBytes is the size of one write's data as a replication stream or
// a log carries it, whatever the design: the item's key, its value (a
// name or an email, 32 bytes; a cart line's flag, 1) and an 8-byte
// timestamp.
func recordBytes(item int32) int {
	switch kindOf(item) {
	case profileItem:
		return len(profileKey(item)) + 32 + 8
	case cartItem:
		user, sku := cartKey(item)
		return len(user) + 1 + len(sku) + 1 + 8
	}
	return len(postKey(item)) + 8 + 8
}

// residencyReads counts the reads of data a design keeps in eu-west
// made in another region: each is served by eu-west, a round trip away,
// and its answer — the record, as recordBytes counts it — leaves
// eu-west in transit, for the client, and is kept by no server.
type residencyReads struct {
	reads, failed int   // failed: eu-west was out of reach
	answered      int64 // bytes of the answers
}

// readPinned serves a read at region n of an item kept in eu-west: the
// region asks eu-west, and the read is stale if eu-west's copy is; when
// eu-west is out of reach the read fails, and counts as stale.
func (w *world) readPinned(n int, o *op) {
	w.residency.reads++
	if !w.up(euWest) || !w.s.Connected(nodeOf(n), nodeOf(euWest)) {
		w.residency.failed++
		w.staleReads++
		return
	}
	w.residency.answered += int64(recordBytes(o.item))
	if w.stale(&w.reps[euWest].frontier, o.item) {
		w.staleReads++
	}
}

// residencyNote explains the data residency table.
const residencyNote = "stored outside eu-west: bytes of EU-homed users' profile and cart writes that servers in other regions took in — replicated, logged, or received as a primary — counted once per region and write, a record being the key, the value and an 8-byte timestamp; regions: those holding any, eu-west included. Only the regional design keeps that data home: a write of it made elsewhere is forwarded to eu-west and stored nowhere on the way, its streams carry the place of such a write, not its data, and other regions read it from eu-west — answers that cross the ocean for the user and are stored nowhere, failing while eu-west is out of reach."

// reportResidency prints, per design, what of EU-homed users' data left
// eu-west.
func reportResidency(out io.Writer, results []result) {
	t := residencyTable(results)
	fmt.Fprintf(out, "\ndata residency: %s\n", t.Caption)
	for _, row := range append([][]string{t.Head}, t.Rows...) {
		fmt.Fprintf(out, "%-38s %14s %8s %18s %10s %7s\n", row[0], row[1], row[2], row[3], row[4], row[5])
	}
	fmt.Fprintln(out, residencyNote)
}

// residencyTable is reportResidency's table, for the HTML report.
func residencyTable(results []result) htmlTable {
	t := htmlTable{Caption: "EU-homed users' profiles and carts outside eu-west",
		Head: []string{"design", "stored outside", "regions", "reads from eu-west", "answers", "failed"}, Note: residencyNote}
	for _, r := range results {
		t.Rows = append(t.Rows, []string{r.design.name, fmtBytes(r.heldEU), fmt.Sprint(r.holdingEU),
			fmt.Sprint(r.residency.reads), fmtBytes(r.residency.answered), fmt.Sprint(r.residency.failed)})
	}
	return t
}

// fmtBytes writes n bytes in B, kB or MB.
func fmtBytes(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
