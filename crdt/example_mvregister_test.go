package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

// Two regions update a profile's display name at once: both values are
// kept until someone writes having seen them.
func ExampleMVRegister() {
	var us, eu crdt.MVRegister[string]
	eu.Merge(us.Set("us-east", "Ada"))

	a, b := us.Set("us-east", "Ada L."), eu.Set("eu-west", "Ada Lovelace")
	us.Merge(b)
	eu.Merge(a)
	fmt.Println(us.Values(), eu.Values())

	us.Merge(us.Set("us-east", "Ada Lovelace")) // resolved by a user who saw both
	eu.Merge(&us)
	fmt.Println(eu.Values())
	// Output:
	// [Ada Lovelace Ada L.] [Ada Lovelace Ada L.]
	// [Ada Lovelace]
}
