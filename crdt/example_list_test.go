package crdt_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/converge-go/converge/crdt"
)

func ExampleList() {
	// A shared to-do list: us-east writes it, eu-west receives the delta.
	var us, eu crdt.List[string]
	eu.Merge(us.Append("us-east", "buy milk", "call bob"))

	// Concurrently: us-east inserts at the top, eu-west deletes "call bob"
	// and appends two items after it.
	d1 := us.Insert("us-east", 0, "pay rent")
	bob, _ := eu.PositionAt(1)
	d2 := eu.Delete(1)
	d3 := eu.Append("eu-west", "book flights", "pack")

	// Deltas merge in any order.
	us.Merge(d3)
	us.Merge(d2)
	eu.Merge(d1)
	fmt.Println(strings.Join(slices.Collect(us.Values()), "; "))
	fmt.Println(us.Equal(&eu))

	// A Position outlives its element's index: "call bob" is gone, and a
	// cursor there belongs before "book flights".
	i, ok := us.IndexOf(bob)
	fmt.Println(i, ok)
	// Output:
	// pay rent; buy milk; book flights; pack
	// true
	// 2 false
}
