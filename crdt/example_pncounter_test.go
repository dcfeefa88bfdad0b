package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExamplePNCounter() {
	var us, eu crdt.PNCounter
	likes := us.Inc("us-east", 10)
	unlikes := eu.Dec("eu-west", 3)
	us.Merge(unlikes)
	eu.Merge(likes)
	fmt.Println(us.Value(), eu.Value())
	// Output:
	// 7 7
}
