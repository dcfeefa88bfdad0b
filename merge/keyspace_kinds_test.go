package merge_test

import (
	"errors"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// TestKeyspaceAndReplicaMessagesApart: a Replica refuses a Keyspace's
// message, and a Keyspace a Replica's, as malformed — known kinds, but
// not their own — and neither state changes.
func TestKeyspaceAndReplicaMessagesApart(t *testing.T) {
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	ks := merge.NewKeyspace[string]("a", newSet, merge.WithRandom(seeded(1)))
	rep := merge.New("a", newSet, merge.WithRandom(seeded(2)))
	if err := errors.Join(ks.AddPeer("b"), rep.AddPeer("b")); err != nil {
		t.Fatal(err)
	}
	add := func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "x") }
	if err := ks.Update("k", add); err != nil {
		t.Fatal(err)
	}
	if err := rep.Update(add); err != nil {
		t.Fatal(err)
	}
	fromKS, err := ks.Sync("b")
	if err != nil || fromKS == nil {
		t.Fatalf("Keyspace.Sync: %v", err)
	}
	fromRep, err := rep.Sync("b")
	if err != nil || fromRep == nil {
		t.Fatalf("Replica.Sync: %v", err)
	}
	rb := merge.New("b", newSet, merge.WithRandom(seeded(3)))
	kb := merge.NewKeyspace[string]("b", newSet, merge.WithRandom(seeded(4)))
	if err := errors.Join(kb.AddPeer("a"), rb.AddPeer("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Receive(fromKS); !errors.Is(err, merge.ErrMalformed) {
		t.Errorf("Replica given a keyspace message: %v, want ErrMalformed", err)
	}
	if _, err := kb.Receive(fromRep); !errors.Is(err, merge.ErrMalformed) {
		t.Errorf("Keyspace given a replica message: %v, want ErrMalformed", err)
	}
	if rb.State().Len() != 0 || kb.Len() != 0 {
		t.Error("a refused message changed a state")
	}
}
