package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleGSet() {
	// Two regions record the products a user has ever viewed.
	var us, eu crdt.GSet[string]
	d := us.Add("lamp")
	us.Add("desk")
	eu.Add("chair")
	eu.Add("lamp")

	eu.Merge(d) // a delta merges like a whole state; repeats are harmless
	us.Merge(&eu)
	eu.Merge(&us)

	fmt.Println(us.String(), us.Len(), us.Contains("desk"))
	fmt.Println(us.Equal(&eu))
	for p := range us.All() { // canonical order: by length, then bytes
		fmt.Print(p, " ")
	}
	fmt.Println()
	// Output:
	// {desk lamp chair} 3 true
	// true
	// desk lamp chair
}
