package merge_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// Regressions: each test reproduces a way a hostile peer, a replayed
// message or an ordinary mistake once stopped replication for good, or
// made replicas diverge with no error. Hostile messages are built as
// docs/wire-format.md lays them out, with valid checksums.

// Message kinds, as docs/wire-format.md numbers them.
const (
	mDelta  = 32
	mState  = 33
	mAck    = 34
	mDigest = 35
)

// env is a message envelope.
type env struct {
	from, to    vclock.ReplicaID
	inc         uint64
	time        hlc.Timestamp
	ackInc, ack uint64
}

// forge builds a message of kind with envelope e and the fields after
// it, sealed with a valid checksum.
func forge(kind wire.Kind, e env, fields ...func([]byte) []byte) []byte {
	b := wire.AppendHeader(nil, kind, 6+len(fields)+1)
	b = wire.AppendString(b, string(e.from))
	b = wire.AppendString(b, string(e.to))
	b = wire.AppendUint(b, e.inc)
	b = wire.AppendUint(b, uint64(e.time))
	b = wire.AppendUint(b, e.ackInc)
	b = wire.AppendUint(b, e.ack)
	for _, f := range fields {
		b = f(b)
	}
	return seal(b)
}

func boolean(v bool) func([]byte) []byte {
	return func(b []byte) []byte { return wire.AppendBool(b, v) }
}

// now returns the cluster's virtual time as a timestamp.
func (c *cluster[T]) stamp() hlc.Timestamp { return hlc.FromTime(time.Unix(0, c.now)) }

// from returns an envelope of a message from replica i to j, with i's
// incarnation and the current time.
func (c *cluster[T]) from(i, j int) env {
	return env{from: c.ids[i], to: c.ids[j], inc: merge.Incarnation(c.reps[i]), time: c.stamp()}
}

// orsetClaiming returns the encoding of an ORSet, full or a delta,
// holding nothing, whose context claims events 1..n of writer w.
func orsetClaiming(w vclock.ReplicaID, n uint64, delta bool) []byte {
	b := wire.AppendHeader(nil, wire.KindORSet, 5)
	b = wire.AppendBool(b, delta)
	b = wire.AppendArrayLen(b, 1)
	b = wire.AppendString(b, string(w))
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, n)
	b = wire.AppendArrayLen(b, 0)
	b = wire.AppendArrayLen(b, 0)
	return wire.AppendArrayLen(b, 0)
}

// written returns the elements replica i's state holds, sorted.
func written(c *cluster[*crdt.ORSet[string]], i int) []string {
	return slices.Collect(c.reps[i].State().All())
}

// requireAll fails unless every replica holds every element of want.
func requireAll(t *testing.T, c *cluster[*crdt.ORSet[string]], want []string) {
	t.Helper()
	for i := range c.reps {
		got := written(c, i)
		for _, e := range want {
			if !slices.Contains(got, e) {
				t.Fatalf("%s lacks %q: holds %d elements %v", c.ids[i], e, len(got), got)
			}
		}
	}
}

// writes makes replica i write n new elements, settling after each, and
// returns them.
func writes(c *cluster[*crdt.ORSet[string]], i, n int, tag string) []string {
	var out []string
	for k := 0; k < n; k++ {
		e := fmt.Sprintf("%s-%s-%d", c.ids[i], tag, k)
		c.update(i, add(e))
		c.settleLoose(10)
		out = append(out, e)
	}
	return out
}

// TestReusedDotUnderAnotherKeyIsRefused: a replica that lost its state
// wrote {b: Inc 7} with the dot its old incarnation used for {a: Inc 5};
// validation compared only keys both sides held, and the regions stayed
// {a:5} and {b:7} for good. Now a restarted replica writes under a new
// writer, so both writes survive; and a peer that reuses a writer's dot
// anyway is refused.
func TestReusedDotUnderAnotherKeyIsRefused(t *testing.T) {
	type counters = crdt.ORMap[string, *crdt.CCounter]
	newCounters := func() *counters { return new(counters) }
	inc := func(k string, n uint64) func(vclock.ReplicaID, *counters) *counters {
		return func(w vclock.ReplicaID, m *counters) *counters {
			return m.Update(k, func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(w, n) })
		}
	}
	c := newCluster(t, 2, newCounters)
	c.update(0, inc("a", 5))
	c.settle()
	restart(c, 0, newCounters, nil)
	c.update(0, inc("b", 7))
	c.settle()
	c.requireConverged()
	for i := range c.reps {
		s := c.reps[i].State()
		a, _ := s.Get("a")
		b, _ := s.Get("b")
		if a == nil || b == nil || a.Value() != 5 || b.Value() != 7 {
			t.Fatalf("%s holds %v, want {a:5 b:7}", c.ids[i], s)
		}
	}

	// A dot of us-east's writer reused under another key is refused by
	// us-east, with the state left alone; eu-west takes it in us-east's
	// name, as us-east's word, until us-east's own overrules it.
	var forged counters
	w := c.reps[0].Writer()
	forged.Update("z", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(w, 9) })
	payload := encode(t, &forged)
	before := encode(t, c.reps[0].State())
	if _, err := c.reps[0].Receive(forge(mDelta, c.from(1, 0), u(0), u(1), bin(payload))); !errors.Is(err, crdt.ErrInconsistent) {
		t.Fatalf("a dot of its own writer reused under another key: got %v, want ErrInconsistent", err)
	}
	if !bytes.Equal(encode(t, c.reps[0].State()), before) {
		t.Fatal("a refused message changed the state")
	}
	if _, err := c.reps[1].Receive(forge(mDelta, c.from(0, 1), u(0), u(1), bin(payload))); err != nil {
		t.Fatal(err)
	}
	c.queue = nil
	c.settleLoose(10)
	c.requireConverged()
	s := c.reps[1].State()
	if _, z := s.Get("z"); z {
		t.Fatalf("eu-west holds %v after us-east's state, want {a:5 b:7}", s)
	}
	if a, _ := s.Get("a"); a == nil || a.Value() != 5 {
		t.Fatalf("eu-west holds %v after us-east's state, want {a:5 b:7}", s)
	}
	if b, _ := s.Get("b"); b == nil || b.Value() != 7 {
		t.Fatalf("eu-west holds %v after us-east's state, want {a:5 b:7}", s)
	}
}

// TestClaimOfEveryEventDoesNotWedge: a context claiming 2^63-1 events of
// a replica's writer was accepted; after one local write the replica's
// encoding held a counter its decoder refused, and all its later
// messages were refused (30 of 30). Now the claim is refused, the
// replica renews its writer, and its writes arrive.
func TestClaimOfEveryEventDoesNotWedge(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.settle()
	victim := c.reps[1].Writer()
	msg := forge(mDelta, c.from(0, 1), u(0), u(1), bin(orsetClaiming(victim, vclock.MaxCounter, true)))
	_, err := c.reps[1].Receive(msg)
	var ce *merge.ClaimError
	if !errors.As(err, &ce) || !errors.Is(err, merge.ErrUnissued) || ce.Writer != victim || ce.Claimed != vclock.MaxCounter {
		t.Fatalf("got %v, want a *ClaimError about %s", err, victim)
	}
	if s := c.reps[1].Stats(); s.Renewals != 1 {
		t.Fatalf("Renewals = %d, want 1", s.Renewals)
	}
	if w := c.reps[1].Writer(); w == victim {
		t.Fatalf("writer still %s after the claim", w)
	}
	requireAll(t, c, writes(c, 1, 30, "after"))
}

// TestForgedIntervalDoesNotPartition: one delta claiming the interval
// [0, 2^63), from a known peer with a valid checksum, made every later
// acknowledgement claim 2^63 deltas, which the sender refused: a
// one-way partition in which none of 20 writes arrived. Now the sender's
// full state resets the count, and every write arrives.
func TestForgedIntervalDoesNotPartition(t *testing.T) {
	empty := encode(t, newSet())
	for _, tc := range []struct {
		name string
		msg  func(c *cluster[*crdt.ORSet[string]]) []byte
	}{
		{"delta [0, 2^63)", func(c *cluster[*crdt.ORSet[string]]) []byte {
			return forge(mDelta, c.from(0, 1), u(0), u(1<<63), bin(empty))
		}},
		{"delta [0, 2^64-1)", func(c *cluster[*crdt.ORSet[string]]) []byte {
			return forge(mDelta, c.from(0, 1), u(0), u(math.MaxUint64), bin(empty))
		}},
		{"state to 2^63", func(c *cluster[*crdt.ORSet[string]]) []byte {
			return forge(mState, c.from(0, 1), u(1<<63), boolean(false), bin(empty))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 2, newSet)
			c.update(0, add("before"))
			c.settle()
			if _, err := c.reps[1].Receive(tc.msg(c)); err != nil {
				t.Fatalf("the forged message: %v", err)
			}
			want := append([]string{"before"}, writes(c, 0, 20, "after")...)
			requireAll(t, c, want)
			if l := c.reps[0].Lag()[0]; l.Unacked != 0 || l.Acked != 21 {
				t.Fatalf("us-east's lag after the writes: %+v, want 21 acked, none unacked", l)
			}
		})
	}
}

// TestUnissuedContextSwallowsNoWrite: a context claiming events 1..1000
// of us-east's writer, when it had issued 2, was accepted, and us-east's
// next writes vanished on both replicas, with nothing refused. Now a
// relayed claim is taken only as far as us-east has shown its events,
// and every later write arrives. (Claiming events 1 and 2 and holding
// neither, the forged full state removes a and b, as any peer that saw
// them may.)
func TestUnissuedContextSwallowsNoWrite(t *testing.T) {
	for _, delta := range []bool{true, false} {
		t.Run(fmt.Sprint("delta ", delta), func(t *testing.T) {
			c := newCluster(t, 3, newSet)
			c.update(0, add("a"))
			c.update(0, add("b"))
			c.settle()
			w := c.reps[0].Writer()
			msg := forge(mDelta, c.from(2, 1), u(0), u(1), bin(orsetClaiming(w, 1000, delta)))
			if _, err := c.reps[1].Receive(msg); err != nil {
				t.Fatalf("the relayed claim: %v", err)
			}
			if l := c.reps[1].Lag()[0]; l.Peer != "ap-south" || l.Partial != 1 {
				t.Fatalf("eu-west's figures of ap-south: %+v, want Partial 1", l)
			}
			if got := c.reps[1].State().Version().Get(w); got > 2 {
				t.Fatalf("eu-west claims %d events of %s, which issued 2", got, w)
			}
			requireAll(t, c, writes(c, 0, 20, "after"))
			if delta {
				requireAll(t, c, []string{"a", "b"})
			}
		})
	}
}

// TestReplayedOldIncarnation: one replayed message of an incarnation that
// had restarted stopped acknowledgements: unacked deltas climbed to 4,100
// and the lag to 6 min 50 s. Now it is refused as stale, and the link
// keeps up.
func TestReplayedOldIncarnation(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("old"))
	old := c.sync(0, 1)
	c.settle()
	restart(c, 0, newSet, c.reps[0].State())
	c.update(0, add("new"))
	c.settle()
	_, err := c.reps[1].Receive(old)
	if !errors.Is(err, merge.ErrStaleIncarnation) {
		t.Fatalf("the replayed message: got %v, want ErrStaleIncarnation", err)
	}
	for k := 0; k < 100; k++ {
		c.update(0, add(fmt.Sprint("after-", k)))
		c.advance(100 * time.Millisecond)
		c.syncAll()
		for len(c.queue) > 0 {
			if c.deliverLoose(c.take(0)) {
				t.Fatalf("an honest message refused after the replay")
			}
		}
		if l := c.reps[0].Lag()[0]; l.Unacked > 1 || l.OldestUnacked > time.Second {
			t.Fatalf("after write %d: %+v", k, l)
		}
	}
}

// TestRestartInTheSameMillisecond: a restart within the millisecond of
// the previous incarnation's start, with a fresh clock, reused the
// incarnation, and the restarted replica never caught up (40 of 40
// messages refused).
func TestRestartInTheSameMillisecond(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("a"))
	c.syncAll()
	c.deliverAll() // all within the millisecond us-east started in
	state := c.reps[0].State()
	clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now })) // fresh
	first := merge.Incarnation(c.reps[0])
	c.reps[0] = merge.New(c.ids[0], newSet, merge.WithClock(clock))
	if err := c.reps[0].AddPeer(c.ids[1]); err != nil {
		t.Fatal(err)
	}
	if merge.Incarnation(c.reps[0]) == first {
		t.Fatal("the restart reused the incarnation")
	}
	c.update(0, func(_ vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { s.Merge(state); return state })
	var want []string
	refused := 0
	for k := 0; k < 40; k++ {
		e := fmt.Sprint("after-", k)
		c.update(0, add(e))
		want = append(want, e)
		_, n := c.settleLoose(10)
		refused += n
	}
	requireAll(t, c, append(want, "a"))
	if refused != 0 {
		t.Fatalf("%d messages refused after the restart", refused)
	}
}

// TestFutureTimestampRefused: a payload LWW timestamp 10 years ahead,
// under an honest header, was accepted and won every write for 10 years.
func TestFutureTimestampRefused(t *testing.T) {
	type reg = crdt.LWWRegister[string]
	c := newCluster(t, 2, func() *reg { return new(reg) })
	c.settle()
	var forged reg
	forged.Set(c.ids[0], "forever", hlc.FromTime(time.Unix(0, c.now).AddDate(10, 0, 0)))
	msg := forge(mDelta, c.from(0, 1), u(0), u(1), bin(encode(t, &forged)))
	if _, err := c.reps[1].Receive(msg); !errors.Is(err, merge.ErrFutureTimestamp) {
		t.Fatalf("got %v, want ErrFutureTimestamp", err)
	}
	c.update(0, func(w vclock.ReplicaID, r *reg) *reg { return r.Set(w, "today", c.reps[0].Clock().Now()) })
	c.settle()
	if v, _ := c.reps[1].State().Get(); v != "today" {
		t.Fatalf("eu-west reads %q, want today", v)
	}
	// The same for LWWMap tombstones.
	type lmap = crdt.LWWMap[string, string]
	d := newCluster(t, 2, func() *lmap { return new(lmap) })
	d.settle()
	var tomb lmap
	tomb.Delete(d.ids[0], "k", hlc.FromTime(time.Unix(0, d.now).AddDate(10, 0, 0)))
	if _, err := d.reps[1].Receive(forge(mDelta, d.from(0, 1), u(0), u(1), bin(encode(t, &tomb)))); !errors.Is(err, merge.ErrFutureTimestamp) {
		t.Fatalf("a tombstone 10 years ahead: got %v, want ErrFutureTimestamp", err)
	}
}

// TestUnknownSenderNotDecoded: Receive decoded a 6.3 MB payload from an
// unknown sender (821 MiB allocated) before checking the sender.
func TestUnknownSenderNotDecoded(t *testing.T) {
	c := newCluster(t, 2, newSet)
	big := newSet()
	for k := 0; k < 200_000; k++ {
		big.Add("x", fmt.Sprint("element-", k))
	}
	e := c.from(0, 1)
	e.from = "stranger"
	msg := forge(mState, e, u(1), boolean(false), bin(encode(t, big)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.reps[1].Receive(msg)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, merge.ErrUnknownPeer) {
		t.Fatalf("got %v, want ErrUnknownPeer", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Fatalf("refusing a %d-byte message from an unknown sender allocated %d bytes", len(msg), got)
	}
}

// TestDigestAmplificationBounded: 500 digests of 88 bytes in a known
// peer's name brought back 160 MB of full state. A replica now answers a
// peer's digests with a state at most once per retransmission timeout.
func TestDigestAmplificationBounded(t *testing.T) {
	c := newCluster(t, 2, newSet)
	for k := 0; k < 1000; k++ {
		c.update(0, add(fmt.Sprint("element-", k)))
	}
	c.settle()
	state := len(encode(t, c.reps[0].State()))
	digest := forge(mDigest, c.from(1, 0), boolean(false), bin(make([]byte, 32)))
	deferred := c.reps[0].Lag()[0].StatesDeferred
	out := 0
	for k := 0; k < 500; k++ {
		reply, err := c.reps[0].Receive(digest)
		if err != nil {
			t.Fatal(err)
		}
		out += len(reply)
	}
	if out > 2*state {
		t.Fatalf("500 digests brought back %d bytes, the state is %d", out, state)
	}
	if l := c.reps[0].Lag()[0]; l.StatesDeferred-deferred != 499 {
		t.Fatalf("StatesDeferred rose by %d, want 499", l.StatesDeferred-deferred)
	}
}

// TestTimeAtTheEndOfTheRangeDoesNotPanic: with the offset check off, a
// header time of MaxUint64-1 was accepted; Receive then panicked
// (ErrExhausted), and so did Lag and Update afterwards.
func TestTimeAtTheEndOfTheRangeDoesNotPanic(t *testing.T) {
	c := newCluster(t, 2, newSet)
	clock := hlc.New(hlc.WithMaxOffset(0), hlc.WithPhysicalClock(func() int64 { return c.now }))
	c.reps[1] = merge.New(c.ids[1], newSet, merge.WithClock(clock))
	if err := c.reps[1].AddPeer(c.ids[0]); err != nil {
		t.Fatal(err)
	}
	e := c.from(0, 1)
	e.time = math.MaxUint64 - 1
	if _, err := c.reps[1].Receive(forge(mAck, e)); !errors.Is(err, hlc.ErrExhausted) {
		t.Fatalf("got %v, want hlc.ErrExhausted", err)
	}
	c.reps[1].Lag()
	c.update(1, add("x"))
	c.settle()
	requireAll(t, c, []string{"x"})
}

// TestAckOfUnsentDeltasIgnored: an acknowledgement of deltas issued but
// never sent dropped them from the buffer, and the peer never got them
// without a digest round. It is now ignored, and counted.
func TestAckOfUnsentDeltasIgnored(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, add("a"))
	c.settle()
	c.update(0, add("b"))
	c.update(0, add("c")) // issued, not sent
	e := c.from(1, 0)
	e.ackInc, e.ack = merge.Incarnation(c.reps[0]), 3
	if _, err := c.reps[0].Receive(forge(mAck, e)); err != nil {
		t.Fatalf("the forged ack: %v", err)
	}
	if s := c.reps[0].Stats(); s.Buffered != 2 {
		t.Fatalf("%d deltas buffered after the forged ack, want 2", s.Buffered)
	}
	if l := c.reps[0].Lag()[0]; l.AcksIgnored != 1 || l.Acked != 1 {
		t.Fatalf("us-east's figures of eu-west: %+v, want the ack ignored", l)
	}
	c.settleLoose(10)
	requireAll(t, c, []string{"a", "b", "c"})
}

// TestHeaderAtTheOffsetBound: a header exactly at +max offset with
// logical part 65535 carried the receiver past the bound, and its next
// message to a third replica was refused.
func TestHeaderAtTheOffsetBound(t *testing.T) {
	c := newCluster(t, 3, newSet)
	c.settle()
	bound := c.reps[1].Clock().MaxOffset()
	e := c.from(0, 1)
	e.time = hlc.MakeTimestamp(uint64(time.Unix(0, c.now).Add(bound).UnixMilli()), 65535)
	if _, err := c.reps[1].Receive(forge(mAck, e)); !errors.Is(err, hlc.ErrClockOffset) {
		t.Fatalf("got %v, want ErrClockOffset", err)
	}
	c.update(1, add("x"))
	if _, err := c.reps[2].Receive(c.sync(1, 2)); err != nil {
		t.Fatalf("the receiver's next message to a third replica: %v", err)
	}
}

// TestRestoreOldSnapshotAndWriteAtOnce: a replica restored from a
// snapshot older than its last write, and writing at once, reused the
// dot of that write for another element, and the link stayed refused
// for good ("dot eu:2 carries hat here and scarf in the other state").
func TestRestoreOldSnapshotAndWriteAtOnce(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(1, add("gloves"))
	c.settle()
	snapshot := c.reps[1].State()
	c.update(1, add("hat"))
	c.settle()
	restart(c, 1, newSet, snapshot)
	c.update(1, add("scarf"))
	rounds, refused := c.settleLoose(10)
	requireAll(t, c, []string{"gloves", "hat", "scarf"})
	c.requireConverged()
	if refused != 0 || rounds > 3 {
		t.Fatalf("%d refusals and %d rounds after the restore", refused, rounds)
	}
}

// TestOneUpdateLosesNoChange: two mutations in one ORMap.Update callback,
// returning one delta, silently lost the other on every peer syncing by
// deltas. The join of the deltas carries both, and dropping one panics.
func TestOneUpdateLosesNoChange(t *testing.T) {
	type carts = crdt.ORMap[string, *crdt.ORSet[string]]
	c := newCluster(t, 2, func() *carts { return new(carts) })
	c.update(0, func(w vclock.ReplicaID, m *carts) *carts {
		return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			d := s.Add(w, "hat")
			d.Merge(s.Add(w, "scarf"))
			return d
		})
	})
	c.settle()
	if s, _ := c.reps[1].State().Get("alice"); s == nil || s.Len() != 2 {
		t.Fatalf("eu-west holds %v for alice, want hat and scarf", s)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "ORMap.Update") {
			t.Fatalf("recovered %v, want a panic naming ORMap.Update", r)
		}
	}()
	c.update(0, func(w vclock.ReplicaID, m *carts) *carts {
		return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add(w, "gloves")
			return s.Add(w, "boots")
		})
	})
}

// TestMisuseNamesItself: writing under the bare ID, a newState that
// returns one value, and the zero Replica panic with the misuse named,
// not with a nil map deep inside.
func TestMisuseNamesItself(t *testing.T) {
	for name, f := range map[string]func(){
		"bare ID": func() {
			r := merge.New("us-east", newSet)
			_ = r.Update(func(_ vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add("us-east", "x") })
		},
		"shared newState": func() {
			shared := newSet()
			merge.New("us-east", func() *crdt.ORSet[string] { return shared })
		},
		"zero Replica": func() {
			var r merge.Replica[*crdt.ORSet[string]]
			_, _ = r.Sync("eu-west")
		},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "merge: ") {
					t.Errorf("%s: recovered %v, want a panic starting merge: ", name, r)
				}
			}()
			f()
		}()
	}
}

// TestWriterIDs: a writer ID names its replica and incarnation, and
// WriterNode takes it back to the replica, whatever the replica's ID holds.
func TestWriterIDs(t *testing.T) {
	// The example of docs/wire-format.md, "Writer IDs".
	if got, want := merge.WriterOf("us-east", 0x0123456789abcdef), vclock.ReplicaID("us-east~028t5cy4tqkff"); got != want {
		t.Errorf("writer of us-east, incarnation 0x0123456789abcdef: got %q, want %q", got, want)
	}
	for _, id := range []vclock.ReplicaID{"us-east", "a~0000000000001", "~", "日本"} {
		r := merge.New(id, newSet)
		w := r.Writer()
		if got := merge.WriterNode(w); got != id {
			t.Errorf("WriterNode(%q) = %q, want %q", w, got, id)
		}
		if !strings.HasPrefix(string(w), string(id)+"~") || len(w) != len(id)+14 {
			t.Errorf("writer %q of %q: want the ID, a tilde and 13 digits", w, id)
		}
	}
	for _, w := range []vclock.ReplicaID{"us-east", "us-east~", "us-east~0000000000000", "us-east~g000000000001", "us-east~000000000000i"} {
		if got := merge.WriterNode(w); got != w {
			t.Errorf("WriterNode(%q) = %q, want it unchanged: not a writer ID", w, got)
		}
	}
}

// TestReplicaUpdateLosesNoChange: at the top level too, a callback that
// makes two changes and returns the delta of one would lose the other for
// peers that sync by deltas. The join carries both; anything less panics.
func TestReplicaUpdateLosesNoChange(t *testing.T) {
	c := newCluster(t, 2, newSet)
	c.update(0, func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
		d := s.Add(w, "hat")
		d.Merge(s.Add(w, "scarf"))
		return d
	})
	c.settle()
	if got := written(c, 1); !slices.Equal(got, []string{"hat", "scarf"}) {
		t.Fatalf("eu-west holds %v, want [hat scarf]", got)
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "returned a delta recording") {
				t.Errorf("%s: recovered %v, want a panic naming the lost change", name, r)
			}
		}()
		f()
	}
	mustPanic("ORSet, last delta only", func() {
		_ = c.reps[0].Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add(w, "gloves")
			return s.Add(w, "boots")
		})
	})
	mustPanic("ORSet, the state returned", func() {
		_ = c.reps[0].Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
			s.Add(w, "gloves")
			return s
		})
	})
	mustPanic("PNCounter, the increment dropped", func() {
		r := merge.New("us-east", newCounter)
		_ = r.Update(func(w vclock.ReplicaID, c *crdt.PNCounter) *crdt.PNCounter {
			c.Inc(w, 5)
			return c.Dec(w, 1)
		})
	})
	mustPanic("GSet, nothing returned", func() {
		r := merge.New("us-east", func() *crdt.GSet[string] { return new(crdt.GSet[string]) })
		_ = r.Update(func(_ vclock.ReplicaID, s *crdt.GSet[string]) *crdt.GSet[string] {
			s.Add("x")
			return nil
		})
	})
}

// TestPartialPushGetsItsAnswer: a state pushed in answer to a digest, and
// merged in part — it carried events of a writer whose node had not shown
// them — went unanswered, though the receiver held events the pusher
// lacked: the writes of the pusher's own earlier incarnation, lost in its
// restart. Nothing started another exchange, and the cluster stayed
// apart for good.
func TestPartialPushGetsItsAnswer(t *testing.T) {
	// No delta buffer: eu-west answers the digest with its state at once.
	opt := merge.WithMaxDeltas(0)
	c := newCluster(t, 3, newCarts, opt)
	write := func(i int, e string) {
		c.update(i, func(w vclock.ReplicaID, m *carts) *carts {
			return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
		})
	}
	write(2, "w0") // ap-south's write reaches eu-west only
	c.sync(2, 1)
	c.deliverAll()
	c.digestRequest(0, 1)
	restart(c, 2, newCarts, nil, opt) // and ap-south loses it
	snapshot := c.reps[1].State()
	write(1, "w1")
	// eu-west answers us-east's digest; us-east merges w1, not w0, whose
	// writer never showed it.
	c.deliverAll()
	if s, _ := c.reps[0].State().Get("alice"); s == nil || !s.Contains("w1") || s.Contains("w0") {
		t.Fatalf("us-east holds %v before the restart, want w1 alone", c.reps[0].State())
	}
	restart(c, 1, newCarts, snapshot, opt) // eu-west comes back without w1
	c.queue = nil
	c.settleLoose(10)
	c.requireConverged()
	for _, e := range []string{"w0", "w1"} {
		if s, _ := c.reps[0].State().Get("alice"); s == nil || !s.Contains(e) {
			t.Fatalf("%s lost: %v", e, c.reps[0].State())
		}
	}
}

// TestDeferredAnswersDoNotWedge: a replica defers its answer to a digest
// while deltas to the asker are in flight. Two replicas each held events
// of a writer whose node had restarted without them; each merged the
// other's deltas in part, so neither acknowledged them, and each deferred
// the other's digests for good: the writes stayed apart. A digest asked
// again before any acknowledgement is answered.
func TestDeferredAnswersDoNotWedge(t *testing.T) {
	opts := []merge.Option{merge.WithMaxDeltas(1), merge.WithRetransmitTimeout(0)}
	c := newCluster(t, 3, newCarts, opts...)
	for _, r := range c.reps {
		if err := r.AddPeer(mallory); err != nil {
			t.Fatal(err)
		}
	}
	write := func(i int, e string) {
		c.update(i, func(w vclock.ReplicaID, m *carts) *carts {
			return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
		})
	}
	// restartAtOnce is as a process restarting in the same millisecond, with
	// mallory still a peer.
	restartAtOnce := func(i int, from *carts) {
		clock := hlc.New(hlc.WithPhysicalClock(func() int64 { return c.now + c.skew[i] }))
		r := merge.New(c.ids[i], newCarts, append([]merge.Option{merge.WithClock(clock), c.random()}, opts...)...)
		for j, id := range append(slices.Clone(c.ids), mallory) {
			if j != i {
				if err := r.AddPeer(id); err != nil {
					t.Fatal(err)
				}
			}
		}
		c.reps[i] = r
		if from != nil {
			c.update(i, func(_ vclock.ReplicaID, s *carts) *carts { s.Merge(from); return from })
		}
	}
	write(1, "w0") // eu-west's write reaches us-east by a digest exchange
	c.digestRequest(1, 0)
	c.deliverAll()
	restartAtOnce(1, nil) // and eu-west loses it
	write(0, "w1")
	write(2, "w2") // ap-south's write reaches eu-west only
	c.sync(2, 1)
	c.deliver(c.take(0))
	restartAtOnce(2, nil) // and ap-south loses it
	// mallory, in us-east's name, claims every delta to ap-south.
	c.reps[2].Receive(forge(mState, c.from(0, 2), u(1<<63), boolean(false), bin(encode(t, newCarts()))))
	restartAtOnce(1, c.reps[1].State())
	c.queue = nil
	c.settleLoose(30)
	c.requireConverged()
	for _, e := range []string{"w0", "w1", "w2"} {
		if s, _ := c.reps[0].State().Get("alice"); s == nil || !s.Contains(e) {
			t.Fatalf("%s lost: %v", e, c.reps[0].State())
		}
	}
}

// TestForgedEventBeforeTheRealOne: a payload relayed in eu-west's name
// carried a forged event of us-east's writer — a counter us-east had
// issued, with other data — that ap-south had not received yet. ap-south
// took it, then refused us-east's real event for good: the two disagreed
// on one dot, and the link stayed wedged. Now us-east's payload, the
// event's source, overrules ap-south's copy.
func TestForgedEventBeforeTheRealOne(t *testing.T) {
	c := newCluster(t, 3, newSet, merge.WithMaxDeltas(1))
	c.update(0, add("hat"))
	c.sync(0, 2)
	c.queue = nil // lost
	c.update(0, add("scarf"))
	c.sync(0, 2)
	c.deliverAll() // ap-south has us-east's second event, not its first
	var forged crdt.ORSet[string]
	forged.Add(c.reps[0].Writer(), "evil") // us-east's first dot
	if _, err := c.reps[2].Receive(forge(mDelta, c.from(1, 2), u(0), u(1), bin(encode(t, &forged)))); err != nil {
		t.Fatal(err)
	}
	requireElems(t, c.reps[2].State(), []string{"evil", "scarf"})
	c.queue = nil
	rounds, _ := c.settleLoose(10)
	c.requireConverged()
	requireElems(t, c.reps[2].State(), []string{"hat", "scarf"})
	if rounds > 4 {
		t.Fatalf("%d rounds to converge", rounds)
	}
}

// TestLostStateBackIsSentAgain: us-east came back from its store holding
// a write of an incarnation before, which no peer had, and started a
// digest exchange with eu-west. eu-west pushed its state; us-east, which
// held more, sent its own back, and that message was lost. Neither side
// asked again — eu-west did not know the state was due, us-east had sent
// it — and eu-west lacked the write for good, with no error and nothing
// left to send. The state back now goes under a sequence number of its
// own and is sent again until acknowledged.
func TestLostStateBackIsSentAgain(t *testing.T) {
	opts := []merge.Option{merge.WithMaxDeltas(1)}
	c := newCluster(t, 3, newCarts, opts...)
	store := merge.NewMemoryStore()
	write := func(e string) {
		c.update(0, func(w vclock.ReplicaID, m *carts) *carts {
			return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
		})
	}
	reopen(c, 0, newCarts, store, opts...)
	write("w0") // on the store, sent to nobody
	reopen(c, 0, newCarts, store, opts...)
	write("w1")
	c.sync(0, 1) // the delta of w1
	c.deliverAll()
	if msg := c.sync(0, 1); msg == nil { // the digest a restored replica sends
		t.Fatal("us-east, restored, sent eu-west no digest")
	}
	c.deliver(c.take(0)) // eu-west pushes its state
	c.deliver(c.take(0)) // us-east sends its own back
	if len(c.queue) != 1 {
		t.Fatalf("queued %v after eu-west's push, want us-east's state back", c.queue)
	}
	c.queue = nil // lost
	for _, l := range c.reps[0].Lag() {
		// eu-west owes an acknowledgement of the state back; ap-south,
		// sent nothing yet, of w1's delta alone: the state back's number
		// goes to it with that delta, and is not waited for.
		if want := uint64(1); l.Unacked != want {
			t.Errorf("us-east counts %d deltas unacknowledged by %s, want %d", l.Unacked, l.Peer, want)
		}
	}
	if rounds, _ := c.settleLoose(10); rounds > 4 {
		t.Fatalf("%d rounds to quiescence", rounds)
	}
	c.requireConverged()
	if s, _ := c.reps[1].State().Get("alice"); s == nil || !s.Contains("w0") || !s.Contains("w1") {
		t.Fatalf("eu-west holds %v, want w0 and w1", c.reps[1].State())
	}
	if got := c.reps[0].Stats().Buffered; got != 0 {
		t.Errorf("us-east buffers %d deltas after quiescence", got)
	}
	if got := c.reps[0].Stats().Deltas; got != 1 {
		t.Fatalf("us-east counts %d deltas issued, want 1 (the state back's sequence number is not one)", got)
	}
}

// TestStateBackNumberCostsNoState: the sequence number a state back goes
// under is dropped, with the deltas before it, once every peer has what
// it needs; a peer that lacks only that number is not taken to need a
// full state, and gets the next write as a delta.
func TestStateBackNumberCostsNoState(t *testing.T) {
	c := newCluster(t, 3, newCarts)
	store := merge.NewMemoryStore()
	write := func(e string) {
		c.update(0, func(w vclock.ReplicaID, m *carts) *carts {
			return m.Update("alice", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) })
		})
	}
	reopen(c, 0, newCarts, store)
	write("w0") // on the store, sent to nobody
	reopen(c, 0, newCarts, store)
	write("w1")
	c.sync(0, 1)
	c.deliverAll()
	toAPSouth := c.sync(0, 2) // w1, on its way
	c.queue = nil
	c.sync(0, 1)         // the digest a restored replica sends
	c.deliver(c.take(0)) // eu-west pushes its state
	c.deliver(c.take(0)) // us-east sends its own back
	c.deliverAll()       // eu-west acknowledges it
	c.deliver(packet{0, 2, toAPSouth})
	c.deliverAll() // ap-south acknowledges w1
	// ap-south lacks only the state back's number, dropped with w1.
	if got := c.reps[0].Stats().Buffered; got != 0 {
		t.Errorf("us-east buffers %d deltas once every peer has what it needs", got)
	}
	states := func() uint64 {
		for _, l := range c.reps[0].Lag() {
			if l.Peer == "ap-south" {
				return l.FullStatesSent
			}
		}
		t.Fatal("us-east has no lag figures of ap-south")
		return 0
	}
	before := states()
	write("w2")
	if c.sync(0, 2) == nil {
		t.Fatal("us-east sent ap-south nothing after w2")
	}
	if after := states(); after != before {
		t.Errorf("us-east sent ap-south a full state for w2, not a delta")
	}
	c.settle()
	c.requireConverged()
}
