package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleTwoPSet() {
	// Active session tokens: a revoked token must never come back.
	var us, eu crdt.TwoPSet[string]
	us.Add("tok-1")
	us.Add("tok-2")
	eu.Merge(&us)

	revoke := eu.Remove("tok-1") // revoked in Europe...
	us.Add("tok-1")              // ...while the US, not knowing, adds it again
	us.Merge(revoke)
	eu.Merge(&us)

	fmt.Println(us.String(), eu.String())
	fmt.Println(us.Contains("tok-1"), us.Len())

	us.Add("tok-1") // no effect, ever
	fmt.Println(us.Contains("tok-1"))
	// Output:
	// {tok-2} {tok-2}
	// false 1
	// false
}
