package merge_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// mesh makes a full mesh of replicas whose clocks read *now. Their
// incarnation numbers come from a seeded source, so that the writer IDs,
// and the outputs below, are the same on every run.
func mesh[T crdt.State[T]](now *int64, newState func() T, ids ...vclock.ReplicaID) map[vclock.ReplicaID]*merge.Replica[T] {
	reps := map[vclock.ReplicaID]*merge.Replica[T]{}
	for i, id := range ids {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return *now }))
		reps[id] = merge.New(id, newState, merge.WithClock(clock), merge.WithRandom(seeded(uint64(i))))
		for _, p := range ids {
			if p != id {
				if err := reps[id].AddPeer(p); err != nil {
					panic(err)
				}
			}
		}
	}
	return reps
}

// exchange is a transport: it hands from's message to to, and to's reply
// back to from. A real one moves the bytes over the network.
func exchange[T crdt.State[T]](from, to *merge.Replica[T], msg []byte) {
	for msg != nil {
		reply, err := to.Receive(msg)
		if err != nil {
			panic(err)
		}
		from, to, msg = to, from, reply
	}
}

func ExampleReplica() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	ids := []vclock.ReplicaID{"us-east", "eu-west", "ap-south"}
	reps := mesh(&now, func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }, ids...)

	// Three regions add to one cart at the same time, and one removes
	// what it added.
	add := func(id vclock.ReplicaID, item string) {
		reps[id].Update(func(w vclock.ReplicaID, cart *crdt.ORSet[string]) *crdt.ORSet[string] { return cart.Add(w, item) })
	}
	add("us-east", "socks")
	add("eu-west", "scarf")
	add("ap-south", "tea")
	add("ap-south", "mug")
	reps["ap-south"].Update(func(_ vclock.ReplicaID, cart *crdt.ORSet[string]) *crdt.ORSet[string] { return cart.Remove("tea") })

	// Each region sends each other region its deltas: one message
	// carrying the join of those not yet sent, acknowledged in reply.
	now += int64(80 * time.Millisecond)
	for _, from := range ids {
		for _, to := range ids {
			if from != to {
				msg, err := reps[from].Sync(to)
				if err != nil {
					panic(err)
				}
				exchange(reps[from], reps[to], msg)
			}
		}
	}
	for _, id := range ids {
		fmt.Println(id, reps[id].State())
	}
	for _, l := range reps["ap-south"].Lag() {
		fmt.Printf("ap-south → %s: acked %d, unacked %d\n", l.Peer, l.Acked, l.Unacked)
	}
	fmt.Println("buffered:", reps["ap-south"].Stats().Buffered)
	// Output:
	// us-east {mug scarf socks}
	// eu-west {mug scarf socks}
	// ap-south {mug scarf socks}
	// ap-south → eu-west: acked 3, unacked 0
	// ap-south → us-east: acked 3, unacked 0
	// buffered: 0
}

func ExampleReplica_Lag() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	reps := mesh(&now, func() *crdt.PNCounter { return new(crdt.PNCounter) }, "us-east", "eu-west")
	us, eu := reps["us-east"], reps["eu-west"]

	// us-east counts likes, once a second, while its link to eu-west is
	// down: every message it sends is lost.
	for i := 0; i < 5; i++ {
		us.Update(func(w vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(w, 1) })
		us.Sync("eu-west")
		now += int64(time.Second)
	}
	l := us.Lag()[0]
	fmt.Printf("%s: %d unacked, the oldest %v old; %d messages sent\n", l.Peer, l.Unacked, l.OldestUnacked, l.MessagesSent)

	// The link is back, and eu-west is heard from: us-east stops backing
	// off, and its next Sync sends everything unacknowledged.
	msg, _ := eu.SyncDigest("us-east")
	exchange(eu, us, msg)
	msg, _ = us.Sync("eu-west")
	exchange(us, eu, msg)
	l = us.Lag()[0]
	fmt.Printf("%s: %d unacked; it counts %d\n", l.Peer, l.Unacked, eu.State().Value())
	// Output:
	// eu-west: 5 unacked, the oldest 5s old; 5 messages sent
	// eu-west: 0 unacked; it counts 5
}

func ExampleReplica_SyncDigest() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	newCart := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	reps := mesh(&now, newCart, "us-east", "eu-west")
	us, eu := reps["us-east"], reps["eu-west"]
	for _, item := range []string{"socks", "scarf", "tea"} {
		us.Update(func(w vclock.ReplicaID, cart *crdt.ORSet[string]) *crdt.ORSet[string] { return cart.Add(w, item) })
	}
	msg, _ := us.Sync("eu-west")
	exchange(us, eu, msg)

	// Equal replicas exchange digests and nothing more.
	req, _ := eu.SyncDigest("us-east")
	answer, _ := us.Receive(req)
	last, _ := eu.Receive(answer)
	fmt.Printf("equal: %d-byte digest, %d-byte answer, then nothing: %v\n", len(req), len(answer), last == nil)

	// A second later, eu-west restarts with an empty state, and asks us-east for its
	// state at once rather than wait for retransmissions. (It may write
	// before the answer comes: as a new incarnation it writes under a new
	// writer ID, so its new writes cannot reuse its old ones' event ids.)
	now += int64(time.Second)
	eu = merge.New("eu-west", newCart, merge.WithClock(hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))), merge.WithRandom(seeded(9)))
	eu.AddPeer("us-east")
	req, _ = eu.SyncDigest("us-east")
	answer, _ = us.Receive(req)
	fmt.Printf("after a restart: a %d-byte answer\n", len(answer))
	exchange(us, eu, answer)
	fmt.Println("eu-west:", eu.State())
	// Output:
	// equal: 88-byte digest, 88-byte answer, then nothing: true
	// after a restart: a 110-byte answer
	// eu-west: {tea scarf socks}
}

func ExampleDigestOf() {
	var a, b crdt.GSet[string]
	a.Add("x")
	a.Add("y")
	b.Add("y")
	b.Add("x")
	da, _ := merge.DigestOf(&a)
	db, _ := merge.DigestOf(&b)
	fmt.Println(da == db, len(da.String()))
	b.Add("z")
	db, _ = merge.DigestOf(&b)
	fmt.Println(da == db)
	// Output:
	// true 64
	// false
}

// A user changes the theme in two regions at once, while the regions
// cannot talk: a real conflict. The register keeps both writes; the
// last-writer-wins resolver reads the later by hybrid logical clock, and
// Settle writes the resolution back.
func ExampleReplica_Update() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	type reg = crdt.MVRegister[crdt.Stamped[string]]
	reps := mesh(&now, func() *reg { return new(reg) }, "us-east", "eu-west")
	us, eu := reps["us-east"], reps["eu-west"]

	set := func(r *merge.Replica[*reg], theme string) {
		r.Update(func(w vclock.ReplicaID, m *reg) *reg { return m.Set(w, crdt.Stamp(theme, r.ID(), r.Clock())) })
	}
	set(us, "light")
	now += int64(30 * time.Millisecond)
	set(eu, "dark")
	for _, p := range [][2]*merge.Replica[*reg]{{us, eu}, {eu, us}} {
		msg, _ := p[0].Sync(p[1].ID())
		exchange(p[0], p[1], msg)
	}

	us.Read(func(m *reg) {
		siblings, conflict := m.Siblings()
		fmt.Println("conflict:", conflict, siblings)
		v, _ := m.Resolve(crdt.LastWriterWins[string])
		fmt.Println("reads:", v.Value)
	})
	// us-east settles the conflict; the delta replaces both siblings.
	us.Update(func(w vclock.ReplicaID, m *reg) *reg {
		_, delta, _ := m.Settle(w, crdt.LastWriterWins[string])
		return delta
	})
	msg, _ := us.Sync("eu-west")
	exchange(us, eu, msg)
	eu.Read(func(m *reg) {
		siblings, conflict := m.Siblings()
		fmt.Println("conflict:", conflict, siblings)
	})
	// Output:
	// conflict: true [dark (eu-west at 2026-11-25T12:00:00.030Z/0) light (us-east at 2026-11-25T12:00:00.000Z/0)]
	// reads: dark
	// conflict: false [dark (eu-west at 2026-11-25T12:00:00.030Z/0)]
}

// A message corrupted on the way is refused, and changes nothing.
func ExampleMessageError() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	reps := mesh(&now, func() *crdt.GSet[string] { return new(crdt.GSet[string]) }, "us-east", "eu-west")
	us, eu := reps["us-east"], reps["eu-west"]
	us.Update(func(_ vclock.ReplicaID, s *crdt.GSet[string]) *crdt.GSet[string] { return s.Add("x") })
	msg, _ := us.Sync("eu-west")

	msg[len(msg)/2] ^= 0x10 // one bit flips in transit
	_, err := eu.Receive(msg)
	var me *merge.MessageError
	fmt.Println(errors.As(err, &me), errors.Is(err, merge.ErrMalformed))
	fmt.Println(err)
	fmt.Println("eu-west:", eu.State(), "refused:", eu.Stats().Rejected)
	// Output:
	// true true
	// merge: message refused: malformed input at byte 51: checksum mismatch: the message was corrupted
	// eu-west: {} refused: 1
}

// A replica restarts from its store: Open restores what it wrote and
// what it received, and starts a new incarnation — a new writer — so that
// none of its events is issued twice. Its peer takes it for a restart and
// a digest exchange gives each what the other lacks. (A MemoryStore
// outlives a Replica, not the process; package boltstore keeps one on
// disk.)
func ExampleOpen() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	clock := func() *hlc.Clock { return hlc.New(hlc.WithPhysicalClock(func() int64 { return now })) }
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	eu := merge.New("eu-west", newSet, merge.WithClock(clock()), merge.WithRandom(seeded(1)))
	eu.AddPeer("us-east")

	store := merge.NewMemoryStore()
	us, err := merge.Open("us-east", newSet, store, merge.WithClock(clock()), merge.WithRandom(seeded(2)))
	if err != nil {
		panic(err)
	}
	us.AddPeer("eu-west")
	us.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "hat") })
	msg, _ := us.Sync("eu-west")
	exchange(us, eu, msg)
	// us-east writes once more, and its process stops before it syncs.
	us.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "scarf") })
	before := us.Writer()
	us.Close()

	now += int64(time.Second)
	us, err = merge.Open("us-east", newSet, store, merge.WithClock(clock()), merge.WithRandom(seeded(3)))
	if err != nil {
		panic(err)
	}
	us.AddPeer("eu-west")
	fmt.Println("restored:", us.State())
	fmt.Println("new writer:", us.Writer() != before)
	us.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "gloves") })
	for range 3 {
		now += int64(time.Second)
		msg, _ := us.Sync("eu-west")
		exchange(us, eu, msg)
		msg, _ = eu.Sync("us-east")
		exchange(eu, us, msg)
	}
	fmt.Println("eu-west:", eu.State())
	du, _ := us.Digest()
	de, _ := eu.Digest()
	fmt.Println("equal:", du == de)
	// Output:
	// restored: {hat scarf}
	// new writer: true
	// eu-west: {hat scarf gloves}
	// equal: true
}

// seeded returns a deterministic source of incarnation numbers, for
// examples and tests whose output shows writer IDs or message sizes.
func seeded(seed uint64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return rand.NewChaCha8(key)
}

func ExampleEscrow() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	ids := []vclock.ReplicaID{"us-east", "eu-west"}
	reps := mesh(&now, func() *crdt.BCounter { return new(crdt.BCounter) }, ids...)
	us, eu := reps["us-east"], reps["eu-west"]
	sync := func(from, to *merge.Replica[*crdt.BCounter]) {
		msg, err := from.Sync(to.ID())
		if err != nil {
			panic(err)
		}
		exchange(from, to, msg)
	}

	// 100 units of stock arrive in us-east.
	us.Update(func(w vclock.ReplicaID, stock *crdt.BCounter) *crdt.BCounter { return stock.Inc(w, 100) })
	sync(us, eu)

	// eu-west cannot sell what it does not hold: it asks for 20.
	policy := merge.Escrow{Ask: 20, Keep: 10}
	fmt.Println(policy.Dec(eu, 1) != nil)
	sync(eu, us)

	// us-east grants the request; eu-west then sells locally.
	granted, _ := policy.Grant(us)
	sync(us, eu)
	fmt.Println("granted", granted, "sold", policy.Dec(eu, 1) == nil)
	sync(eu, us)
	fmt.Println(us.State().Value(), eu.State().Value())
	// Output:
	// true
	// granted 20 sold true
	// 99 99
}

// A node restarts three times, each incarnation writing under a writer
// of its own and replacing the version the one before wrote; the hub's
// causal context lists all four writers. Once the hub
// retires the node's earlier incarnations, it lists only the current
// one, and a late message of the first is refused.
func ExampleReplica_Retire() {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC).UnixNano()
	clock := func() *hlc.Clock { return hlc.New(hlc.WithPhysicalClock(func() int64 { return now })) }
	newSet := func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }
	hub := merge.New("hub", newSet, merge.WithClock(clock()), merge.WithRandom(seeded(1)))
	if err := hub.AddPeer("app"); err != nil {
		panic(err)
	}
	store := merge.NewMemoryStore()
	var late []byte
	for i := range 4 {
		now += int64(time.Minute) // a deploy
		app, err := merge.Open("app", newSet, store, merge.WithClock(clock()), merge.WithRandom(seeded(uint64(10+i))))
		if err != nil {
			panic(err)
		}
		if err := app.AddPeer("hub"); err != nil {
			panic(err)
		}
		app.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
			d := s.Remove(fmt.Sprint("v", i)) // the version it replaces
			d.Merge(s.Add(w, fmt.Sprint("v", i+1)))
			return d
		})
		msg, err := app.Sync("hub")
		if err != nil {
			panic(err)
		}
		if i == 0 {
			late = msg
		}
		exchange(app, hub, msg)
	}
	writers := func() int {
		n := 0
		hub.Read(func(s *crdt.ORSet[string]) { n = s.Context().VersionVector().Len() })
		return n
	}
	fmt.Println("writers before:", writers())
	if err := hub.Retire("app"); err != nil {
		panic(err)
	}
	fmt.Println("writers after:", writers())
	_, err := hub.Receive(late)
	fmt.Println("late message refused:", errors.Is(err, merge.ErrRetired))
	fmt.Println(hub.State())
	// Output:
	// writers before: 4
	// writers after: 1
	// late message refused: true
	// {v4}
}
