package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleEWFlag() {
	var us, eu crdt.EWFlag
	eu.Merge(us.Enable("us-east"))
	// US re-enables while EU, concurrently, disables: enable wins.
	enable, disable := us.Enable("us-east"), eu.Disable("eu-west")
	us.Merge(disable)
	eu.Merge(enable)
	fmt.Println(us.Value(), eu.Value())
	// Output:
	// true true
}
