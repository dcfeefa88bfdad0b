package crdttest

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// A History is the causal history of a convergence case.
type History[T any] struct {
	// Events lists every operation in the order they ran.
	Events []Event[T]
}

// An Event is one operation of a [History].
type Event[T any] struct {
	Index   int              // position in History.Events
	Replica vclock.ReplicaID // where it ran
	Op      Op[T]            // what ran
	Delta   T                // the delta it returned
	seen    bitset           // the events that had reached Replica when it ran
}

// HappenedBefore reports whether event a had reached b's replica when b
// ran: b's replica could observe a's effect. An event did not happen before
// itself.
func (h *History[T]) HappenedBefore(a, b int) bool {
	return h.Events[b].seen.has(a)
}

// Concurrent reports whether neither of events a and b happened before the
// other.
func (h *History[T]) Concurrent(a, b int) bool {
	return a != b && !h.HappenedBefore(a, b) && !h.HappenedBefore(b, a)
}

type bitset []uint64

func (s bitset) has(i int) bool { return i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

func (s *bitset) add(i int) {
	for i/64 >= len(*s) {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

func (s *bitset) union(o bitset) {
	for len(*s) < len(o) {
		*s = append(*s, 0)
	}
	for i, w := range o {
		(*s)[i] |= w
	}
}

func (s bitset) clone() bitset { return append(bitset(nil), s...) }

func (s bitset) all(n int) bool {
	count := 0
	for _, w := range s {
		count += bits.OnesCount64(w)
	}
	return count == n
}

// epoch is the virtual time a case starts at, so that timestamps look real.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

type world[T crdt.State[T]] struct {
	spec  Spec[T]
	reps  []*replica[T]
	now   int64 // virtual Unix ns
	hist  History[T]
	queue []message
	drops [][2]int // (from, to) of every dropped delta
}

type replica[T any] struct {
	Replica
	state T
	seen  bitset
}

type message struct {
	from, to int
	data     []byte
	ts       hlc.Timestamp
	includes bitset // events whose effects the message carries
}

func newWorld[T crdt.State[T]](t *rapid.T, spec Spec[T], n int) *world[T] {
	if spec.New == nil || spec.Op == nil {
		t.Fatalf("crdttest: Spec.New and Spec.Op are required")
	}
	w := &world[T]{spec: spec, now: epoch}
	ids := []vclock.ReplicaID{"us-east", "eu-west", "ap-south", "us-west", "sa-east"}
	for i := 0; i < n; i++ {
		var skew int64
		if spec.Skew > 0 {
			skew = rapid.Int64Range(-int64(spec.Skew), int64(spec.Skew)).Draw(t, "skew")
		}
		phys := func() int64 { return w.now + skew }
		clock := hlc.New(hlc.WithPhysicalClock(phys), hlc.WithMaxOffset(2*spec.Skew+time.Second))
		w.reps = append(w.reps, &replica[T]{Replica: Replica{ID: ids[i], Clock: clock}, state: spec.New()})
	}
	return w
}

// run plays random steps; with sync it then delivers everything left and
// repairs every drop with a full-state merge, so that all replicas must
// converge.
func (w *world[T]) run(t *rapid.T, sync bool) {
	maxSteps := w.spec.MaxSteps
	if maxSteps <= 0 {
		maxSteps = 40
	}
	steps := rapid.IntRange(0, maxSteps).Draw(t, "steps")
	for s := 0; s < steps; s++ {
		w.now += rapid.Int64Range(0, int64(50*time.Millisecond)).Draw(t, "elapse")
		switch k := rapid.IntRange(0, 9).Draw(t, "action"); {
		case k < 5 || len(w.queue) == 0:
			w.op(t, rapid.IntRange(0, len(w.reps)-1).Draw(t, "replica"), w.spec.Op.Draw(t, "op"))
		case k < 8:
			w.deliver(t, w.take(t), false)
		case k < 9:
			w.deliver(t, w.take(t), true) // delivered now and again later
		default:
			m := w.take(t)
			w.drops = append(w.drops, [2]int{m.from, m.to})
		}
		w.checkInvariant(t)
	}
	if !sync {
		return
	}
	for len(w.queue) > 0 {
		w.now += int64(time.Millisecond)
		w.deliver(t, w.take(t), false)
	}
	for _, d := range w.drops {
		w.fullState(t, d[0], d[1])
	}
	w.checkInvariant(t)
}

func (w *world[T]) checkInvariant(t *rapid.T) {
	if w.spec.Invariant == nil {
		return
	}
	for _, r := range w.reps {
		w.spec.Invariant(t, r.state)
	}
}

// take removes and returns a random queued message.
func (w *world[T]) take(t *rapid.T) message {
	i := rapid.IntRange(0, len(w.queue)-1).Draw(t, "message")
	m := w.queue[i]
	w.queue = append(w.queue[:i], w.queue[i+1:]...)
	return m
}

func (w *world[T]) op(t *rapid.T, at int, op Op[T]) {
	r := w.reps[at]
	idx := len(w.hist.Events)
	pre := r.state.Clone()
	delta := op.Apply(&r.Replica, r.state)
	var zero T
	if any(delta) == any(zero) {
		t.Fatalf("%s returned a nil delta", op.Name)
	}
	if w.spec.Invariant != nil {
		w.spec.Invariant(t, delta)
	}
	// The delta alone must take the old state to the new one.
	pre.Merge(delta)
	same(t, fmt.Sprintf("%s at %s: pre⊔delta vs post", op.Name, r.ID), pre, r.state)

	w.hist.Events = append(w.hist.Events, Event[T]{Index: idx, Replica: r.ID, Op: op, Delta: delta.Clone(), seen: r.seen.clone()})
	r.seen.add(idx)
	data := encode(t, delta)
	for to := range w.reps {
		if to != at {
			var inc bitset
			inc.add(idx)
			w.queue = append(w.queue, message{from: at, to: to, data: data, ts: r.Clock.Now(), includes: inc})
		}
	}
}

func (w *world[T]) deliver(t *rapid.T, m message, again bool) {
	if again {
		w.queue = append(w.queue, m)
	}
	r := w.reps[m.to]
	if _, err := r.Clock.Update(m.ts); err != nil {
		t.Fatalf("clock update at %s: %v", r.ID, err)
	}
	r.state.Merge(decode(t, w.spec, m.data))
	r.seen.union(m.includes)
}

func (w *world[T]) fullState(t *rapid.T, from, to int) {
	src := w.reps[from]
	w.deliver(t, message{from: from, to: to, data: encode(t, src.state), ts: src.Clock.Now(), includes: src.seen.clone()}, false)
}
