package crdt_test

import (
	"fmt"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
)

func ExampleLWWRegister() {
	// True time, in Unix nanoseconds, advanced by hand. The US region's
	// physical clock runs 300 ms fast; the EU region's is exact.
	now := time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC).UnixNano()
	usClock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now + int64(300*time.Millisecond) }))
	euClock := hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))

	// The US writes a user's theme and replicates the write with its clock
	// reading.
	var us, eu crdt.LWWRegister[string]
	d := us.Set("us-east", "light", usClock.Now())
	sent := usClock.Now()

	// 100 ms later Europe receives it, and then the user, now in Europe,
	// changes the theme. Europe's physical clock reads 200 ms before the
	// US write's timestamp: by wall clocks the later write would lose.
	now += int64(100 * time.Millisecond)
	if _, err := euClock.Update(sent); err != nil {
		fmt.Println(err)
		return
	}
	eu.Merge(d)
	eu.Set("eu-west", "dark", euClock.Now())

	us.Merge(&eu)
	v, _ := us.Get()
	fmt.Println(d)
	fmt.Println(&us)
	fmt.Println(v, us.Replica(), us.Timestamp() > d.Timestamp())
	// Output:
	// light (us-east at 2026-11-25T17:00:00.300Z/0)
	// dark (eu-west at 2026-11-25T17:00:00.300Z/3)
	// dark eu-west true
}
