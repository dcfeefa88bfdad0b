package merge

import (
	"slices"
	"testing"
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
