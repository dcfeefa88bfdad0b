package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
)

// A cart across regions: item → quantity. EU removes the socks while US,
// unaware, adds two more: the socks stay, with the two EU had not seen.
func ExampleORMap() {
	var us, eu crdt.ORMap[string, *crdt.CCounter]
	eu.Merge(us.Update("socks", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 3) }))
	eu.Merge(us.Update("shoes", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) }))

	more := us.Update("socks", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 2) })
	gone := eu.Remove("socks")
	us.Merge(gone)
	eu.Merge(more)

	fmt.Println(us.String(), us.Equal(&eu))
	// Output:
	// {shoes:1 socks:2} true
}
