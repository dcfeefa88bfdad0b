package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleRWSet() {
	var us, eu crdt.RWSet[string]
	eu.Merge(us.Add("us-east", "alice"))

	// US re-adds alice while EU, concurrently, bans her: the ban wins.
	add := us.Add("us-east", "alice")
	ban := eu.Remove("eu-west", "alice")
	us.Merge(ban)
	eu.Merge(add)
	fmt.Println(us.Contains("alice"), eu.Contains("alice"))
	// Output:
	// false false
}
