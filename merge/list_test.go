package merge_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// TestReplicaOfList replicates a crdt.List between two replicas that edit
// it concurrently: the claims a List makes (Version, Edits) pass the
// receiving replica's checks, and both end with one text.
func TestReplicaOfList(t *testing.T) {
	type L = crdt.List[string]
	a := merge.New[*L]("a", func() *L { return new(L) })
	b := merge.New[*L]("b", func() *L { return new(L) })
	for _, p := range []struct {
		r  *merge.Replica[*L]
		id vclock.ReplicaID
	}{{a, "b"}, {b, "a"}} {
		if err := p.r.AddPeer(p.id); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(r *merge.Replica[*L], f func(w vclock.ReplicaID, l *L) *L) {
		t.Helper()
		if err := r.Update(f); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(from, to *merge.Replica[*L], toID vclock.ReplicaID) {
		t.Helper()
		msg, err := from.Sync(toID)
		if err != nil {
			t.Fatal(err)
		}
		if msg == nil {
			return
		}
		reply, err := to.Receive(msg)
		if err != nil {
			t.Fatal(err)
		}
		if reply != nil {
			if _, err := from.Receive(reply); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit(a, func(w vclock.ReplicaID, l *L) *L { return l.Append(w, "one", "two") })
	sync(a, b, "b")
	edit(a, func(w vclock.ReplicaID, l *L) *L { return l.Insert(w, 1, "a") })
	edit(b, func(w vclock.ReplicaID, l *L) *L { return l.Insert(w, 1, "b") })
	edit(b, func(w vclock.ReplicaID, l *L) *L { return l.Delete(0) })
	sync(a, b, "b")
	sync(b, a, "a")
	text := func(r *merge.Replica[*L]) (s string) {
		r.Read(func(l *L) { s = strings.Join(slices.Collect(l.Values()), " ") })
		return s
	}
	if text(a) != text(b) || strings.Count(text(a), " ") != 2 || strings.Contains(text(a), "one") {
		t.Fatalf("a: %q, b: %q", text(a), text(b))
	}
}
