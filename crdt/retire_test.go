package crdt_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

type registers = crdt.ORMap[string, *crdt.MVRegister[string]]

// incarnation returns the writer ID of incarnation i of node: fixed width,
// so that a node's incarnations form a range.
func incarnation(node string, i int) vclock.ReplicaID {
	return vclock.ReplicaID(fmt.Sprintf("%s~%04d", node, i))
}

// rewrite has incarnations from..to-1 of app each set ten of 100 keys, in
// turn, so that the last ten incarnations hold every key.
func rewrite(m *registers, from, to int) {
	for i := from; i < to; i++ {
		w := incarnation("app", i)
		for k := range 10 {
			key := fmt.Sprintf("user-%02d", (i*10+k)%100)
			m.Update(key, func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] {
				return r.Set(w, fmt.Sprintf("value %d of %s", i, key))
			})
		}
	}
}

// TestRetireShrinksContext: 1,000 incarnations of one node rewrite the
// same 100 keys; once every one but the last is retired, the encoded map
// and the heap it holds are within 2× of a map that only the ten
// incarnations still holding values ever wrote to.
func TestRetireShrinksContext(t *testing.T) {
	const n = 1000
	var retired *registers
	heap := heapHeld(func() any {
		retired = new(registers)
		rewrite(retired, 0, n)
		if _, err := retired.Retire(incarnation("app", 0), incarnation("app", n-2)); err != nil {
			t.Fatal(err)
		}
		return retired
	})
	var live *registers
	liveHeap := heapHeld(func() any {
		live = new(registers)
		rewrite(live, n-10, n)
		return live
	})
	var kept *registers
	keptHeap := heapHeld(func() any {
		kept = new(registers)
		rewrite(kept, 0, n)
		return kept
	})
	enc, liveEnc, keptEnc := mustMarshal(t, retired), mustMarshal(t, live), mustMarshal(t, kept)
	t.Logf("encoded: retired %d B, live only %d B, unretired %d B; heap: %d, %d, %d B",
		len(enc), len(liveEnc), len(keptEnc), heap, liveHeap, keptHeap)
	if len(keptEnc) <= 2*len(liveEnc) {
		t.Fatalf("unretired map %d B, live-only %d B: the test cannot tell retirement apart", len(keptEnc), len(liveEnc))
	}
	if len(enc) > 2*len(liveEnc) || heap > 2*liveHeap {
		t.Errorf("retired: %d B encoded, %d B heap; want ≤ 2× the live-only map's %d B and %d B", len(enc), heap, len(liveEnc), liveHeap)
	}
	if got, want := retired.String(), live.String(); got != want {
		t.Errorf("retiring changed the values:\n got %s\nwant %s", got, want)
	}
	if err := retired.CheckInternal(); err != nil {
		t.Fatal(err)
	}
	if c := retired.Context(); c.VersionVector().Len() != 10 {
		t.Errorf("context %v: want the ten incarnations holding values", c)
	}
}

// TestRetireRefusesOldWrites: after retirement, a replayed delta of a
// retired writer changes nothing, and its encoding says why: the range is
// on the wire.
func TestRetireRefusesOldWrites(t *testing.T) {
	var a crdt.ORSet[string]
	old := a.Add("app~0001", "x")
	gone := a.Remove("x")
	a.Add("app~0002", "y")
	d, err := a.Retire("app~0000", "app~0001")
	if err != nil {
		t.Fatal(err)
	}
	before := a.String()
	a.Merge(old)
	if a.String() != before || a.Contains("x") {
		t.Errorf("a retired writer's old add came back: %s", a.String())
	}
	var b crdt.ORSet[string]
	b.Merge(old)
	b.Merge(gone)
	b.Merge(d)
	if got := b.Retired(); !slices.Equal(got, []crdt.IDRange{{Lo: "app~0000", Hi: "app~0001"}}) {
		t.Errorf("b retired %v", got)
	}
	var c crdt.ORSet[string]
	if err := c.UnmarshalBinary(mustMarshal(t, &a)); err != nil {
		t.Fatal(err)
	}
	if !c.Equal(&a) || !slices.Equal(c.Retired(), a.Retired()) {
		t.Errorf("round trip: %v %v, want %v %v", c.String(), c.Retired(), a.String(), a.Retired())
	}
	c.Merge(old)
	if c.Contains("x") {
		t.Error("a decoded state took a retired writer's old add")
	}
	defer func() {
		if recover() == nil {
			t.Error("a retired writer wrote again")
		}
	}()
	a.Add("app~0001", "z")
}

// TestRetireUnseenWritesGo: the safety rule broken — b holds an element of
// a writer that a retired without having seen it. The element is taken
// for removed, on both sides, and the two still converge.
func TestRetireUnseenWritesGo(t *testing.T) {
	var a, b crdt.ORSet[string]
	b.Add("app~0001", "unseen")
	a.Add("eu", "kept")
	if _, err := a.Retire("app~0000", "app~0009"); err != nil {
		t.Fatal(err)
	}
	ab, ba := a.Clone(), b.Clone()
	ab.Merge(&b)
	ba.Merge(&a)
	if !ab.Equal(ba) || ab.Contains("unseen") || !ab.Contains("kept") {
		t.Errorf("a⊔b = %s, b⊔a = %s; want both {kept}", ab.String(), ba.String())
	}
}

func TestRetireBadRange(t *testing.T) {
	var s crdt.ORSet[string]
	for _, g := range []crdt.IDRange{{Lo: "b", Hi: "a"}, {Lo: "a", Hi: "bb"}, {}} {
		if _, err := s.Retire(g.Lo, g.Hi); !errors.Is(err, crdt.ErrBadRange) {
			t.Errorf("Retire(%q, %q): got %v, want ErrBadRange", g.Lo, g.Hi, err)
		}
	}
}

// TestRetiredRangesDecode: the decoder refuses ranges that are not
// canonical.
func TestRetiredRangesDecode(t *testing.T) {
	for name, gs := range map[string][]crdt.IDRange{
		"reversed":     {{Lo: "b", Hi: "a"}},
		"lengths":      {{Lo: "a", Hi: "bb"}},
		"order":        {{Lo: "c", Hi: "d"}, {Lo: "a", Hi: "b"}},
		"overlapping":  {{Lo: "a", Hi: "c"}, {Lo: "b", Hi: "d"}},
		"repeated":     {{Lo: "a", Hi: "a"}, {Lo: "a", Hi: "a"}},
		"longer first": {{Lo: "aa", Hi: "aa"}, {Lo: "a", Hi: "a"}},
	} {
		// An ORSet, full, with no replica, no element and these ranges.
		b := []byte{0x95, 0x01, 0x14, 0xc2, 0x90, 0x90 + byte(2*len(gs))}
		for _, g := range gs {
			for _, s := range []vclock.ReplicaID{g.Lo, g.Hi} {
				b = append(append(b, 0xa0+byte(len(s))), s...)
			}
		}
		b = append(b, 0x90, 0x90)
		var s crdt.ORSet[string]
		if err := s.UnmarshalBinary(b); !errors.Is(err, crdt.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
	var s crdt.ORSet[string]
	if _, err := s.Retire("a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retire("aa", "ab"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retire("b", "c"); err != nil { // overlaps a..b: coalesced
		t.Fatal(err)
	}
	want := []crdt.IDRange{{Lo: "a", Hi: "c"}, {Lo: "aa", Hi: "ab"}}
	if !slices.Equal(s.Retired(), want) {
		t.Errorf("got %v, want %v", s.Retired(), want)
	}
	var d crdt.ORSet[string]
	if err := d.UnmarshalBinary(mustMarshal(t, &s)); err != nil || !slices.Equal(d.Retired(), want) {
		t.Errorf("round trip: %v, %v", d.Retired(), err)
	}
}

// TestRetireProperty: replicas add and remove under incarnations that
// change as they restart (from their own state or another's), deliver
// deltas and encoded states in any order with duplicates, then receive
// every delta made so far; one of them then retires every incarnation but
// the current ones. From there on — more writes, more deliveries, old deltas of retired
// writers replayed anywhere — the replicas converge to what the same run
// without retirement gives, and every encoding lists no retired writer
// that holds nothing.
func TestRetireProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var w retireWorld
		for range rapid.IntRange(0, 40).Draw(t, "before") {
			w.step(t)
		}
		// The safety rule: every event of the writers retired has reached
		// every replica — every delta ever made, the lost ones included.
		for i := range retireReplicas {
			for _, d := range w.log {
				w.reps[i].Merge(d)
				w.shadow[i].Merge(d)
			}
		}
		w.syncAll()
		r := rapid.IntRange(0, retireReplicas-1).Draw(t, "retirer")
		for i := range retireReplicas {
			if w.inc[i] == 0 {
				continue
			}
			d, err := w.reps[r].Retire(incarnation(fmt.Sprint("r", i), 0), incarnation(fmt.Sprint("r", i), w.inc[i]-1))
			if err != nil {
				t.Fatal(err)
			}
			w.log = append(w.log, d)
		}
		for range rapid.IntRange(0, 40).Draw(t, "after") {
			w.step(t)
		}
		w.syncAll()
		for i := range retireReplicas {
			w.check(t, i)
		}
	})
}

const retireReplicas = 3

// A retireWorld is the replicas of TestRetireProperty, each beside its
// shadow, which plays the same operations without retirement.
type retireWorld struct {
	reps, shadow [retireReplicas]crdt.ORSet[string]
	inc          [retireReplicas]int   // each replica's incarnation
	log          []*crdt.ORSet[string] // every delta ever made
}

func (w *retireWorld) writer(i int) vclock.ReplicaID {
	return incarnation(fmt.Sprint("r", i), w.inc[i])
}

// step plays one operation at a replica.
func (w *retireWorld) step(t *rapid.T) {
	i := rapid.IntRange(0, retireReplicas-1).Draw(t, "replica")
	switch rapid.IntRange(0, 4).Draw(t, "op") {
	case 0, 1:
		e := rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(t, "elem")
		var d *crdt.ORSet[string]
		if rapid.Bool().Draw(t, "add") {
			d = w.reps[i].Add(w.writer(i), e)
			w.shadow[i].Add(w.writer(i), e)
		} else {
			d = w.reps[i].Remove(e)
			w.shadow[i].Remove(e)
		}
		w.log = append(w.log, d)
	case 2:
		if len(w.log) > 0 {
			d := w.log[rapid.IntRange(0, len(w.log)-1).Draw(t, "delta")]
			w.reps[i].Merge(d)
			w.shadow[i].Merge(d)
		}
	case 3:
		w.inc[i]++ // a restart: the state stays, the writer changes
	case 4:
		w.receiveState(t, i)
	}
}

// receiveState merges another replica's state into replica i, over the
// wire: what its encoding leaves out of the context is gone. Sometimes
// replica i then restarts from that state, as from an old snapshot, under
// a new writer, as merge.Open starts one.
func (w *retireWorld) receiveState(t *rapid.T, i int) {
	j := rapid.IntRange(0, retireReplicas-1).Draw(t, "from")
	o := retireRoundTrip(t, &w.reps[j])
	w.reps[i].Merge(o)
	w.shadow[i].Merge(&w.shadow[j])
	if rapid.Bool().Draw(t, "replace") {
		w.reps[i], w.shadow[i] = *o, *w.shadow[j].Clone()
		w.inc[i]++
	}
}

func (w *retireWorld) syncAll() {
	for range 2 {
		for i := range retireReplicas {
			for j := range retireReplicas {
				w.reps[i].Merge(&w.reps[j])
				w.shadow[i].Merge(&w.shadow[j])
			}
		}
	}
}

// check fails t unless replica i agrees with replica 0 and with its
// shadow, survives a round trip, and lists no retired writer that holds
// nothing.
func (w *retireWorld) check(t *rapid.T, i int) {
	s := &w.reps[i]
	if err := s.CheckInternal(); err != nil {
		t.Fatal(err)
	}
	if !s.Equal(&w.reps[0]) {
		t.Fatalf("replica %d %s, replica 0 %s", i, s.String(), w.reps[0].String())
	}
	if got, want := s.String(), w.shadow[i].String(); got != want {
		t.Fatalf("replica %d: %s, without retirement %s", i, got, want)
	}
	dec := retireRoundTrip(t, s)
	if !dec.Equal(s) {
		t.Fatalf("replica %d does not survive a round trip", i)
	}
	for j := range retireReplicas {
		for inc := range w.inc[j] + 1 {
			id := incarnation(fmt.Sprint("r", j), inc)
			if got, want := s.VersionOf(id), s.Version().Get(id); got != want {
				t.Fatalf("replica %d: VersionOf(%s) = %d, Version().Get = %d", i, id, got, want)
			}
		}
	}
	for id := range dec.Context().VersionVector().All() {
		for _, g := range dec.Retired() {
			if g.Contains(id) && dec.DotsOf(id) == 0 {
				t.Fatalf("replica %d lists retired %s, which holds nothing", i, id)
			}
		}
	}
}

// retireRoundTrip returns s encoded and decoded.
func retireRoundTrip(t *rapid.T, s *crdt.ORSet[string]) *crdt.ORSet[string] {
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var o crdt.ORSet[string]
	if err := o.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return &o
}

// retirable is what TestRetireEachType needs of a causal type.
type retirable[T any] interface {
	Merge(T)
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
	Retire(lo, hi vclock.ReplicaID) (T, error)
	Context() *vclock.Context
	String() string
}

// checkRetire plays, on a fresh value of each type: old, a write of the
// incarnations app~0000..app~0009, then now, a write of app~0010 that
// supersedes theirs; it retires app~0000..app~0009 and checks that the
// value is unchanged, that its encoding lists app~0010 alone, that the
// retirement's delta carries the range to another replica, and that the
// old writes merged again change nothing, before or after a round trip.
func checkRetire[T retirable[T]](t *testing.T, newT func() T, old func(s T, w vclock.ReplicaID) T, now func(s T) T) {
	t.Helper()
	s, other := newT(), newT()
	var olds []T
	for i := range 10 {
		d := old(s, incarnation("app", i))
		olds = append(olds, d)
		other.Merge(d)
	}
	other.Merge(now(s))
	want := s.String()
	d, err := s.Retire(incarnation("app", 0), incarnation("app", 9))
	if err != nil {
		t.Fatal(err)
	}
	other.Merge(d)
	dec := newT()
	if err := dec.UnmarshalBinary(mustMarshal(t, s)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []T{s, other, dec} {
		for _, o := range olds {
			v.Merge(o)
		}
		if v.String() != want {
			t.Errorf("%s, want %s", v.String(), want)
		}
	}
	if err := dec.UnmarshalBinary(mustMarshal(t, other)); err != nil {
		t.Fatal(err)
	}
	if c := dec.Context(); c.VersionVector().Len() != 1 || c.VersionVector().Get("app~0010") == 0 {
		t.Errorf("context after retirement %v, want app~0010 alone", c)
	}
}

func TestRetireEachType(t *testing.T) {
	const w = "app~0010"
	t.Run("ORSet", func(t *testing.T) {
		checkRetire(t, func() *crdt.ORSet[string] { return new(crdt.ORSet[string]) },
			func(s *crdt.ORSet[string], id vclock.ReplicaID) *crdt.ORSet[string] { return s.Add(id, "x") },
			func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "x") })
	})
	t.Run("RWSet", func(t *testing.T) {
		checkRetire(t, func() *crdt.RWSet[string] { return new(crdt.RWSet[string]) },
			func(s *crdt.RWSet[string], id vclock.ReplicaID) *crdt.RWSet[string] { return s.Remove(id, "x") },
			func(s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Add(w, "x") })
	})
	t.Run("EWFlag", func(t *testing.T) {
		checkRetire(t, func() *crdt.EWFlag { return new(crdt.EWFlag) },
			func(f *crdt.EWFlag, id vclock.ReplicaID) *crdt.EWFlag { return f.Enable(id) },
			func(f *crdt.EWFlag) *crdt.EWFlag { return f.Enable(w) })
	})
	t.Run("DWFlag", func(t *testing.T) {
		checkRetire(t, func() *crdt.DWFlag { return new(crdt.DWFlag) },
			func(f *crdt.DWFlag, id vclock.ReplicaID) *crdt.DWFlag { return f.Enable(id) },
			func(f *crdt.DWFlag) *crdt.DWFlag { return f.Disable(w) })
	})
	t.Run("MVRegister", func(t *testing.T) {
		checkRetire(t, func() *crdt.MVRegister[string] { return new(crdt.MVRegister[string]) },
			func(r *crdt.MVRegister[string], id vclock.ReplicaID) *crdt.MVRegister[string] {
				return r.Set(id, string(id))
			},
			func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] { return r.Set(w, "now") })
	})
	t.Run("CCounter", func(t *testing.T) {
		checkRetire(t, func() *crdt.CCounter { return new(crdt.CCounter) },
			func(c *crdt.CCounter, id vclock.ReplicaID) *crdt.CCounter { return c.Inc(id, 1) },
			func(c *crdt.CCounter) *crdt.CCounter {
				d := c.Reset()
				d.Merge(c.Inc(w, 5))
				return d
			})
	})
	t.Run("ORMap", func(t *testing.T) {
		checkRetire(t, func() *crdt.ORMap[string, *crdt.ORSet[string]] { return new(crdt.ORMap[string, *crdt.ORSet[string]]) },
			func(m *crdt.ORMap[string, *crdt.ORSet[string]], id vclock.ReplicaID) *crdt.ORMap[string, *crdt.ORSet[string]] {
				return m.Update("k", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(id, "x") })
			},
			func(m *crdt.ORMap[string, *crdt.ORSet[string]]) *crdt.ORMap[string, *crdt.ORSet[string]] {
				return m.Update("k", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, "x") })
			})
	})
}
