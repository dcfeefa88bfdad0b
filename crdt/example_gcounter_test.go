package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleGCounter() {
	var us, eu crdt.GCounter
	eu.Merge(us.Inc("us-east", 3))
	us.Merge(eu.Inc("eu-west", 2))
	fmt.Println(us.Value(), eu.Value(), us.Equal(&eu))
	// Output:
	// 5 5 true
}
