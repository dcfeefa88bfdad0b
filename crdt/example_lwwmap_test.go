package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
)

func ExampleLWWMap() {
	var us, eu crdt.LWWMap[string, string]
	eu.Merge(us.Set("us-east", "theme", "dark", hlc.MakeTimestamp(1000, 0)))
	// Concurrent: EU changes the theme later by its clock, US deletes it.
	change := eu.Set("eu-west", "theme", "light", hlc.MakeTimestamp(1005, 0))
	del := us.Delete("us-east", "theme", hlc.MakeTimestamp(1003, 0))
	us.Merge(change)
	eu.Merge(del)
	v, ok := us.Get("theme")
	fmt.Println(v, ok, us.Equal(&eu))
	// Output:
	// light true true
}
