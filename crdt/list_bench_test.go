package crdt_test

import (
	"math/rand/v2"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// BenchmarkListTrace replays the automerge-paper editing trace (259,778
// single-character edits, testdata/automerge-paper.json.gz) into an empty
// List[rune] as one replica, and reports the size of the final state's
// encoding against the final text's.
func BenchmarkListTrace(b *testing.B) {
	es, end := traceOrSkip(b)
	var l *crdt.List[rune]
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		l = replay(es)
	}
	b.StopTimer()
	// CPU time of the process per replay, GC workers included: on a
	// shared machine, wall time also counts other processes' turns.
	if cpu > 0 {
		b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	enc, err := l.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(enc)), "encoded-bytes")
	b.ReportMetric(float64(len(enc))/float64(len(end)), "encoded/text")
}

// BenchmarkListTraceDecode decodes the final state of the trace.
func BenchmarkListTraceDecode(b *testing.B) {
	es, _ := traceOrSkip(b)
	enc, err := replay(es).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var l crdt.List[rune]
		if err := l.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListInsert inserts one element at a random index of a list of
// 100,000 elements (100,000 to 110,000: every 10,000 inserts the list is
// reset, off the clock), the delta included.
func BenchmarkListInsert(b *testing.B) {
	const n, span = 100_000, 10_000
	base := new(crdt.List[int])
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		base.Insert("a", rng.IntN(i+1), i)
	}
	l := base.Clone()
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		if k == span {
			b.StopTimer()
			l, k = base.Clone(), 0
			b.StartTimer()
		}
		l.Insert("b", rng.IntN(l.Len()+1), k)
		k++
	}
}

// BenchmarkListMergeDelta merges the delta of one insert into a list of
// 100,000 elements, as a remote replica does.
func BenchmarkListMergeDelta(b *testing.B) {
	const n, span = 100_000, 10_000
	base := new(crdt.List[int])
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		base.Insert("a", rng.IntN(i+1), i)
	}
	src := base.Clone()
	ds := make([]*crdt.List[int], span)
	for i := range ds {
		ds[i] = src.Insert("b", rng.IntN(src.Len()+1), i)
	}
	l := base.Clone()
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		if k == span {
			b.StopTimer()
			l, k = base.Clone(), 0
			b.StartTimer()
		}
		l.Merge(ds[k])
		k++
	}
}

// BenchmarkListInsertInMap inserts one element at a random index of a
// list of 100,000 elements (100,000 to 110,000, reset every 10,000
// inserts off the clock), delta included: a top-level List as
// BenchmarkListInsert does, and the same List as the value of one key of
// an ORMap, through Update, so that both run on the same machine at once.
func BenchmarkListInsertInMap(b *testing.B) {
	const n, span = 100_000, 10_000
	type lists = crdt.ORMap[string, *crdt.List[int]]
	b.Run("List", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		base := new(crdt.List[int])
		for i := range n {
			base.Insert("a", rng.IntN(i+1), i)
		}
		l := base.Clone()
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			if k == span {
				b.StopTimer()
				l, k = base.Clone(), 0
				b.StartTimer()
			}
			l.Insert("b", rng.IntN(l.Len()+1), k)
			k++
		}
	})
	b.Run("ORMap", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		base := new(lists)
		for i := range n {
			base.Update("k", func(l *crdt.List[int]) *crdt.List[int] { return l.Insert("a", rng.IntN(i+1), i) })
		}
		m := base.Clone()
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			if k == span {
				b.StopTimer()
				m, k = base.Clone(), 0
				b.StartTimer()
			}
			m.Update("k", func(l *crdt.List[int]) *crdt.List[int] { return l.Insert("b", rng.IntN(l.Len()+1), k) })
			k++
		}
	})
}
