package boltstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/converge-go/converge/boltstore"
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

func open(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func records(from, to int) [][]byte {
	var rs [][]byte
	for i := from; i < to; i++ {
		rs = append(rs, fmt.Appendf(nil, "record %d", i))
	}
	return rs
}

func requireStored(t *testing.T, s *boltstore.Store, snapshot string, recs [][]byte, next uint64, floor hlc.Timestamp) {
	t.Helper()
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(st.Snapshot) != snapshot || !slices.EqualFunc(st.Records, recs, func(a, b []byte) bool { return string(a) == string(b) }) || st.Next != next || st.Floor != floor {
		t.Fatalf("Load = snapshot %q, %d records %q, next %d, floor %d; want %q, %q, %d, %d", st.Snapshot, len(st.Records), st.Records, st.Next, st.Floor, snapshot, recs, next, floor)
	}
}

func TestAppendLoadCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	s := open(t, path)
	requireStored(t, s, "", nil, 0, 0)
	if err := s.Append(records(0, 3), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(records(3, 5), 9); err != nil {
		t.Fatal(err)
	}
	requireStored(t, s, "", records(0, 5), 5, 9)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, merge.ErrClosed) {
		t.Fatalf("Load after Close: %v, want ErrClosed", err)
	}

	s = open(t, path)
	requireStored(t, s, "", records(0, 5), 5, 9)
	if err := s.Compact([]byte("state of 0 to 3"), 3); err != nil {
		t.Fatal(err)
	}
	requireStored(t, s, "state of 0 to 3", records(3, 5), 5, 9)
	if err := s.Append(records(5, 6), 11); err != nil {
		t.Fatal(err)
	}
	for _, through := range []uint64{2, 7} {
		if err := s.Compact([]byte("x"), through); !errors.Is(err, merge.ErrCompactRange) {
			t.Fatalf("Compact through %d: %v, want ErrCompactRange", through, err)
		}
	}
	requireStored(t, s, "state of 0 to 3", records(3, 6), 6, 11)
	s.Close()

	s = open(t, path)
	requireStored(t, s, "state of 0 to 3", records(3, 6), 6, 11)
	if err := s.Compact([]byte("all"), 6); err != nil {
		t.Fatal(err)
	}
	requireStored(t, s, "all", nil, 6, 11)
	s.Close()
	if fi, err := os.Stat(path + ".log"); err != nil || fi.Size() != 8 {
		t.Fatalf("the log after compacting everything: %v, %v; want its 8-byte header alone", fi.Size(), err)
	}
	s = open(t, path)
	defer s.Close()
	requireStored(t, s, "all", nil, 6, 11)
	if r := s.Recovered(); r != (boltstore.Recovery{}) {
		t.Fatalf("a clean store reports %+v recovered", r)
	}
}

// damage writes five records, closes the store, lets f change the log,
// and opens the store again.
func damage(t *testing.T, f func(log []byte) []byte) *boltstore.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replica.db")
	s := open(t, path)
	for i := range 5 {
		if err := s.Append(records(i, i+1), hlc.Timestamp(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	b, err := os.ReadFile(path + ".log")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".log", f(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return open(t, path)
}

// Each record of records(i, i+1) makes a frame of 24+8 bytes, after the
// log's 8-byte header.
const frameSize = 24 + 8

func TestTornTailIsTruncated(t *testing.T) {
	for name, tc := range map[string]struct {
		f    func([]byte) []byte
		keep int
		want boltstore.Recovery
	}{
		"cut in the last record":  {func(b []byte) []byte { return b[:len(b)-3] }, 4, boltstore.Recovery{Records: 1, Bytes: frameSize - 3}},
		"cut in the last header":  {func(b []byte) []byte { return b[:len(b)-frameSize+5] }, 4, boltstore.Recovery{Records: 1, Bytes: 5}},
		"last record flipped":     {func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, 4, boltstore.Recovery{Records: 1, Bytes: frameSize}},
		"third record flipped":    {func(b []byte) []byte { b[8+2*frameSize+30] ^= 1; return b }, 2, boltstore.Recovery{Records: 3, Bytes: 3 * frameSize}},
		"garbage after the last":  {func(b []byte) []byte { return append(b, 0, 1, 0) }, 5, boltstore.Recovery{Records: 1, Bytes: 3}},
		"zeros after the last":    {func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, 5, boltstore.Recovery{}},
		"a frame out of sequence": {func(b []byte) []byte { return append(b, b[8:8+frameSize]...) }, 5, boltstore.Recovery{Records: 1, Bytes: frameSize}},
	} {
		t.Run(name, func(t *testing.T) {
			s := damage(t, tc.f)
			defer s.Close()
			if got := s.Recovered(); got != tc.want {
				t.Fatalf("Recovered = %+v, want %+v", got, tc.want)
			}
			requireStored(t, s, "", records(0, tc.keep), uint64(tc.keep), hlc.Timestamp(tc.keep-1))
			// The store goes on from the cut.
			if err := s.Append(records(tc.keep, tc.keep+1), 20); err != nil {
				t.Fatal(err)
			}
			requireStored(t, s, "", records(0, tc.keep+1), uint64(tc.keep+1), 20)
		})
	}
}

func TestRefusesDamageBeforeTheTail(t *testing.T) {
	for name, f := range map[string]func(db *bolt.DB, path string) error{
		"newer database": func(db *bolt.DB, _ string) error {
			return db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("converge")).Put([]byte("format"), u64(2)) })
		},
		"newer log": func(_ *bolt.DB, path string) error {
			return os.WriteFile(path+".log", []byte("cvgwal\x00\x02"), 0o600)
		},
		"not a log": func(_ *bolt.DB, path string) error {
			return os.WriteFile(path+".log", []byte("something else"), 0o600)
		},
		"meta data": func(db *bolt.DB, _ string) error {
			return db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("converge")).Put([]byte("through"), []byte{1}) })
		},
		"log after the snapshot": func(db *bolt.DB, _ string) error {
			return db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("converge")).Put([]byte("through"), u64(0)) })
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "replica.db")
			s := open(t, path)
			if err := s.Append(records(0, 3), 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Compact([]byte("state"), 2); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			ferr := f(db, path)
			db.Close()
			if ferr != nil {
				t.Fatal(ferr)
			}
			_, err = boltstore.Open(path)
			switch name {
			case "newer database", "newer log":
				var fe *boltstore.FormatError
				if !errors.Is(err, boltstore.ErrNewerFormat) || !errors.As(err, &fe) || fe.Found != 2 || fe.Supported != boltstore.Version {
					t.Fatalf("Open: %v, want a FormatError of version 2", err)
				}
			default:
				if !errors.Is(err, boltstore.ErrCorrupt) {
					t.Fatalf("Open: %v, want ErrCorrupt", err)
				}
			}
		})
	}
}

func TestSnapshotChecksum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	s := open(t, path)
	if err := s.Compact([]byte("state"), 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("converge"))
		v := slices.Clone(b.Get([]byte("snapshot")))
		v[len(v)-1] ^= 1
		return b.Put([]byte("snapshot"), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if _, err := s.Load(); !errors.Is(err, boltstore.ErrCorrupt) {
		t.Fatalf("Load of a damaged snapshot: %v, want ErrCorrupt", err)
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	s := open(t, path)
	defer s.Close()
	if _, err := boltstore.Open(path); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("a second Open: %v, want ErrLocked", err)
	}
}

// TestRotationCrash: a rewrite of the log that crashed before its rename
// leaves a new log beside the old one; Open removes it, and the old log
// is whole.
func TestRotationCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	s := open(t, path)
	if err := s.Append(records(0, 3), 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(path+".log.tmp", []byte("cvgwal\x00\x01partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	requireStored(t, s, "", records(0, 3), 3, 1)
	if _, err := os.Stat(path + ".log.tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the partial log is still there: %v", err)
	}
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

// TestKeyspaceOnBolt runs a durable keyspace on a bbolt file: what its
// Updates returned for is there after a restart, before and after a
// compaction.
func TestKeyspaceOnBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carts.db")
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	openKS := func() *merge.Keyspace[string, *crdt.ORSet[string]] {
		ks, err := merge.OpenKeyspace[string]("us-east", newSet, open(t, path))
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	put := func(ks *merge.Keyspace[string, *crdt.ORSet[string]], from, to int) {
		for i := from; i < to; i++ {
			err := ks.Update(fmt.Sprint("cart-", i%50), func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
				return s.Add(w, fmt.Sprint("item-", i))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	ks := openKS()
	put(ks, 0, 300)
	if err := ks.Compact(); err != nil {
		t.Fatal(err)
	}
	put(ks, 300, 400)
	ks.Close()
	ks = openKS()
	defer ks.Close()
	items := 0
	for _, s := range ks.All() {
		items += s.Len()
	}
	if ks.Len() != 50 || items != 400 {
		t.Fatalf("reopened: %d keys, %d items; want 50 and 400", ks.Len(), items)
	}
}
