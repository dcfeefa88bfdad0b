package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

// A shopping cart edited in two regions at once. EU removes the socks it
// saw while US adds them again, unaware: the add wins, because the remove
// only takes away what it observed.
func ExampleORSet() {
	var us, eu crdt.ORSet[string]
	eu.Merge(us.Add("us-east", "socks"))
	eu.Merge(us.Add("us-east", "shoes"))

	readd := us.Add("us-east", "socks") // US, before hearing from EU
	remove := eu.Remove("socks")        // EU, concurrently
	eu.Merge(readd)
	us.Merge(remove)

	fmt.Println(us.String(), eu.String(), us.Equal(&eu))
	// Output:
	// {shoes socks} {shoes socks} true
}

// Deltas are small: an add ships the element, its dot and the dots it
// replaced, never the whole set.
func ExampleORSet_Add() {
	var cart crdt.ORSet[string]
	for _, item := range []string{"socks", "shoes", "hat", "scarf"} {
		cart.Add("us-east", item)
	}
	delta := cart.Add("us-east", "gloves")
	b, _ := delta.MarshalBinary()
	fmt.Println(delta, delta.IsDelta(), len(b), "bytes")

	var replica crdt.ORSet[string]
	replica.Merge(delta)
	fmt.Println(replica.Contains("gloves"), replica.Len())
	// Output:
	// {gloves} true 29 bytes
	// true 1
}
