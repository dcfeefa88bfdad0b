package crdttest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// A Replica is what an operation sees of the replica it runs on: the
// writer's ID and its hybrid logical clock, whose physical clock is skewed
// by up to [Spec.Skew].
type Replica struct {
	ID    vclock.ReplicaID
	Clock *hlc.Clock
}

// An Op is one random operation.
type Op[T any] struct {
	// Name describes the operation in failure messages, e.g. "add x".
	Name string
	// Arg is free for the model check, e.g. the element added.
	Arg any
	// Apply performs the operation on state as replica r and returns the
	// delta. It must not keep state or the delta.
	Apply func(r *Replica, state T) (delta T)
}

// A Spec describes the type under test.
type Spec[T crdt.State[T]] struct {
	// New returns an empty state (required).
	New func() T
	// Op draws a random operation (required).
	Op *rapid.Generator[Op[T]]
	// Skew bounds how far each replica's physical clock is from true time,
	// in either direction. Zero means perfectly synchronized clocks.
	Skew time.Duration
	// MaxSteps bounds the operations and deliveries of one case; 0 means 40.
	MaxSteps int
	// Invariant, if set, is checked on every replica's state after every
	// step, on every delta an operation returns, on every join the law
	// checks make and on every state decoded from bytes, e.g. that Len
	// agrees with the elements listed.
	Invariant func(t *rapid.T, state T)
	// Model, if set, is called once the replicas of a convergence case have
	// converged, with the causal history and the final state.
	Model func(t *rapid.T, h *History[T], final T)
}

// Check runs [CheckLaws], [CheckDeltas], [CheckRoundTrip] and
// [CheckConvergence] as subtests.
func Check[T crdt.State[T]](t *testing.T, spec Spec[T]) {
	t.Helper()
	t.Run("Laws", func(t *testing.T) { CheckLaws(t, spec) })
	t.Run("Deltas", func(t *testing.T) { CheckDeltas(t, spec) })
	t.Run("RoundTrip", func(t *testing.T) { CheckRoundTrip(t, spec) })
	t.Run("Convergence", func(t *testing.T) { CheckConvergence(t, spec) })
}

// pool runs a random world without the final synchronization and returns
// the states and deltas it produced: the inputs for the law checks.
func pool[T crdt.State[T]](t *rapid.T, spec Spec[T]) []T {
	w := newWorld(t, spec, rapid.IntRange(1, 4).Draw(t, "replicas"))
	w.run(t, false)
	var out []T
	for _, r := range w.reps {
		out = append(out, r.state)
	}
	for _, e := range w.hist.Events {
		out = append(out, e.Delta)
	}
	return out
}

// CheckLaws checks that Merge is commutative, associative and idempotent,
// by Equal and by encoded bytes, and leaves its argument unchanged, and
// that ValidateMerge accepts every pair. The inputs are states and
// deltas of random runs of correct replicas.
func CheckLaws[T crdt.State[T]](t *testing.T, spec Spec[T]) {
	t.Helper()
	rapid.Check(t, func(t *rapid.T) {
		p := pool(t, spec)
		pick := rapid.SampledFrom(p)
		a, b, c := pick.Draw(t, "a"), pick.Draw(t, "b"), pick.Draw(t, "c")
		join := func(x, y T) T {
			z := x.Clone()
			before := marshal(t, y)
			z.Merge(y)
			if after := marshal(t, y); !bytes.Equal(before, after) {
				t.Fatalf("Merge changed its argument: %x, was %x", after, before)
			}
			if spec.Invariant != nil {
				spec.Invariant(t, z)
			}
			return z
		}
		// States and deltas of correct replicas never contradict each
		// other: ValidateMerge accepts every pair, both ways.
		for _, pair := range [][2]T{{a, b}, {b, a}, {a, c}, {join(a, b), c}} {
			if err := pair[0].ValidateMerge(pair[1]); err != nil {
				t.Fatalf("ValidateMerge refused two states of correct replicas: %v\n%x\n%x", err, encode(t, pair[0]), encode(t, pair[1]))
			}
		}
		same(t, "commutativity: a⊔b vs b⊔a", join(a, b), join(b, a))
		same(t, "associativity: (a⊔b)⊔c vs a⊔(b⊔c)", join(join(a, b), c), join(a, join(b, c)))
		same(t, "idempotence: a⊔a vs a", join(a, a), a)
		self := a.Clone()
		self.Merge(self)
		same(t, "idempotence: a.Merge(a) vs a", self, a)
		same(t, "Clone", a.Clone(), a)
	})
}

// CheckDeltas checks that merging an operation's delta into the state
// before it gives the state after it, directly and after a third replica's
// state is merged in.
func CheckDeltas[T crdt.State[T]](t *testing.T, spec Spec[T]) {
	t.Helper()
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t, spec, rapid.IntRange(2, 4).Draw(t, "replicas"))
		w.run(t, false)
		r := w.reps[rapid.IntRange(0, len(w.reps)-1).Draw(t, "at")]
		other := w.reps[rapid.IntRange(0, len(w.reps)-1).Draw(t, "other")].state.Clone()
		pre := r.state.Clone()
		op := spec.Op.Draw(t, "op")
		delta := op.Apply(&r.Replica, r.state)
		post := r.state

		got := pre.Clone()
		got.Merge(delta)
		same(t, op.Name+": pre⊔delta vs post", got, post)
		for _, rep := range w.reps {
			versionOf(t, op.Name+": delta", delta, rep.ID)
			versionOf(t, op.Name+": post", post, rep.ID)
		}

		viaDelta := other.Clone()
		viaDelta.Merge(pre)
		viaDelta.Merge(delta)
		viaState := other.Clone()
		viaState.Merge(post)
		same(t, op.Name+": other⊔pre⊔delta vs other⊔post", viaDelta, viaState)
	})
}

// CheckRoundTrip checks that states and deltas survive MarshalBinary and
// UnmarshalBinary, and the msgpack hooks if T has them.
func CheckRoundTrip[T crdt.State[T]](t *testing.T, spec Spec[T]) {
	t.Helper()
	rapid.Check(t, func(t *rapid.T) {
		for _, x := range pool(t, spec) {
			b := encode(t, x)
			y := decode(t, spec, b)
			same(t, "decode(encode(x)) vs x", y, x)
			if _, ok := any(x).(msgpack.CustomEncoder); !ok {
				continue
			}
			m, err := msgpack.Marshal(x)
			if err != nil {
				t.Fatalf("msgpack.Marshal: %v", err)
			}
			if !bytes.Equal(m, b) {
				t.Fatalf("msgpack.Marshal gave %x, MarshalBinary %x", m, b)
			}
			z := spec.New()
			if err := msgpack.Unmarshal(m, z); err != nil {
				t.Fatalf("msgpack.Unmarshal(%x): %v", m, err)
			}
			same(t, "msgpack round trip", z, x)
			if spec.Invariant != nil {
				spec.Invariant(t, z)
			}
		}
	})
}

// CheckConvergence runs 2 to 5 replicas through random operations and
// deliveries — reordered, duplicated, dropped and covered by a full-state
// merge — and checks that they end Equal with identical bytes, then runs
// the model check.
func CheckConvergence[T crdt.State[T]](t *testing.T, spec Spec[T]) {
	t.Helper()
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t, spec, rapid.IntRange(2, 5).Draw(t, "replicas"))
		w.run(t, true)
		for i, r := range w.reps {
			if !r.seen.all(len(w.hist.Events)) {
				t.Fatalf("harness bug: replica %d did not see every operation", i)
			}
			same(t, fmt.Sprintf("replica %s vs replica %s after sync", r.ID, w.reps[0].ID), r.state, w.reps[0].state)
		}
		if spec.Model != nil {
			spec.Model(t, &w.hist, w.reps[0].state)
		}
	})
}

// same fails unless x and y are Equal and encode identically.
//
// The helpers below run for every state a law check builds, so they call
// t.Helper only on the way to a failure: on the way to a pass it costs a
// stack walk each time, a tenth of a law check's CPU.
func same[T crdt.State[T]](t *rapid.T, what string, x, y T) {
	xb, yb := marshal(t, x), marshal(t, y)
	if !x.Equal(y) {
		t.Helper()
		t.Fatalf("%s: not Equal:\n got %x\nwant %x", what, xb, yb)
	}
	if !y.Equal(x) {
		t.Helper()
		t.Fatalf("%s: Equal is not symmetric:\n%x\n%x", what, xb, yb)
	}
	if !bytes.Equal(xb, yb) {
		t.Helper()
		t.Fatalf("%s: Equal but encoded differently:\n got %x\nwant %x", what, xb, yb)
	}
}

// versionOf fails unless x's VersionOf(id), if it has one, is its
// Version().Get(id).
func versionOf(t *rapid.T, what string, x any, id vclock.ReplicaID) {
	v, ok := x.(interface {
		Version() *vclock.Clock
		VersionOf(vclock.ReplicaID) uint64
	})
	if !ok {
		return
	}
	if got, want := v.VersionOf(id), v.Version().Get(id); got != want {
		t.Helper()
		t.Fatalf("%s: VersionOf(%q) = %d, Version().Get = %d", what, id, got, want)
	}
}

// marshal returns x's MarshalBinary.
func marshal[T crdt.State[T]](t *rapid.T, x T) []byte {
	b, err := x.MarshalBinary()
	if err != nil {
		t.Helper()
		t.Fatalf("MarshalBinary: %v", err)
	}
	return b
}

// encode returns x's MarshalBinary, checking that AppendBinary writes the
// same bytes after a prefix it leaves alone. The round-trip check encodes
// every state and delta of its runs this way.
func encode[T crdt.State[T]](t *rapid.T, x T) []byte {
	b := marshal(t, x)
	prefix := []byte("prefix")
	a, err := x.AppendBinary(prefix[:len(prefix):len(prefix)])
	if err != nil {
		t.Helper()
		t.Fatalf("AppendBinary: %v", err)
	}
	if !bytes.Equal(a[:len(prefix)], prefix) || !bytes.Equal(a[len(prefix):], b) {
		t.Helper()
		t.Fatalf("AppendBinary(%q) gave %x, want the prefix and MarshalBinary's %x", prefix, a, b)
	}
	return b
}

func decode[T crdt.State[T]](t *rapid.T, spec Spec[T], b []byte) T {
	y := spec.New()
	if err := y.UnmarshalBinary(b); err != nil {
		t.Helper()
		t.Fatalf("UnmarshalBinary(%x): %v", b, err)
	}
	if again := encode(t, y); !bytes.Equal(again, b) {
		t.Helper()
		t.Fatalf("re-encoding a decoded value gave %x, want %x", again, b)
	}
	if spec.Invariant != nil {
		spec.Invariant(t, y)
	}
	return y
}
