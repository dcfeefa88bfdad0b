package crdt_test

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
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

// Page views per page, one PNCounter a key: O(replicas) state a key,
// however many increments. EU removes a page while US, concurrently,
// counts one more view: the page comes back with all of US's views — the
// three EU had seen too — and none of EU's five. A CCounter would keep
// only the one view EU had not seen.
func ExampleORMap_counters() {
	var us, eu crdt.ORMap[string, *crdt.PNCounter]
	view := func(id vclock.ReplicaID, n uint64) func(*crdt.PNCounter) *crdt.PNCounter {
		return func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(id, n) }
	}
	for range 3 {
		eu.Merge(us.Update("home", view("us-east", 1)))
	}
	us.Merge(eu.Update("home", view("eu-west", 5)))
	us.Merge(eu.Update("about", view("eu-west", 1)))
	fmt.Println(us.String())

	more := us.Update("home", view("us-east", 1))
	gone := eu.Remove("home")
	us.Merge(gone)
	eu.Merge(more)

	home, _ := us.Get("home")
	fmt.Println(us.String(), home.Increments().Get("us-east"), home.Increments().Get("eu-west"), us.Equal(&eu))
	// Output:
	// {home:8 about:1}
	// {home:4 about:1} 4 0 true
}

// A to-do list per user, one List a key. EU clears ada's list, having
// seen "milk" and "eggs", while US, concurrently, adds "bread" between
// them: the list comes back with "bread" alone, in its place. The removed
// elements stay as tombstones, so that "bread" finds its neighbours; a
// key whose list holds only tombstones is absent.
func ExampleORMap_list() {
	var us, eu crdt.ORMap[string, *crdt.List[string]]
	eu.Merge(us.Update("ada", func(l *crdt.List[string]) *crdt.List[string] {
		return l.Append("us-east", "milk", "eggs")
	}))
	eu.Merge(us.Update("bob", func(l *crdt.List[string]) *crdt.List[string] {
		return l.Append("us-east", "rent")
	}))

	gone := eu.Remove("ada")
	fmt.Println(eu.String(), eu.Contains("ada"))
	bread := us.Update("ada", func(l *crdt.List[string]) *crdt.List[string] {
		return l.Insert("us-east", 1, "bread")
	})
	us.Merge(gone)
	eu.Merge(bread)
	fmt.Println(us.String(), us.Equal(&eu))

	// Inserts next to "bread" work as in any list.
	eu.Merge(us.Update("ada", func(l *crdt.List[string]) *crdt.List[string] {
		return l.Append("us-east", "tea")
	}))
	ada, _ := eu.Get("ada")
	fmt.Println(ada, ada.Len())
	// Output:
	// {bob:[rent]} false
	// {ada:[bread] bob:[rent]} true
	// [bread tea] 2
}
