package natsync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
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
		for _, r := range rs[1:] {
			for {
				var ok bool
				r.Read(func(c cart) { ok = c.Contains(e) })
				if ok {
					break
				}
				time.Sleep(20 * time.Microsecond)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(published()-before)/float64(b.N), "published-B/op")
}
