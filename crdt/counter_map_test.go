package crdt_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

type pnMap = crdt.ORMap[string, *crdt.PNCounter]

func pnInc(id vclock.ReplicaID, n uint64) func(*crdt.PNCounter) *crdt.PNCounter {
	return func(c *crdt.PNCounter) *crdt.PNCounter { return c.Inc(id, n) }
}

func ccInc(id vclock.ReplicaID, n uint64) func(*crdt.CCounter) *crdt.CCounter {
	return func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(id, n) }
}

// TestORMapOfPNCounter checks the laws, deltas, round trips and
// convergence of a map of PNCounters, with callbacks that join two deltas.
func TestORMapOfPNCounter(t *testing.T) {
	t.Parallel()
	gen := mapOp(pnOps)
	crdttest.Check(t, crdttest.Spec[*pnMap]{
		New:       func() *pnMap { return new(pnMap) },
		Skew:      200 * time.Millisecond,
		Invariant: internalOK[*pnMap],
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*pnMap] {
			op := gen.Draw(t, "op")
			return crdttest.Op[*pnMap]{Name: op.name, Apply: op.apply}
		}),
	})
}

// TestORMapCounterRemoveVersusIncrement: a removal concurrent with an
// increment by a brings the key back with a's whole count, 2+3+1, those
// the remover had seen included, and b's count gone. A CCounter under the
// same history keeps only the increment the remover had not seen.
func TestORMapCounterRemoveVersusIncrement(t *testing.T) {
	var a, b, c pnMap
	var ca, cb, cc crdt.ORMap[string, *crdt.CCounter]
	b.Merge(a.Update("k", pnInc("a", 2)))
	b.Merge(a.Update("k", pnInc("a", 3)))
	a.Merge(b.Update("k", pnInc("b", 7)))
	c.Merge(a.Clone())
	cb.Merge(ca.Update("k", ccInc("a", 2)))
	cb.Merge(ca.Update("k", ccInc("a", 3)))
	ca.Merge(cb.Update("k", ccInc("b", 7)))
	cc.Merge(ca.Clone())
	if v, _ := c.Get("k"); v.Value() != 12 {
		t.Fatalf("before the removal: %v, want 12", v)
	}

	// Concurrently: c removes k, a increments it by 1.
	rm, inc := c.Remove("k"), a.Update("k", pnInc("a", 1))
	crm, cinc := cc.Remove("k"), ca.Update("k", ccInc("a", 1))

	for _, order := range [][2]*pnMap{{rm, inc}, {inc, rm}} {
		x := b.Clone()
		x.Merge(order[0])
		x.Merge(order[1])
		v, ok := x.Get("k")
		if !ok || v.Value() != 6 || v.Increments().Get("a") != 6 || v.Increments().Get("b") != 0 {
			t.Errorf("PNCounter: got %v (present %v), want k = 6, all of a's, none of b's", x, ok)
		}
		y := x.Clone()
		y.Merge(a.Clone())
		y.Merge(c.Clone())
		if !y.Equal(x) {
			t.Errorf("replicas disagree: %v and %v", x, y)
		}
	}
	for _, order := range [][2]*crdt.ORMap[string, *crdt.CCounter]{{crm, cinc}, {cinc, crm}} {
		x := cb.Clone()
		x.Merge(order[0])
		x.Merge(order[1])
		if v, ok := x.Get("k"); !ok || v.Value() != 1 {
			t.Errorf("CCounter: got %v, want k = 1, the increment the remover had not seen", x)
		}
	}
}

// TestORMapCounterRemovalThenIncrement: an increment after the replica has
// seen the removal starts the key afresh.
func TestORMapCounterRemovalThenIncrement(t *testing.T) {
	var a, b pnMap
	b.Merge(a.Update("k", pnInc("a", 5)))
	a.Merge(b.Remove("k"))
	b.Merge(a.Update("k", pnInc("a", 1)))
	for _, m := range []*pnMap{&a, &b} {
		if v, _ := m.Get("k"); v.Value() != 1 {
			t.Errorf("got %v, want k = 1", m)
		}
	}
}

// TestORMapCounterTwoEntriesOfOneReplica: a replica that has not yet seen
// a removal can hold two entries of replica a — the one the removal took
// away at a, and the one a wrote after it. That state comes from correct
// replicas, so it must encode and decode; both entries count until the
// removal arrives.
func TestORMapCounterTwoEntriesOfOneReplica(t *testing.T) {
	var a, b, c pnMap
	d1 := a.Update("k", pnInc("a", 5))
	b.Merge(d1)
	c.Merge(d1)
	rm := c.Remove("k")
	a.Merge(rm)
	b.Merge(a.Update("k", pnInc("a", 1)))
	v, _ := b.Get("k")
	if v.Value() != 6 {
		t.Fatalf("b before the removal: %v, want 6 (5 and 1, two entries of a)", &b)
	}
	var back pnMap
	if err := back.UnmarshalBinary(mustMarshal(t, &b)); err != nil {
		t.Fatalf("a state with two entries of one replica: %v", err)
	}
	if !back.Equal(&b) {
		t.Fatalf("round trip: %v, want %v", &back, &b)
	}
	b.Merge(rm)
	if v, _ := b.Get("k"); v.Value() != 1 || !b.Equal(&a) {
		t.Fatalf("after the removal: %v, want %v", &b, &a)
	}
}

// TestORMapCounterOlderEntryAndLaterRemoval: x holds a's first entry; y
// is a's increment after a saw that entry removed; z removes y's entry.
// Letting a's larger dot win would give {} merging (x⊔y)⊔z and a's first
// entry merging x⊔(y⊔z); the join gives the first entry both ways, until
// the removal of that entry arrives.
func TestORMapCounterOlderEntryAndLaterRemoval(t *testing.T) {
	var a, x, c pnMap
	first := a.Update("k", pnInc("a", 5))
	x.Merge(first)
	c.Merge(first)
	rmFirst := c.Remove("k")
	a.Merge(rmFirst)
	y := a.Update("k", pnInc("a", 1))
	var w pnMap
	w.Merge(y)
	z := w.Remove("k")

	left := x.Clone()
	left.Merge(y)
	left.Merge(z)
	yz := y.Clone()
	yz.Merge(z)
	right := x.Clone()
	right.Merge(yz)
	if !left.Equal(right) {
		t.Fatalf("(x⊔y)⊔z = %v, x⊔(y⊔z) = %v", left, right)
	}
	if v, _ := left.Get("k"); v.Value() != 5 {
		t.Fatalf("got %v, want k = 5: a's first entry, whose removal has not arrived", left)
	}
	left.Merge(rmFirst)
	if left.Contains("k") {
		t.Fatalf("after the first removal arrives: %v, want no k", left)
	}
}

// TestORMapCounterRefusesMalformed: an entry whose dot the context lacks,
// and entries out of dot order or repeated, are refused as malformed.
func TestORMapCounterRefusesMalformed(t *testing.T) {
	var m pnMap
	m.Update("k", pnInc("a", 1))
	good := mustMarshal(t, &m)
	// The nested counter: [17, [replica 0, counter 1, inc 1, dec 0]].
	entry := []byte{0x92, 0x11, 0x94, 0x00, 0x01, 0x01, 0x00}
	if !bytes.Contains(good, entry) {
		t.Fatalf("encoding % x lacks the nested counter % x", good, entry)
	}
	for name, bad := range map[string][]byte{
		"dot not in context": {0x92, 0x11, 0x94, 0x00, 0x02, 0x01, 0x00},
		"no such replica":    {0x92, 0x11, 0x94, 0x01, 0x01, 0x01, 0x00},
		"repeated dot":       {0x92, 0x11, 0x98, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x02, 0x00},
		"not 4-tuples":       {0x92, 0x11, 0x93, 0x00, 0x01, 0x01},
		"GCounter's kind":    {0x92, 0x10, 0x94, 0x00, 0x01, 0x01, 0x00},
	} {
		var x pnMap
		err := x.UnmarshalBinary(bytes.Replace(good, entry, bad, 1))
		if !errors.Is(err, crdt.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestORMapCounterVersion: the map's Version counts each increment's dot,
// and so does the nested counter's.
func TestORMapCounterVersion(t *testing.T) {
	var m crdt.ORMap[string, *crdt.GCounter]
	for range 3 {
		m.Update("k", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc("a", 10) })
	}
	m.Update("j", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc("a", 1) })
	v, _ := m.Get("k")
	if m.Version().Get("a") != 4 || v.Version().Get("a") != 4 || v.Value() != 30 {
		t.Fatalf("Version %v, nested %v, value %d; want a:4, a:4, 30", m.Version(), v.Version(), v.Value())
	}
}

// TestDecodeCounterMapOrder: a nested counter's entries are in dot order,
// each dot once; two entries of one replica, with two dots, are valid.
func TestDecodeCounterMapOrder(t *testing.T) {
	type decoder interface{ UnmarshalBinary([]byte) error }
	pn := func() decoder { return new(pnMap) }
	g := func() decoder { return new(crdt.ORMap[string, *crdt.GCounter]) }
	const head = "97 01 1b c2 92 a2 77 31 a2 77 32 " // full state, replicas w1, w2
	for _, tt := range []struct {
		name, hex, reason string // reason: a word of the error, "" if valid
		into              func() decoder
	}{
		{"PNCounter valid", head + "94 01 90 01 90 92 a1 61 92 11 98 00 01 01 00 01 01 02 00 90", "", pn},
		{"PNCounter replicas unsorted", head + "94 01 90 01 90 92 a1 61 92 11 98 01 01 02 00 00 01 01 00 90", "out of order", pn},
		{"PNCounter dot repeated", head + "94 01 90 01 90 92 a1 61 92 11 98 00 01 01 00 00 01 02 00 90", "out of order or repeated", pn},
		{"PNCounter two entries of w1", head + "94 02 90 01 90 92 a1 61 92 11 98 00 01 01 00 00 02 03 00 90", "", pn},
		{"PNCounter counters unsorted", head + "94 02 90 01 90 92 a1 61 92 11 98 00 02 03 00 00 01 01 00 90", "out of order", pn},
		{"PNCounter no entry", head + "94 01 90 01 90 92 a1 61 92 11 90 90", "empty value", pn},
		{"GCounter valid", head + "94 01 90 01 90 92 a1 61 92 10 96 00 01 01 01 01 02 90", "", g},
		{"GCounter replicas unsorted", head + "94 01 90 01 90 92 a1 61 92 10 96 01 01 02 00 01 01 90", "out of order", g},
		{"GCounter replica past the list", head + "94 01 90 01 90 92 a1 61 92 10 93 02 01 01 90", "no listed replica", g},
		{"GCounter count not an integer", head + "94 01 90 01 90 92 a1 61 92 10 93 00 01 a1 78 90", "want an unsigned integer", g},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := hex.DecodeString(strings.ReplaceAll(tt.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.into().UnmarshalBinary(in)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("the valid encoding is refused: %v", err)
				}
				return
			}
			if !errors.Is(err, crdt.ErrMalformed) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("got %v, want ErrMalformed saying %q", err, tt.reason)
			}
		})
	}
}

// TestDecodeCounterMapWithinAllocBound: a nested counter claiming far more
// entries than the input holds, and an honest one of many entries, decode
// within the allocation bound every decoder keeps.
func TestDecodeCounterMapWithinAllocBound(t *testing.T) {
	const n = 3000
	head := []byte{0x97, 0x01, 0x1b, 0xc2, 0x91, 0xa1, 'a', 0x92, 0xcd, n >> 8, n & 0xff, 0x90, 0x92, 0xa1, 'k', 0x92, 0x11}
	var honest []byte
	for c := 1; c <= n; c++ {
		honest = append(wire.AppendUint(append(honest, 0x00), uint64(c)), 0x01, 0x00)
	}
	for name, in := range map[string][]byte{
		"claims 2^31 entries": join(head, []byte{0xdd, 0x7f, 0xff, 0xff, 0xfc}, honest[:40], []byte{0x90}),
		"3000 entries":        join(head, arrayHeader(4*n), honest, []byte{0x90}),
	} {
		var m pnMap
		var err error
		got := bytesAllocated(func() { m = pnMap{}; err = m.UnmarshalBinary(in) })
		if name == "3000 entries" && err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if limit := allocLimit(len(in)); got > limit {
			t.Errorf("%s: %d input bytes allocated %d bytes, want at most %d", name, len(in), got, limit)
		}
	}
}

// TestORMapCounterStaleDeltaAndEqual: a stale increment delta, whose entry
// a later increment replaced, is consistent (ValidateMerge accepts it) and
// merges to nothing; two maps that differ only in one entry's counts are
// not Equal.
func TestORMapCounterStaleDeltaAndEqual(t *testing.T) {
	var a pnMap
	stale := a.Update("k", pnInc("a", 1))
	a.Update("k", pnInc("a", 2))
	before := a.Clone()
	if err := a.ValidateMerge(stale); err != nil {
		t.Fatalf("stale delta refused: %v", err)
	}
	a.Merge(stale)
	if !a.Equal(before) {
		t.Fatalf("a stale delta changed the map: %v, was %v", &a, before)
	}
	var x, y pnMap
	x.Update("k", pnInc("a", 1))
	y.Update("k", pnInc("a", 2))
	if x.Equal(&y) {
		t.Fatalf("%v Equal %v", &x, &y)
	}
}

// TestNestedCounterMethods: a counter taken from a map reads as a
// top-level one; its Clone is a top-level counter; Merge of a top-level
// counter into it changes nothing, and its Clamp leaves the map's context
// alone (ORMap.Clamp clamps it).
func TestNestedCounterMethods(t *testing.T) {
	var m crdt.ORMap[string, *crdt.GCounter]
	m.Update("k", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc("a", 2) })
	m.Update("k", func(c *crdt.GCounter) *crdt.GCounter { return c.Inc("b", 3) })
	c, _ := m.Get("k")
	if c.Value() != 5 || c.Get("a") != 2 || c.String() != "5" {
		t.Fatalf("nested counter reads %v, a=%d", c, c.Get("a"))
	}
	top := c.Clone()
	top.Inc("a", 1)
	if c.Value() != 5 || top.Value() != 6 {
		t.Fatalf("Clone shares state: nested %v, clone %v", c, top)
	}
	var z crdt.GCounter
	z.Inc("a", 2)
	z.Inc("b", 3)
	if got, want := mustMarshal(t, c), mustMarshal(t, &z); !bytes.Equal(got, want) {
		t.Fatalf("nested counter's top-level encoding %x, want %x", got, want)
	}
	c.Merge(top)
	c.Clamp("a", 0)
	if c.Value() != 5 || m.Version().Get("a") != 1 {
		t.Fatalf("after Merge and Clamp of the nested counter: %v, map version %v", c, m.Version())
	}
	m.Clamp("a", 0)
	if c, _ := m.Get("k"); c.Value() != 3 {
		t.Fatalf("after ORMap.Clamp(a, 0): %v, want 3", c)
	}
}
