package merge_test

import (
	"errors"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// syncAll has every replica send every other what it has due.
func syncAll[T crdt.State[T]](t *testing.T, now *int64, reps map[vclock.ReplicaID]*merge.Replica[T], ids []vclock.ReplicaID) {
	t.Helper()
	*now += int64(100 * time.Millisecond)
	for _, from := range ids {
		for _, to := range ids {
			if from == to {
				continue
			}
			msg, err := reps[from].Sync(to)
			if err != nil {
				t.Fatal(err)
			}
			exchange(reps[from], reps[to], msg)
		}
	}
}

// TestEscrow: a region without stock asks for rights, batched by Ask; the
// region holding them grants what was asked, keeping Keep; sales then
// succeed where they failed, and the regions agree on what is left.
func TestEscrow(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	ids := []vclock.ReplicaID{"us-east", "eu-west", "ap-south"}
	reps := mesh(&now, func() *crdt.BCounter { return new(crdt.BCounter) }, ids...)
	policy := merge.Escrow{Ask: 10, Keep: 5}
	us, eu := reps["us-east"], reps["eu-west"]
	if err := us.Update(func(w vclock.ReplicaID, c *crdt.BCounter) *crdt.BCounter { return c.Inc(w, 20) }); err != nil {
		t.Fatal(err)
	}
	syncAll(t, &now, reps, ids)

	if err := policy.Dec(eu, 3); !errors.Is(err, crdt.ErrInsufficientRights) {
		t.Fatalf("eu-west sold without rights: %v", err)
	}
	// A second short sale asks for nothing more: 10 are asked already.
	if err := policy.Dec(eu, 2); !errors.Is(err, crdt.ErrInsufficientRights) {
		t.Fatalf("eu-west sold without rights: %v", err)
	}
	if got := eu.State().Requested(eu.Writer()); got != 10 {
		t.Fatalf("eu-west asked for %d, want 10 (Ask)", got)
	}
	syncAll(t, &now, reps, ids)
	granted, err := policy.Grant(us)
	if err != nil || granted != 10 {
		t.Fatalf("us-east granted %d (%v), want 10", granted, err)
	}
	// Nothing more to grant, and ap-south holds no rights to grant from.
	if n, err := policy.Grant(us); n != 0 || err != nil {
		t.Fatalf("second grant: %d, %v", n, err)
	}
	syncAll(t, &now, reps, ids)
	for range 3 {
		if err := policy.Dec(eu, 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := policy.Dec(eu, 3); !errors.Is(err, crdt.ErrInsufficientRights) {
		t.Fatalf("eu-west sold 12 of 10 rights: %v", err)
	}
	// us-east keeps its 10 and cannot grant the new request beyond Keep
	// but for 5.
	syncAll(t, &now, reps, ids)
	if n, _ := policy.Grant(us); n != 5 {
		t.Fatalf("us-east granted %d of its 10, keeping 5: want 5", n)
	}
	syncAll(t, &now, reps, ids)
	for _, id := range ids {
		if v := reps[id].State().Value(); v != 11 {
			t.Fatalf("%s reads %d, want 20 - 9 = 11", id, v)
		}
	}

	// Before stopping, us-east hands its rights to ap-south.
	moved, err := policy.Handoff(us, reps["ap-south"].Writer())
	if err != nil || moved != 5 {
		t.Fatalf("handoff moved %d (%v), want 5", moved, err)
	}
	if _, err := policy.Handoff(us, us.Writer()); err == nil {
		t.Fatal("a handoff to the replica's own writer was accepted")
	}
	syncAll(t, &now, reps, ids)
	ap := reps["ap-south"]
	if got := ap.State().Rights(ap.Writer()); got != 5 {
		t.Fatalf("ap-south holds %d rights after the handoff, want 5", got)
	}
}
