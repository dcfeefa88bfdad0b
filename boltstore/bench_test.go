package boltstore_test

import (
	"encoding/binary"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/converge-go/converge/boltstore"
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// oneByOne is a Store that syncs each record on its own: what Update
// costs without group commit.
type oneByOne struct{ *boltstore.Store }

func (s oneByOne) Append(records [][]byte, floor hlc.Timestamp) error {
	for _, r := range records {
		if err := s.Store.Append([][]byte{r}, floor); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkDurableUpdate: 8 goroutines increment a PNCounter through
// merge.Open and a boltstore, each Update returning once durable. It
// reports durable updates per second and the 99th percentile latency of
// one Update, with group commit and with one fsync per record.
func BenchmarkDurableUpdate(b *testing.B) {
	const writers = 8
	for _, tc := range []struct {
		name string
		wrap func(*boltstore.Store) merge.Store
	}{
		{"group-commit", func(s *boltstore.Store) merge.Store { return s }},
		{"fsync-per-update", func(s *boltstore.Store) merge.Store { return oneByOne{s} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			r, err := merge.Open("us-east", func() *crdt.PNCounter { return new(crdt.PNCounter) }, tc.wrap(s))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			inc := func(w vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(w, 1) }
			lat := make([][]time.Duration, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for g := range writers {
				n := b.N / writers
				if g < b.N%writers {
					n++
				}
				lat[g] = make([]time.Duration, 0, n)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						t := time.Now()
						if err := r.Update(inc); err != nil {
							b.Error(err)
							return
						}
						lat[g] = append(lat[g], time.Since(t))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
			if v := r.State().Value(); v != int64(b.N) {
				b.Fatalf("counter at %d after %d updates", v, b.N)
			}
		})
	}
}

// BenchmarkBatch: what one batch of 8 records of 64 bytes costs to make
// durable, appended to the log (one fdatasync) and, for comparison, put
// in a bbolt transaction (two fsyncs and B+tree pages) — the reason the
// records go to a log of their own.
func BenchmarkBatch(b *testing.B) {
	batch := make([][]byte, 8)
	for i := range batch {
		batch[i] = make([]byte, 64)
	}
	b.Run("log", func(b *testing.B) {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			if err := s.Append(batch, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bbolt", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		var seq uint64
		for b.Loop() {
			err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("log"))
				if err != nil {
					return err
				}
				for _, r := range batch {
					seq++
					if err := bk.Put(binary.BigEndian.AppendUint64(nil, seq), r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
