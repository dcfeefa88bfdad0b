package vclock_test

import (
	"fmt"

	"github.com/converge-go/converge/vclock"
)

// Two regions write concurrently; their clocks say so, and merging them
// gives a clock that has seen both.
func ExampleClock() {
	var us, eu vclock.Clock
	us.Tick("us-east")
	eu.Tick("eu-west")
	fmt.Println(us.Compare(&eu))

	eu.Merge(&us)
	eu.Tick("eu-west")
	fmt.Println(&eu, us.Compare(&eu))
	// Output:
	// Concurrent
	// {eu-west:2 us-east:1} Before
}

func ExampleClock_Compare() {
	a := vclock.FromMap(map[vclock.ReplicaID]uint64{"a": 1, "b": 0})
	b := vclock.FromMap(map[vclock.ReplicaID]uint64{"a": 1})
	fmt.Println(a.Compare(b)) // an explicit zero is the same as a missing entry
	b.Tick("b")
	fmt.Println(a.Compare(b), b.Compare(a), b.Descends(a))
	// Output:
	// Equal
	// Before After true
}

func ExampleClock_All() {
	c := vclock.FromMap(map[vclock.ReplicaID]uint64{"us-west": 2, "ap-south": 7, "eu-west": 1})
	for id, n := range c.All() {
		fmt.Println(id, n)
	}
	// Output:
	// ap-south 7
	// eu-west 1
	// us-west 2
}

func ExampleClock_MarshalBinary() {
	c := vclock.FromMap(map[vclock.ReplicaID]uint64{"b": 300, "a": 1})
	b, _ := c.MarshalBinary()
	fmt.Printf("%x\n", b)

	var back vclock.Clock
	if err := back.UnmarshalBinary(b); err != nil {
		panic(err)
	}
	fmt.Println(&back)
	// Output:
	// 93010282a16101a162cd012c
	// {a:1 b:300}
}

func ExampleDot() {
	d := vclock.Dot{Replica: "eu-west", Counter: 3}
	fmt.Println(d, d.Compare(vclock.Dot{Replica: "eu-west", Counter: 4}))
	// Output:
	// eu-west:3 -1
}

// A replica names its writes with Next; a context that receives dots out of
// order keeps the gap in its cloud until the missing dot arrives.
func ExampleContext() {
	var local vclock.Context
	d1 := local.Next("us-east")
	d2 := local.Next("us-east")
	fmt.Println(d1, d2, &local)

	var remote vclock.Context
	remote.Add(d2) // delivered before d1
	fmt.Println(&remote, remote.Contains(d1))
	remote.Add(d1)
	fmt.Println(&remote, remote.Contains(d1))
	// Output:
	// us-east:1 us-east:2 {us-east:2}
	// {} + [us-east:2] false
	// {us-east:2} true
}

func ExampleContext_Merge() {
	var a, b vclock.Context
	a.Add(vclock.Dot{Replica: "x", Counter: 1})
	a.Add(vclock.Dot{Replica: "x", Counter: 3})
	b.Add(vclock.Dot{Replica: "x", Counter: 2})
	a.Merge(&b) // fills the gap: the cloud folds into the version vector
	fmt.Println(&a)
	// Output:
	// {x:3}
}

func ExampleContextOf() {
	c := vclock.ContextOf(vclock.FromMap(map[vclock.ReplicaID]uint64{"us-east": 3}))
	fmt.Println(c.Contains(vclock.Dot{Replica: "us-east", Counter: 3}), c.Contains(vclock.Dot{Replica: "us-east", Counter: 4}))
	// Output:
	// true false
}

func ExampleOrder() {
	a := vclock.FromMap(map[vclock.ReplicaID]uint64{"us": 2, "eu": 1})
	b := vclock.FromMap(map[vclock.ReplicaID]uint64{"us": 1, "eu": 2})
	switch a.Compare(b) {
	case vclock.Concurrent:
		fmt.Println("concurrent writes: keep both or pick one deterministically")
	case vclock.Before, vclock.After, vclock.Equal:
		fmt.Println("ordered")
	}
	// Output:
	// concurrent writes: keep both or pick one deterministically
}
