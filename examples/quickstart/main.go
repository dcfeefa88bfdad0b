// Command quickstart shows converge in one page: three regions edit one
// shopping cart and one like counter at the same time, with skewed clocks
// and messages delivered out of order, and end with the same state.
//
//	go run ./examples/quickstart
package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// A region holds its own replica of every value and its own clock.
type region struct {
	id    vclock.ReplicaID
	clock *hlc.Clock
	cart  crdt.ORSet[string]
	likes crdt.PNCounter
	name  crdt.LWWRegister[string]
}

// A message carries one delta, encoded as it would travel between regions.
type message struct {
	to   int
	kind string
	data []byte
	ts   hlc.Timestamp
}

func main() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	skews := []time.Duration{0, 50 * time.Millisecond, -30 * time.Millisecond} // EU runs 50 ms ahead
	var regions []*region
	for i, id := range []vclock.ReplicaID{"us-east", "eu-west", "ap-south"} {
		skew := int64(skews[i])
		regions = append(regions, &region{id: id, clock: hlc.New(hlc.WithPhysicalClock(func() int64 { return now + skew }))})
	}

	var inflight []message
	send := func(from int, kind string, delta interface{ MarshalBinary() ([]byte, error) }) {
		b, err := delta.MarshalBinary()
		if err != nil {
			panic(err)
		}
		for to := range regions {
			if to != from {
				inflight = append(inflight, message{to, kind, b, regions[from].clock.Now()})
			}
		}
	}

	// Everyone edits at once.
	us, eu, ap := 0, 1, 2
	send(us, "cart", regions[us].cart.Add(regions[us].id, "socks"))
	send(eu, "cart", regions[eu].cart.Add(regions[eu].id, "scarf"))
	send(ap, "cart", regions[ap].cart.Add(regions[ap].id, "socks"))
	for i, r := range regions {
		send(i, "likes", r.likes.Inc(r.id, uint64(10*(i+1))))
	}
	send(eu, "likes", regions[eu].likes.Dec(regions[eu].id, 5))
	now += int64(10 * time.Millisecond)
	send(us, "name", regions[us].name.Set(regions[us].id, "Ada", regions[us].clock.Now()))

	// Deliver in a random order; each receiver advances its hybrid clock.
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(inflight), func(i, j int) { inflight[i], inflight[j] = inflight[j], inflight[i] })
	for _, m := range inflight {
		r := regions[m.to]
		if _, err := r.clock.Update(m.ts); err != nil {
			panic(err)
		}
		switch m.kind {
		case "cart":
			var d crdt.ORSet[string]
			must(d.UnmarshalBinary(m.data))
			r.cart.Merge(&d)
		case "likes":
			var d crdt.PNCounter
			must(d.UnmarshalBinary(m.data))
			r.likes.Merge(&d)
		case "name":
			var d crdt.LWWRegister[string]
			must(d.UnmarshalBinary(m.data))
			r.name.Merge(&d)
		}
	}

	// EU saw Ada's name and renames her 1 ms later by true time. Its clock
	// is 50 ms ahead, yet the hybrid clock orders the rename after the
	// write it saw, and so would a reader in any region.
	now += int64(time.Millisecond)
	rename := regions[eu].name.Set(regions[eu].id, "Ada Lovelace", regions[eu].clock.Now())
	regions[us].name.Merge(rename)
	regions[ap].name.Merge(rename)

	for _, r := range regions {
		name, _ := r.name.Get()
		fmt.Printf("%-9s cart=%v likes=%d name=%q\n", r.id, r.cart.String(), r.likes.Value(), name)
	}
	same := regions[us].cart.Equal(&regions[eu].cart) && regions[eu].cart.Equal(&regions[ap].cart) &&
		regions[us].likes.Equal(&regions[eu].likes) && regions[eu].likes.Equal(&regions[ap].likes)
	fmt.Println("converged:", same)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
