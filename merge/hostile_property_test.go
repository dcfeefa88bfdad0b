package merge_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

type carts = crdt.ORMap[string, *crdt.ORSet[string]]

func newCarts() *carts { return new(carts) }

// mallory is a peer every honest replica knows, whose messages are
// hostile: built from the wire format with valid checksums, of every
// class that once wedged a link or made replicas diverge.
const mallory vclock.ReplicaID = "mallory"

// TestHostileStateMachine is the property that replication never wedges
// and never loses an acknowledged write: three honest replicas write,
// sync, lose, duplicate and reorder messages, restart from any earlier
// snapshot of theirs (or from nothing) and write at once, one change or
// several in one Update, while mallory sends hostile messages of every
// class; after a final honest phase of bounded rounds the honest
// replicas are equal and hold every honest write. No hostile message
// panics or allocates beyond the decoders' bound (64 bytes per input
// byte plus 64 KiB), and one from an unknown sender allocates at most
// 64 KiB whatever its size. A payload timestamp ahead of its message's
// time has no class here, carts holding none: TestFutureTimestampRefused
// is that regression, on LWWRegister and LWWMap.
//
// mallory speaks for itself, as a peer authenticated by the transport
// would, except in the classes that only touch the protocol's
// bookkeeping (intervals, acknowledgements, digests, replays), where it
// forges honest senders: a forged payload in an honest writer's own name
// cannot be told from that writer's (see Claims in the package doc). Its
// forged claims come as deltas: a full state claiming a writer's events
// and holding none of them removes them, as any peer that saw them may.
func TestHostileStateMachine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		maxDeltas := rapid.IntRange(0, 8).Draw(rt, "maxDeltas")
		rto := time.Duration(rapid.IntRange(0, 300).Draw(rt, "rtoMs")) * time.Millisecond
		opts := []merge.Option{merge.WithMaxDeltas(maxDeltas), merge.WithRetransmitTimeout(rto)}
		c := newCluster(rt, 3, newCarts, opts...)
		for _, r := range c.reps {
			if err := r.AddPeer(mallory); err != nil {
				rt.Fatal(err)
			}
		}
		var written []string // honest writes: each must survive
		holds := func(s *carts, e string) bool {
			for _, set := range s.All() {
				if set.Contains(e) {
					return true
				}
			}
			return false
		}
		snapshots := make([][]*carts, 3)
		var traffic []packet // every message an honest replica sent
		n := 0
		pair := func() (int, int) {
			i := rapid.IntRange(0, 2).Draw(rt, "from")
			return i, (i + rapid.IntRange(1, 2).Draw(rt, "hop")) % 3
		}
		pick := func() int { return rapid.IntRange(0, len(c.queue)-1).Draw(rt, "packet") }
		record := func() {
			for _, p := range c.queue {
				if !slices.ContainsFunc(traffic, func(q packet) bool { return &q.data[0] == &p.data[0] }) {
					traffic = append(traffic, p)
				}
			}
		}
		deliver := func(p packet) {
			c.deliverLoose(p)
			record()
		}
		hostile := func(to int, msg []byte) {
			var reply []byte
			got := bytesAllocatedBy(func() { reply, _ = c.reps[to].Receive(msg) })
			if limit := uint64(64*len(msg) + 64<<10); got > limit {
				rt.Fatalf("a hostile message of %d bytes allocated %d, want at most %d", len(msg), got, limit)
			}
			_ = reply // a reply to mallory goes nowhere
		}
		rt.Repeat(map[string]func(*rapid.T){
			"write": func(rt *rapid.T) {
				i := rapid.IntRange(0, 2).Draw(rt, "at")
				e := fmt.Sprintf("w%d", n)
				n++
				key := rapid.SampledFrom([]string{"alice", "bob"}).Draw(rt, "cart")
				c.update(i, func(w vclock.ReplicaID, m *carts) *carts {
					return m.Update(key, func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
				})
				written = append(written, e)
			},
			"write two": func(rt *rapid.T) {
				// Two changes in one Update, returned as the join of
				// their deltas: both must reach every replica.
				i := rapid.IntRange(0, 2).Draw(rt, "at")
				e1, e2 := fmt.Sprintf("w%d", n), fmt.Sprintf("w%d", n+1)
				n += 2
				c.update(i, func(w vclock.ReplicaID, m *carts) *carts {
					return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
						d := s.Add(w, e1)
						d.Merge(s.Add(w, e2))
						return d
					})
				})
				written = append(written, e1, e2)
			},
			"sync": func(rt *rapid.T) {
				c.sync(pair())
				record()
			},
			"digest": func(rt *rapid.T) {
				c.digestRequest(pair())
				record()
			},
			"deliver": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				deliver(c.take(pick()))
			},
			"duplicate": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				deliver(c.queue[pick()])
			},
			"drop": func(rt *rapid.T) {
				if len(c.queue) == 0 {
					rt.Skip("nothing queued")
				}
				c.take(pick())
			},
			"tick": func(rt *rapid.T) {
				c.advance(time.Duration(rapid.IntRange(0, 600).Draw(rt, "ms")) * time.Millisecond)
			},
			"snapshot": func(rt *rapid.T) {
				i := rapid.IntRange(0, 2).Draw(rt, "of")
				snapshots[i] = append(snapshots[i], c.reps[i].State())
			},
			"restart": func(rt *rapid.T) {
				// From any earlier snapshot of its own, or from nothing,
				// with a fresh clock, in the same millisecond or later.
				i := rapid.IntRange(0, 2).Draw(rt, "who")
				var from *carts
				if k := rapid.IntRange(-1, len(snapshots[i])-1).Draw(rt, "snapshot"); k >= 0 {
					from = snapshots[i][k].Clone()
				}
				c.advance(time.Duration(rapid.IntRange(0, 2).Draw(rt, "ms")) * time.Millisecond)
				clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now + c.skew[i] }))
				r := merge.New(c.ids[i], newCarts, append([]merge.Option{merge.WithClock(clock), c.random()}, opts...)...)
				for j, id := range append(slices.Clone(c.ids), mallory) {
					if j != i {
						if err := r.AddPeer(id); err != nil {
							rt.Fatal(err)
						}
					}
				}
				// A replica lives in memory: a write that neither the
				// snapshot nor another replica holds dies with it.
				written = slices.DeleteFunc(written, func(e string) bool {
					if from != nil && holds(from, e) {
						return false
					}
					for j := range c.reps {
						if j != i && holds(c.reps[j].State(), e) {
							return false
						}
					}
					return true
				})
				c.reps[i] = r
				if from != nil {
					c.update(i, func(_ vclock.ReplicaID, s *carts) *carts { s.Merge(from); return from })
				}
			},
			"hostile": func(rt *rapid.T) {
				to := rapid.IntRange(0, 2).Draw(rt, "victim")
				victim := c.reps[to]
				me := env{from: mallory, to: c.ids[to], inc: 0x6d616c6c6f7279, time: c.stamp()}
				other := (to + rapid.IntRange(1, 2).Draw(rt, "whom")) % 3
				spoof := c.from(other, to)
				empty := encode(rt, newCarts())
				switch rapid.IntRange(0, 11).Draw(rt, "class") {
				case 0: // a dot of an honest writer reused for other data
					var f carts
					w := c.reps[other].Writer()
					f.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "evil") })
					hostile(to, forge(mDelta, me, u(0), u(1), bin(encode(rt, &f))))
				case 1: // every event of the victim's own writer
					hostile(to, forge(mDelta, me, u(0), u(1), bin(orMapClaiming(victim.Writer(), vclock.MaxCounter))))
				case 2: // an interval no sender issued, in an honest sender's name
					to64 := rapid.SampledFrom([]uint64{1 << 63, math.MaxUint64}).Draw(rt, "to")
					hostile(to, forge(mDelta, spoof, u(0), u(to64), bin(empty)))
				case 3: // a state of every delta, in an honest sender's name
					hostile(to, forge(mState, spoof, u(1<<63), boolean(false), bin(empty)))
				case 4: // events an honest writer never issued, and only those: claiming issued ones is removing them, a peer's right
					w := c.reps[other].Writer()
					issued := c.reps[other].State().Version().Get(w)
					beyond := issued + rapid.Uint64Range(1, 1<<40).Draw(rt, "beyond")
					hostile(to, forge(mDelta, me, u(0), u(1), bin(orMapClaimingDots(w, issued+1, beyond))))
				case 5: // a replay of anything an honest replica sent
					if len(traffic) == 0 {
						rt.Skip("no traffic yet")
					}
					p := traffic[rapid.IntRange(0, len(traffic)-1).Draw(rt, "replay")]
					hostile(p.to, p.data)
				case 6: // a header time at the end of the range, or at the bound carrying past it
					e := me
					if rapid.Bool().Draw(rt, "end") {
						e.time = math.MaxUint64 - 1
					} else {
						e.time = hlc.MakeTimestamp(uint64(time.Unix(0, c.now+c.skew[to]).Add(victim.Clock().MaxOffset()).UnixMilli()), 65535)
					}
					hostile(to, forge(mAck, e))
				case 7: // a payload claiming a huge number of elements
					hostile(to, forge(mDelta, me, u(0), u(1), bin([]byte{0x97, 1, 27, 0xc2, 0xdd, 0x7f, 0xff, 0xff, 0xff})))
				case 8: // digests in an honest sender's name, again and again
					d := forge(mDigest, spoof, boolean(false), bin(make([]byte, 32)))
					for k := 0; k < 20; k++ {
						hostile(to, d)
					}
				case 9: // an acknowledgement of deltas never sent, in an honest sender's name
					e := spoof
					e.ackInc, e.ack = merge.Incarnation(victim), rapid.Uint64Range(1, math.MaxUint64).Draw(rt, "ack")
					if e.ack <= victim.Stats().Deltas {
						e.ack = victim.Stats().Deltas + 1
					}
					hostile(to, forge(mAck, e))
				case 10: // a large state from a sender nobody knows: refused before its payload is read
					e := me
					e.from = "stranger"
					var big carts
					for k := range rapid.IntRange(1, 300).Draw(rt, "elements") {
						big.Update(fmt.Sprint("cart-", k%7), func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
							return s.Add("stranger", fmt.Sprint("junk-", k))
						})
					}
					msg := forge(mState, e, u(1), boolean(false), bin(encode(rt, &big)))
					if got := bytesAllocatedBy(func() { _, _ = victim.Receive(msg) }); got > 64<<10 {
						rt.Fatalf("a %d-byte state from an unknown sender allocated %d bytes before it was refused", len(msg), got)
					}
				default: // a message of an incarnation the sender never had
					e := spoof
					e.inc = rapid.Uint64Range(1, math.MaxUint64).Draw(rt, "inc")
					e.time = c.stamp() - 1
					hostile(to, forge(mAck, e))
				}
			},
		})
		// The final honest phase: what is in flight is lost, and the
		// replicas sync until nothing is due.
		c.queue = nil
		c.settleLoose(30)
		c.requireConverged()
		final := c.reps[0].State()
		for _, e := range written {
			if !holds(final, e) {
				rt.Fatalf("honest write %s lost: final state %v", e, final)
			}
		}
	})
}

// orMapClaiming returns the encoding of a carts delta holding nothing
// whose context claims events 1..n of writer w.
func orMapClaiming(w vclock.ReplicaID, n uint64) []byte {
	b := wire.AppendHeader(nil, wire.KindORMap, 5)
	b = wire.AppendBool(b, true)
	b = wire.AppendArrayLen(b, 1)
	b = wire.AppendString(b, string(w))
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, n)
	b = wire.AppendArrayLen(b, 0)
	b = wire.AppendArrayLen(b, 0)
	return wire.AppendArrayLen(b, 0)
}

// orMapClaimingDots encodes an empty ORMap delta whose context holds the
// dots of w from lo to hi (lo ≥ 1): the run lo..hi if lo is 1, else lo and
// hi alone, as a cloud beyond a gap.
func orMapClaimingDots(w vclock.ReplicaID, lo, hi uint64) []byte {
	if lo <= 1 {
		return orMapClaiming(w, hi)
	}
	b := wire.AppendHeader(nil, wire.KindORMap, 5)
	b = wire.AppendBool(b, true)
	b = wire.AppendArrayLen(b, 1)
	b = wire.AppendString(b, string(w))
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, 0)
	if hi > lo {
		b = wire.AppendArrayLen(b, 2)
		b = wire.AppendUint(b, lo)
	} else {
		b = wire.AppendArrayLen(b, 1)
	}
	b = wire.AppendUint(b, hi)
	b = wire.AppendArrayLen(b, 0)
	return wire.AppendArrayLen(b, 0)
}

// bytesAllocatedBy returns what f allocated.
func bytesAllocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
