package merge_test

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// poisonSet is a set whose encoding fails while it holds "poison": a type
// whose state can stop encoding, as a counter at the end of its range
// would.
type poisonSet struct{ s *crdt.ORSet[string] }

var errPoison = errors.New("poison does not encode")

func newPoisonSet() *poisonSet                        { return &poisonSet{new(crdt.ORSet[string])} }
func (p *poisonSet) Merge(o *poisonSet)               { p.s.Merge(o.s) }
func (p *poisonSet) Clone() *poisonSet                { return &poisonSet{p.s.Clone()} }
func (p *poisonSet) Equal(o *poisonSet) bool          { return p.s.Equal(o.s) }
func (p *poisonSet) ValidateMerge(o *poisonSet) error { return p.s.ValidateMerge(o.s) }
func (p *poisonSet) MarshalBinary() ([]byte, error)   { return p.AppendBinary(nil) }
func (p *poisonSet) UnmarshalBinary(b []byte) error   { return p.s.UnmarshalBinary(b) }

func (p *poisonSet) AppendBinary(b []byte) ([]byte, error) {
	if p.s.Contains("poison") {
		return b, errPoison
	}
	return p.s.AppendBinary(b)
}

func addPoisonable(e string) func(vclock.ReplicaID, *poisonSet) *poisonSet {
	return func(w vclock.ReplicaID, p *poisonSet) *poisonSet { return &poisonSet{p.s.Add(w, e)} }
}

// TestKeyspaceRefusesStateThatCannotEncode: a keyspace keeps each state
// encoded, so a change after which a key's state cannot be encoded is not
// made: Update returns the error, the key keeps the state it had, and no
// delta of the change is buffered for the peers.
func TestKeyspaceRefusesStateThatCannotEncode(t *testing.T) {
	ks := merge.NewKeyspace[string]("us-east", newPoisonSet)
	if err := ks.AddPeer("eu-west"); err != nil {
		t.Fatal(err)
	}
	if err := ks.Update("cart", addPoisonable("apple")); err != nil {
		t.Fatal(err)
	}
	if err := ks.Update("cart", addPoisonable("poison")); !errors.Is(err, errPoison) {
		t.Fatalf("Update whose state cannot encode: got %v, want %v", err, errPoison)
	}
	ks.Read("cart", func(p *poisonSet) {
		if !p.s.Contains("apple") || p.s.Contains("poison") {
			t.Errorf("cart holds %v after the refused change, want [apple]", p.s)
		}
	})
	if got := ks.Stats().Buffered; got != 1 {
		t.Errorf("%d deltas buffered, want 1: the refused change's must not reach the peers", got)
	}
	if err := ks.Update("cart", addPoisonable("pear")); err != nil {
		t.Fatalf("Update after the refused change: %v", err)
	}
}

// TestKeyspaceReadsCopies: the state Read and All hand out is decoded for
// the call, so a caller that changes it changes nothing in the keyspace
// (its tree and its peers never disagree with its states).
func TestKeyspaceReadsCopies(t *testing.T) {
	ks := merge.NewKeyspace[string]("us-east", newSet)
	if err := ks.Update("cart", add("apple")); err != nil {
		t.Fatal(err)
	}
	ks.Read("cart", func(s *set) { s.Add("intruder", "in-read") })
	for _, s := range ks.All() {
		s.Add("intruder", "in-all")
	}
	ks.Read("cart", func(s *set) {
		if got := slices.Collect(s.All()); !slices.Equal(got, []string{"apple"}) {
			t.Errorf("cart holds %v after changes to what Read and All returned, want [apple]", got)
		}
	})
}

// TestKeyspaceBufferHoldsDeltasEncoded: the delta buffer keeps each delta
// as its encoding, so that a full buffer costs little more than its
// BufferedBytes (kept decoded, one would hold about 6.5× it): 4,096 one-item deltas, kept for a peer that never
// answers, hold at most 3× their encoded size beyond what the same
// keyspace holds with no peer (which keeps no delta).
func TestKeyspaceBufferHoldsDeltasEncoded(t *testing.T) {
	const n = merge.DefaultMaxDeltas
	build := func(peer bool) (*merge.Keyspace[string, *set], uint64) {
		before := heap()
		ks := merge.NewKeyspace[string]("us-east", newSet)
		if peer {
			if err := ks.AddPeer("eu-west"); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			if err := ks.Update(fmt.Sprintf("cart-%d", i), add("item-0")); err != nil {
				t.Fatal(err)
			}
		}
		return ks, heap() - before
	}
	bare, without := build(false)
	runtime.KeepAlive(bare)
	bare = nil
	ks, with := build(true)
	st := ks.Stats()
	runtime.KeepAlive(ks)
	if st.Buffered != n {
		t.Fatalf("%d deltas buffered, want %d", st.Buffered, n)
	}
	per := float64(int64(with)-int64(without)) / n
	enc := float64(st.BufferedBytes) / n
	t.Logf("a buffered delta holds %.0f bytes of heap for %.0f encoded (%.2f×)", per, enc, per/enc)
	if per > 3*enc {
		t.Errorf("a buffered delta holds %.0f bytes of heap, %.2f× its %.0f encoded bytes; want at most 3×", per, per/enc, enc)
	}
}
