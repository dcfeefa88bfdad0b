package crdt_test

import (
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// bigSet is a 100k-element ORSet[string] written by three replicas, with
// some removals, as a replica's full state looks after a while.
func bigSet() (*crdt.ORSet[string], int) {
	keys := makeKeys(110_000)
	var s crdt.ORSet[string]
	ids := []string{"us-east", "eu-west", "ap-south"}
	for i, k := range keys {
		s.Add(vclock.ReplicaID(ids[i%3]), k)
	}
	for _, k := range keys[100_000:] {
		s.Remove(k)
	}
	elemBytes := 0
	for _, k := range keys[:100_000] {
		elemBytes += len(k)
	}
	return &s, elemBytes
}

// TestORSetEncodingSize: a 100k-element ORSet[string] encodes to at most
// 1.25 × (sum of element bytes + 8 bytes per element).
func TestORSetEncodingSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-element set; skipped in -short mode")
	}
	s, elemBytes := bigSet()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	limit := 1.25 * float64(elemBytes+8*100_000)
	t.Logf("%d bytes for %d elements of %d bytes in all: %.2f× (elements + 8/element)", len(b), s.Len(), elemBytes, float64(len(b))/float64(elemBytes+8*100_000))
	if float64(len(b)) > limit {
		t.Errorf("encoding is %d bytes, want at most %.0f", len(b), limit)
	}
}

func BenchmarkORSetEncode(b *testing.B) {
	s, _ := bigSet()
	buf, _ := s.AppendBinary(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = s.AppendBinary(buf[:0])
	}
}

func BenchmarkORSetDecode(b *testing.B) {
	s, _ := bigSet()
	buf, _ := s.MarshalBinary()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var d crdt.ORSet[string]
		if err := d.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallORSet measures a set of one item written by one replica,
// as each key of a keyspace holds: re-adding its item (the delta holds the
// old dot and the new), encoding it, and decoding it.
func BenchmarkSmallORSet(b *testing.B) {
	w := vclock.ReplicaID("us-east~0000000000001")
	b.Run("re-add", func(b *testing.B) {
		var s crdt.ORSet[string]
		s.Add(w, "item-0")
		b.ReportAllocs()
		for b.Loop() {
			s.Add(w, "item-0")
		}
	})
	var s crdt.ORSet[string]
	s.Add(w, "item-0")
	buf, _ := s.AppendBinary(nil)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = s.AppendBinary(buf[:0])
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d crdt.ORSet[string]
			if err := d.UnmarshalBinary(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
