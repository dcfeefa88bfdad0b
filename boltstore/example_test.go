package boltstore_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/converge-go/converge/boltstore"
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// A replica on disk: each Update returns once its delta is on the log,
// and a process that opens the same file later finds every one of them.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "carts.db")
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	add := func(e string) func(vclock.ReplicaID, *crdt.ORSet[string]) *crdt.ORSet[string] {
		return func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) }
	}

	store, err := boltstore.Open(path)
	if err != nil {
		panic(err)
	}
	r, err := merge.Open("us-east", newSet, store)
	if err != nil {
		panic(err)
	}
	r.Update(add("hat"))
	r.Update(add("scarf"))
	r.Compact() // in the background, from time to time
	r.Update(add("gloves"))
	r.Close() // closes the store too

	store, err = boltstore.Open(path) // the next process
	if err != nil {
		panic(err)
	}
	r, err = merge.Open("us-east", newSet, store)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	fmt.Println(r.State(), store.Recovered())
	// Output: {hat scarf gloves} {0 0}
}
