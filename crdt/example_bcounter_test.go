package crdt_test

import (
	"errors"
	"fmt"

	"github.com/converge-go/converge/crdt"
)

func ExampleBCounter() {
	// 10 units of stock arrive in us-east; eu-west asks for some.
	var us, eu crdt.BCounter
	eu.Merge(us.Inc("us-east", 10))
	us.Merge(eu.Request("eu-west", 4))

	// us-east grants the request, keeping at least 5 for itself.
	grant, granted := us.Grant("us-east", 5)
	eu.Merge(grant)
	fmt.Println("granted", granted, "us-east holds", us.Rights("us-east"), "eu-west holds", eu.Rights("eu-west"))

	// Both sell at once, each from its own rights, with no round trip.
	sale, _ := eu.Dec("eu-west", 4)
	_, err := eu.Dec("eu-west", 1)
	fmt.Println(errors.Is(err, crdt.ErrInsufficientRights))
	local, _ := us.Dec("us-east", 6)

	us.Merge(sale)
	eu.Merge(local)
	fmt.Println(us.Value(), eu.Value())
	// Output:
	// granted 4 us-east holds 6 eu-west holds 4
	// true
	// 0 0
}
