package crdt_test

import (
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// Writer IDs as merge.Replica makes them: the region, a tilde and a
// 13-character incarnation.
const (
	bcStockWriter vclock.ReplicaID = "us-east~0f8k2m4n6p8qr"
	bcSellWriter  vclock.ReplicaID = "eu-west~1a2b3c4d5e6f7"
)

// BenchmarkBCounterDec measures a sale in the common shape: a region
// selling from rights another region granted it (10,000 units of stock,
// 5,000 granted), with writer IDs as merge.Replica makes them. It reports
// the encoded size of the sale's delta, which carries the grant that
// justifies it; totals of 2^16 or more take 2 to 6 bytes more each.
func BenchmarkBCounterDec(b *testing.B) {
	var c crdt.BCounter
	c.Inc(bcStockWriter, 10000)
	if _, err := c.Transfer(bcStockWriter, bcSellWriter, 5000); err != nil {
		b.Fatal(err)
	}
	c.Dec(bcStockWriter, 123)
	d, err := c.Dec(bcSellWriter, 1)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := d.MarshalBinary()
	// The same shape with rights enough for every iteration.
	var big crdt.BCounter
	big.Inc(bcStockWriter, 1<<62)
	if _, err := big.Transfer(bcStockWriter, bcSellWriter, 1<<61); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := big.Dec(bcSellWriter, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "delta-bytes")
}

// BenchmarkBCounterInc measures a restock: the delta is the writer's
// record alone.
func BenchmarkBCounterInc(b *testing.B) {
	var c crdt.BCounter
	d := c.Inc(bcStockWriter, 1000)
	enc, _ := d.MarshalBinary()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.Inc(bcStockWriter, 1)
	}
	b.ReportMetric(float64(len(enc)), "delta-bytes")
}
