package merge

import (
	"slices"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// TestFifoKeepsOrder checks a fifo against a plain slice over a run of
// pushes and drops of every size, through the moves back to the start.
func TestFifoKeepsOrder(t *testing.T) {
	var q fifo[int]
	var want []int
	next := 0
	for round := range 200 {
		for range round%7 + 1 {
			q.push(next)
			want = append(want, next)
			next++
		}
		k := (round * 5) % (len(want) + 1)
		q.drop(k)
		want = want[k:]
		if !slices.Equal(q.live(), want) || q.len() != len(want) {
			t.Fatalf("round %d: fifo holds %v (len %d), want %v", round, q.live(), q.len(), want)
		}
	}
}

// TestFifoFullAllocatesNothing checks that a buffer kept at its bound,
// one delta in and the oldest out, allocates nothing per delta once it
// has grown to its bound.
func TestFifoFullAllocatesNothing(t *testing.T) {
	const bound = 4096
	var q fifo[ksEntry[string]]
	for i := range bound {
		q.push(ksEntry[string]{kn: i})
	}
	allocs := testing.AllocsPerRun(1, func() {
		for range 10 * bound {
			q.push(ksEntry[string]{kn: 1})
			q.drop(1)
		}
	})
	if allocs != 0 {
		t.Fatalf("a full buffer allocated %.0f times over %d deltas, want 0", allocs, 10*bound)
	}
	if c := cap(q.arr); c > 3*bound {
		t.Fatalf("the buffer's array holds %d deltas' room for %d deltas, want at most %d", c, bound, 3*bound)
	}
	if q.len() != bound {
		t.Fatalf("the buffer holds %d deltas, want %d", q.len(), bound)
	}
}

// TestKeepBytesSharesChunks checks that the buffered deltas' bytes are
// cut from shared chunks: one allocation per chunk, not per delta, each
// copy holding its own bytes however the ones cut after it are written,
// and a copy of more than a quarter chunk standing alone.
func TestKeepBytesSharesChunks(t *testing.T) {
	var ks Keyspace[string, *crdt.ORSet[string]]
	delta := make([]byte, 64)
	allocs := testing.AllocsPerRun(1, func() {
		for range 1024 {
			ks.keepBytes(delta)
		}
	})
	if want := float64(1024*64/arenaChunk) + 1; allocs > want {
		t.Fatalf("keeping 1,024 deltas of 64 bytes allocated %.0f times, want at most %.0f", allocs, want)
	}
	var kept [][]byte
	for i := range 600 {
		for j := range delta {
			delta[j] = byte(i + j)
		}
		kept = append(kept, ks.keepBytes(delta))
	}
	_ = append(kept[0], 0xff) // must not write into the copy cut after it
	for i, b := range kept {
		if len(b) != 64 || cap(b) != 64 || b[0] != byte(i) || b[63] != byte(i+63) {
			t.Fatalf("copy %d holds %x (cap %d), want the bytes it was given", i, b[:4], cap(b))
		}
	}
	big := make([]byte, arenaChunk/4+1)
	used := len(ks.arena)
	if b := ks.keepBytes(big); len(b) != len(big) || len(ks.arena) != used {
		t.Fatalf("a copy of %d bytes took %d bytes of the chunk", len(big), len(ks.arena)-used)
	}
}
