package natsync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
)

// BenchmarkWriteReachesPeers measures, over one embedded server, the time
// from a write at one replica until its three peers all hold it, and the
// bytes published for it by everyone (bundle, acknowledgements).
func BenchmarkWriteReachesPeers(b *testing.B) {
	s := startServer(b, false)
	all := ids(4)
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	for _, id := range all {
		r := newReplica(b, id, all)
		rs = append(rs, r)
		ts = append(ts, startTransport(b, connect(b, s.ClientURL()), r, natsync.WithDigestInterval(0)))
	}
	add(b, ts[0], "warm", 1)
	waitEqual(b, 10*time.Second, 1, rs...)
	published := func() (n uint64) {
		for _, t := range ts {
			n += t.Stats().PublishedBytes
		}
		return n
	}
	before := published()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := fmt.Sprint("item-", i)
		update(ts[0], func(w vclock.ReplicaID, c cart) cart { return c.Add(w, e) })
		waitHold(rs[1:], e)
	}
	b.StopTimer()
	b.ReportMetric(float64(published()-before)/float64(b.N), "published-B/op")
}

// startRegions starts a WAN of four regions on loopback (no added
// latency) and one replica per region, each on its region's server.
func startRegions(b *testing.B) ([]*merge.Replica[cart], []*natsync.Transport) {
	b.Helper()
	wan, err := natstest.Supercluster("us-east", "us-west", "eu-west", "ap-south")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(wan.Shutdown)
	all := ids(4)
	var rs []*merge.Replica[cart]
	var ts []*natsync.Transport
	for i, id := range all {
		r := newReplica(b, id, all)
		rs = append(rs, r)
		ts = append(ts, startTransport(b, connect(b, wan.Servers[i].ClientURL()), r, natsync.WithDigestInterval(0)))
	}
	add(b, ts[0], "warm", 1)
	waitEqual(b, 10*time.Second, 1, rs...)
	return rs, ts
}

// BenchmarkWriteVisibleInRegions measures, across four regions joined
// by gateways, the time from a write at one region until the three others
// hold it, one write at a time: ns/op is the mean, p50-µs and p99-µs the
// percentiles.
func BenchmarkWriteVisibleInRegions(b *testing.B) {
	rs, ts := startRegions(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		e := fmt.Sprint("item-", i)
		start := time.Now()
		update(ts[0], func(w vclock.ReplicaID, c cart) cart { return c.Add(w, e) })
		waitHold(rs[1:], e)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkWritesThroughOneNode measures how many writes one node takes
// while its Transport publishes them to three other regions: b.N writes
// back to back, then the wait until every region holds them all. ns/op
// is the inverse of the throughput (writes/s = 1e9 / ns/op).
func BenchmarkWritesThroughOneNode(b *testing.B) {
	rs, ts := startRegions(b)
	b.ResetTimer()
	for i := range b.N {
		e := fmt.Sprint("item-", i)
		update(ts[0], func(w vclock.ReplicaID, c cart) cart { return c.Add(w, e) })
	}
	waitEqual(b, time.Minute, 1+b.N, rs...)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// waitHold polls, every 10 µs, until every replica of rs holds e.
func waitHold(rs []*merge.Replica[cart], e string) {
	for _, r := range rs {
		for {
			var ok bool
			r.Read(func(c cart) { ok = c.Contains(e) })
			if ok {
				break
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
}
