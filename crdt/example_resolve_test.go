package crdt_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
)

// Two regions raise a team's seat limit at once. The application's rule
// is that the larger limit wins, whatever the clocks say: a Resolver
// that is an application function.
func ExampleResolver() {
	var us, eu crdt.MVRegister[int]
	us.Set("us-east", 10)
	eu.Merge(&us)
	us.Set("us-east", 25) // concurrent with the write below
	eu.Set("eu-west", 40)
	us.Merge(&eu)
	eu.Merge(&us)

	var larger crdt.Resolver[int] = func(siblings []int) int {
		best := siblings[0]
		for _, v := range siblings[1:] {
			best = max(best, v)
		}
		return best
	}
	fmt.Println("siblings:", us.Values())
	v, _ := us.Resolve(larger)
	w, _ := eu.Resolve(larger)
	fmt.Println("us-east reads", v, "and eu-west reads", w)
	// Output:
	// siblings: [40 25]
	// us-east reads 40 and eu-west reads 40
}

// Keep-all leaves the conflict to the user: both concurrent edits of a
// shipping address are shown, and the one the user picks replaces them.
func ExampleMVRegister_Siblings() {
	var us, eu crdt.MVRegister[string]
	us.Set("us-east", "1 Main St, Springfield")
	eu.Set("eu-west", "1 Main Street, Springfield")
	us.Merge(&eu)

	siblings, conflict := us.Siblings()
	if conflict {
		fmt.Println("which address?", strings.Join(siblings, " | "))
	}
	delta := us.Set("us-east", siblings[1]) // the user's choice
	eu.Merge(delta)
	siblings, conflict = eu.Siblings()
	fmt.Println(conflict, siblings)
	// Output:
	// which address? 1 Main Street, Springfield | 1 Main St, Springfield
	// false [1 Main St, Springfield]
}

// An LWWRegister loses one of two concurrent writes when it merges.
// Stamped and LastWriterWins tell beforehand which one, so that it can be
// logged, or counted as a lost write.
func ExampleLWWRegister_Stamped() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	usClock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now + int64(40*time.Millisecond) })) // runs fast
	euClock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))

	var us, eu crdt.LWWRegister[string]
	us.Set("us-east", "Ada", usClock.Now())
	now += int64(20 * time.Millisecond) // eu-west writes 20 ms later, by true time
	eu.Set("eu-west", "Ada Lovelace", euClock.Now())

	a, _ := us.Stamped()
	b, _ := eu.Stamped()
	winner := crdt.LastWriterWins([]crdt.Stamped[string]{a, b})
	lost := a
	if winner == a {
		lost = b
	}
	us.Merge(&eu)
	v, _ := us.Get()
	fmt.Println("kept:", v)
	fmt.Println("lost:", lost)
	// Output:
	// kept: Ada
	// lost: Ada Lovelace (eu-west at 2026-11-25T12:00:00.020Z/0)
}
