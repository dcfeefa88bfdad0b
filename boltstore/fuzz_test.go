package boltstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/converge-go/converge/boltstore"
)

// FuzzOpen: whatever the log holds, Open never panics and either refuses
// it (ErrCorrupt, or a newer format) or recovers a store that Load reads
// and that takes appends and keeps them across a reopen.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	s, err := boltstore.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 4 {
		if err := s.Append(records(i, i+1), 1); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	db, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	log, err := os.ReadFile(path + ".log")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(log)
	f.Add(log[:len(log)-5])
	f.Add(log[:8])
	f.Add([]byte{})
	f.Add(append(log[:len(log):len(log)], 1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) { openFuzzed(t, db, data) })
}

// openFuzzed is FuzzOpen's body: the database db, the log data.
func openFuzzed(t *testing.T, db, data []byte) {
	path := filepath.Join(t.TempDir(), "fuzz.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".log", data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(path)
	if err != nil {
		if !errors.Is(err, boltstore.ErrCorrupt) && !errors.Is(err, boltstore.ErrNewerFormat) {
			t.Fatalf("Open refused a log with an untyped error: %v", err)
		}
		return
	}
	st, err := s.Load()
	if err != nil {
		t.Fatalf("Load after a clean Open: %v", err)
	}
	if r := s.Recovered(); r.Bytes < 0 || (r.Bytes > 0) != (r.Records > 0) {
		t.Fatalf("Recovered = %+v", r)
	}
	if err := s.Append([][]byte{[]byte("next")}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	again, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Records) != len(st.Records)+1 || string(again.Records[len(st.Records)]) != "next" || again.Next != st.Next+1 {
		t.Fatalf("after an append and a reopen: %d records, next %d; before: %d, next %d", len(again.Records), again.Next, len(st.Records), st.Next)
	}
	if r := s.Recovered(); r != (boltstore.Recovery{}) {
		t.Fatalf("a reopened store recovered %+v", r)
	}
}
