package crdt_test

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

var bcReplicas = []vclock.ReplicaID{"us-east", "eu-west", "ap-south", "us-west", "sa-east"}

// A bcStep is an operation of a BCounter: an increment, a decrement or a
// transfer that may find too few rights, a request, a grant.
type bcStep struct {
	kind    int
	n, keep uint64
	other   vclock.ReplicaID
}

var bcSteps = rapid.Custom(func(t *rapid.T) bcStep {
	return bcStep{
		kind:  rapid.IntRange(0, 5).Draw(t, "kind"),
		n:     rapid.Uint64Range(0, 12).Draw(t, "n"),
		keep:  rapid.Uint64Range(0, 5).Draw(t, "keep"),
		other: rapid.SampledFrom(bcReplicas).Draw(t, "other"),
	}
})

func (s bcStep) String() string {
	return [...]string{"inc", "dec", "dec", "transfer", "request", "grant"}[s.kind] + " " + strconv.FormatUint(s.n, 10)
}

// apply applies s to c as replica self and returns the delta, an empty
// counter if nothing changed, and the amounts added and decremented.
func (s bcStep) apply(t interface{ Fatalf(string, ...any) }, self vclock.ReplicaID, c *crdt.BCounter) (delta *crdt.BCounter, added, sold uint64) {
	var err error
	switch s.kind {
	case 0:
		delta, added = c.Inc(self, s.n), s.n
	case 1, 2:
		if delta, err = c.Dec(self, s.n); err == nil {
			sold = s.n
		}
	case 3:
		if s.other != self {
			delta, err = c.Transfer(self, s.other, s.n)
		}
	case 4:
		delta = c.Request(self, s.n)
	default:
		delta, _ = c.Grant(self, s.keep)
	}
	if err != nil && !errors.Is(err, crdt.ErrInsufficientRights) {
		t.Fatalf("%v: %v", s, err)
	}
	if delta == nil {
		delta = new(crdt.BCounter)
	}
	return delta, added, sold
}

// bcOK fails t unless every replica of c holds rights of zero or more,
// which is what makes the value their sum and never negative.
func bcOK(t *rapid.T, c *crdt.BCounter) {
	var sum uint64
	for _, r := range c.All() {
		sum += r
	}
	if v := c.Value(); v < 0 || uint64(v) != sum {
		t.Fatalf("value %d, rights summing to %d: a replica spent rights it did not hold", v, sum)
	}
}

// TestBCounterDeltaCarriesItsRights merges a decrement alone into a
// replica that has seen none of the writes its rights came from, through
// two transfers: the value it reads must be what is left.
func TestBCounterDeltaCarriesItsRights(t *testing.T) {
	var a, b, c crdt.BCounter
	b.Merge(a.Inc("a", 10))
	give, err := a.Transfer("a", "b", 5)
	if err != nil {
		t.Fatal(err)
	}
	b.Merge(give)
	give, err = b.Transfer("b", "c", 3)
	if err != nil {
		t.Fatal(err)
	}
	c.Merge(give)
	sale, err := c.Dec("c", 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dec("c", 1); !errors.Is(err, crdt.ErrInsufficientRights) {
		t.Fatalf("c sold what it did not hold: %v", err)
	}
	var d crdt.BCounter
	if err := d.ValidateMerge(sale); err != nil {
		t.Fatal(err)
	}
	d.Merge(sale)
	if d.Value() != 7 || d.Rights("a") != 5 || d.Rights("b") != 2 || d.Rights("c") != 0 {
		t.Fatalf("value %d, rights a %d b %d c %d; want 7, 5, 2, 0", d.Value(), d.Rights("a"), d.Rights("b"), d.Rights("c"))
	}
}

// TestBCounterRefusesADoubleSpend: a replica restored from an old copy
// of its state, writing under the same ID, transfers the rights its first
// life sold already; merging the two is refused, naming the replica, and
// the state is left as it was. (Had it sold them again instead, its
// decrements total would hide under the first life's: no replica could
// tell. That is why a writer never restarts under its old ID.)
func TestBCounterRefusesADoubleSpend(t *testing.T) {
	var first crdt.BCounter
	first.Inc("us-east", 10)
	backup := first.Clone()
	if _, err := first.Dec("us-east", 10); err != nil {
		t.Fatal(err)
	}
	again, err := backup.Transfer("us-east", "eu-west", 4)
	if err != nil {
		t.Fatal(err)
	}
	before := first.Clone()
	err = first.ValidateMerge(again)
	var ve *crdt.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, crdt.ErrInconsistent) || ve.Writer != "us-east" {
		t.Fatalf("ValidateMerge of a double spend: %v", err)
	}
	if !first.Equal(before) {
		t.Fatal("ValidateMerge changed the state")
	}
	// Each life alone is no double spend.
	for _, life := range []*crdt.BCounter{&first, backup, again} {
		if err := new(crdt.BCounter).ValidateMerge(life); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBCounter(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.BCounter]{
		New:       func() *crdt.BCounter { return new(crdt.BCounter) },
		Invariant: bcOK,
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.BCounter] {
			s := bcSteps.Draw(t, "op")
			return crdttest.Op[*crdt.BCounter]{Name: s.String(), Apply: func(r *crdttest.Replica, c *crdt.BCounter) *crdt.BCounter {
				d, _, _ := s.apply(t, r.ID, c)
				return d
			}}
		}),
	})
}

// TestBCounterNeverBelowZero is the model check of the bounded counter:
// four replicas sell, restock, transfer, request and grant while their
// deltas and full states travel in any order, are duplicated or lost,
// and links are cut. At every step every replica's value is at least zero
// and every replica holds rights of zero or more, each merge of honest
// data passes ValidateMerge, and once all states are exchanged the
// replicas agree on the value: everything added minus everything sold.
func TestBCounterNeverBelowZero(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const n = 4
		states := make([]*crdt.BCounter, n)
		for i := range states {
			states[i] = new(crdt.BCounter)
		}
		type msg struct {
			to   int
			data []byte
		}
		var queue []msg
		var added, sold uint64
		send := func(from int, c *crdt.BCounter) {
			b, err := c.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			for to := range n {
				if to != from {
					queue = append(queue, msg{to, b})
				}
			}
		}
		receive := func(m msg) {
			var in crdt.BCounter
			if err := in.UnmarshalBinary(m.data); err != nil {
				t.Fatalf("decoding a counter a replica wrote: %v", err)
			}
			if err := states[m.to].ValidateMerge(&in); err != nil {
				t.Fatalf("honest data refused: %v", err)
			}
			states[m.to].Merge(&in)
			bcOK(t, states[m.to])
		}
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			switch k := rapid.IntRange(0, 9).Draw(t, "step"); {
			case k < 5:
				at := rapid.IntRange(0, n-1).Draw(t, "at")
				d, a, s := bcSteps.Draw(t, "op").apply(t, bcReplicas[at], states[at])
				added, sold = added+a, sold+s
				bcOK(t, d)
				bcOK(t, states[at])
				send(at, d)
			case k == 5:
				at := rapid.IntRange(0, n-1).Draw(t, "full")
				send(at, states[at])
			case len(queue) > 0:
				i := rapid.IntRange(0, len(queue)-1).Draw(t, "message")
				m := queue[i]
				switch rapid.IntRange(0, 5).Draw(t, "fate") {
				case 0: // lost
				case 1: // duplicated
					receive(m)
					queue = append(queue, m)
				default:
					receive(m)
				}
				queue = slices.Delete(queue, i, i+1)
			}
		}
		for from := range n {
			send(from, states[from])
		}
		for _, m := range queue {
			receive(m)
		}
		for i := range states {
			if !states[i].Equal(states[0]) {
				t.Fatalf("replica %d: %v, replica 0: %v", i, states[i], states[0])
			}
		}
		if v := states[0].Value(); v < 0 || uint64(v) != added-sold {
			t.Fatalf("value %d, want %d added - %d sold", v, added, sold)
		}
	})
}

func FuzzBCounterUnmarshalBinary(f *testing.F) {
	var us crdt.BCounter
	f.Add(mustMarshal(f, us.Inc("us-east", 100)))
	give, _ := us.Transfer("us-east", "eu-west", 40)
	f.Add(mustMarshal(f, give))
	eu := us.Clone()
	sale, _ := eu.Dec("eu-west", 2)
	f.Add(mustMarshal(f, sale))
	f.Add(mustMarshal(f, eu.Request("ap-south", 10)))
	f.Add(mustMarshal(f, eu))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.BCounter
		if err := got.UnmarshalBinary(in); err != nil {
			if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
				t.Fatalf("error matching neither ErrMalformed nor ErrUnsupported: %v", err)
			}
			return
		}
		if out, _ := got.MarshalBinary(); !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
		// What ValidateMerge lets into a state leaves no replica below
		// zero: the value stays the sum of the rights.
		state := eu.Clone()
		if state.ValidateMerge(&got) == nil {
			state.Merge(&got)
			var sum uint64
			for _, r := range state.All() {
				sum = min(sum+r, math.MaxInt64) // no wrap: totals go up to 2^64-1
			}
			if v := state.Value(); v < 0 || uint64(v) != sum && v != math.MaxInt64 {
				t.Fatalf("ValidateMerge let in %x: value %d, rights summing to %d", in, v, sum)
			}
		}
	})
}
