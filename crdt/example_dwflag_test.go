package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleDWFlag() {
	var us, eu crdt.DWFlag
	eu.Merge(us.Enable("us-east"))
	// The same race as above, disable-wins: a kill switch stays off.
	enable, disable := us.Enable("us-east"), eu.Disable("eu-west")
	us.Merge(disable)
	eu.Merge(enable)
	fmt.Println(us.Value(), eu.Value())
	// Output:
	// false false
}
