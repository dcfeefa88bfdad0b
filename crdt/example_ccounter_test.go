package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleCCounter() {
	var us, eu crdt.CCounter
	eu.Merge(us.Inc("us-east", 5))
	reset := eu.Reset()          // EU saw 5 and resets
	more := us.Inc("us-east", 2) // US, concurrently
	us.Merge(reset)
	eu.Merge(more)
	fmt.Println(us.Value(), eu.Value())
	// Output:
	// 2 2
}
