package crdt_test

import (
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// elemKeys are distinct strings shaped like real element ids, made on
// first use so that benchmarks which do not need a million strings do not
// make the garbage collector scan them.
var elemKeys = sync.OnceValue(func() []string { return makeKeys(1 << 20) })

func makeKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "item-" + strconv.Itoa(i*7919)
	}
	return keys
}

// The insert benchmarks start a new structure every len(keys)
// inserts, so both pay the same growth.

func BenchmarkBaselineMapInsert(b *testing.B) {
	keys := elemKeys()
	b.ReportAllocs()
	m := map[string]struct{}{}
	for i := 0; i < b.N; i++ {
		k := i & (len(keys) - 1)
		if k == 0 {
			m = map[string]struct{}{}
		}
		m[keys[k]] = struct{}{}
	}
}

func BenchmarkORSetAdd(b *testing.B) {
	keys := elemKeys()
	b.ReportAllocs()
	s := new(crdt.ORSet[string])
	for i := 0; i < b.N; i++ {
		k := i & (len(keys) - 1)
		if k == 0 {
			s = new(crdt.ORSet[string])
		}
		s.Add("us-east", keys[k])
	}
}

const lookupSize = 100_000

func BenchmarkBaselineMapLookup(b *testing.B) {
	keys := elemKeys()
	m := map[string]struct{}{}
	for _, k := range keys[:lookupSize] {
		m[k] = struct{}{}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := m[keys[i%(2*lookupSize)]]; ok != (i%(2*lookupSize) < lookupSize) {
			b.Fatal("wrong answer")
		}
	}
}

func BenchmarkORSetContains(b *testing.B) {
	keys := elemKeys()
	var s crdt.ORSet[string]
	for _, k := range keys[:lookupSize] {
		s.Add("us-east", k)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s.Contains(keys[i%(2*lookupSize)]) != (i%(2*lookupSize) < lookupSize) {
			b.Fatal("wrong answer")
		}
	}
}

// BenchmarkORSetMerge merges two 100k-element full states that share half
// their elements, as two replicas do after diverging from a common
// history: 50k elements both saw, then 50k new ones on each side, written
// by different replicas. Elements/s counts both inputs.
func BenchmarkORSetMerge(b *testing.B) {
	keys := makeKeys(150_000)
	var x crdt.ORSet[string]
	for _, k := range keys[:50_000] {
		x.Add("us-east", k)
	}
	y := x.Clone()
	for _, k := range keys[50_000:100_000] {
		x.Add("us-east", k)
	}
	for _, k := range keys[100_000:150_000] {
		y.Add("eu-west", k)
	}
	benchMerge(b, &x, y, 150_000)
}

// BenchmarkORSetMergeConcurrentAdds merges two 100k-element sets whose
// shared half was added concurrently by both replicas, so every shared
// element ends with two dots.
func BenchmarkORSetMergeConcurrentAdds(b *testing.B) {
	keys := makeKeys(150_000)
	var x, y crdt.ORSet[string]
	for _, k := range keys[:100_000] {
		x.Add("us-east", k)
	}
	for _, k := range keys[50_000:150_000] {
		y.Add("eu-west", k)
	}
	benchMerge(b, &x, &y, 150_000)
}

// BenchmarkORSetMergeIntoEmpty merges a 100k-element set into an empty
// one, as a new replica does when it bootstraps from a peer's full state.
// Elements/s counts the input.
func BenchmarkORSetMergeIntoEmpty(b *testing.B) {
	var x crdt.ORSet[string]
	for _, k := range makeKeys(100_000) {
		x.Add("us-east", k)
	}
	benchMerge(b, new(crdt.ORSet[string]), &x, 100_000)
}

func benchMerge(b *testing.B, x, y *crdt.ORSet[string], want int) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		z := x.Clone()
		runtime.GC()
		b.StartTimer()
		z.Merge(y)
		if z.Len() != want {
			b.Fatalf("Len() = %d, want %d", z.Len(), want)
		}
	}
	b.ReportMetric(float64((x.Len()+y.Len())*b.N)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkBaselineMapUnion is the floor for BenchmarkORSetMerge: the union
// of two plain maps shaped like its inputs, without any causality.
func BenchmarkBaselineMapUnion(b *testing.B) {
	keys := makeKeys(150_000)
	x, y := map[string]uint64{}, map[string]uint64{}
	for i, k := range keys[:100_000] {
		x[k] = uint64(i)
	}
	for i, k := range keys[50_000:150_000] {
		y[k] = uint64(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		z := make(map[string]uint64, len(x))
		for k, v := range x {
			z[k] = v
		}
		runtime.GC()
		b.StartTimer()
		for k, v := range y {
			if _, ok := z[k]; !ok {
				z[k] = v
			}
		}
	}
	b.ReportMetric(float64(200_000*b.N)/b.Elapsed().Seconds(), "elements/s")
}
