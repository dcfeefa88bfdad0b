package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

type listMap = crdt.ORMap[string, *crdt.List[string]]

func listIns(id vclock.ReplicaID, i int, es ...string) func(*crdt.List[string]) *crdt.List[string] {
	return func(l *crdt.List[string]) *crdt.List[string] { return l.InsertAll(id, i, es...) }
}

func listDel(i int) func(*crdt.List[string]) *crdt.List[string] {
	return func(l *crdt.List[string]) *crdt.List[string] { return l.Delete(i) }
}

// values returns the elements of k's list, and whether k is present.
func values(m *listMap, k string) ([]string, bool) {
	l, ok := m.Get(k)
	if !ok {
		return nil, false
	}
	return slices.Collect(l.Values()), true
}

// fataler is what testing.TB and *rapid.T share.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func marshal(t fataler, v interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	return b
}

// sameMaps fails t unless the maps are Equal, encode alike and pass their
// bookkeeping checks.
func sameMaps(t fataler, ms ...*listMap) {
	t.Helper()
	want := marshal(t, ms[0])
	for i, m := range ms {
		if err := m.CheckInternal(); err != nil {
			t.Fatalf("map %d: %v", i, err)
		}
		if !m.Equal(ms[0]) || !bytes.Equal(marshal(t, m), want) {
			t.Fatalf("map %d = %v, map 0 = %v", i, m, ms[0])
		}
	}
}

// TestORMapListRemoveVersusInsert is the case that once kept List out of
// ORMap: a removes k, having seen "milk" and "eggs", while b, concurrently,
// inserts "bread" between them. A map that forgot the elements the
// removal observed would hold "bread" with both its origins gone, never
// to be placed. Both replicas show exactly b's element, placed by the
// tombstones; inserts next to it work; and a third replica that gets the
// removal before anything else converges too.
func TestORMapListRemoveVersusInsert(t *testing.T) {
	var a, b, c listMap
	first := a.Update("k", listIns("a", 0, "milk", "eggs"))
	b.Merge(first)
	rm := a.Remove("k")
	ins := b.Update("k", listIns("b", 1, "bread"))
	if a.Contains("k") || a.Len() != 0 {
		t.Fatalf("after Remove: %v, want k absent", &a)
	}
	a.Merge(ins)
	b.Merge(rm)
	for name, m := range map[string]*listMap{"a": &a, "b": &b} {
		if got, ok := values(m, "k"); !ok || !slices.Equal(got, []string{"bread"}) {
			t.Fatalf("%s: k = %v (present %v), want [bread]", name, got, ok)
		}
	}
	sameMaps(t, &a, &b)

	// c receives the removal first, then the insert, then the elements
	// the removal deleted.
	c.Merge(rm)
	c.Merge(ins)
	if got, _ := values(&c, "k"); len(got) != 0 {
		t.Fatalf("c before bread's origins: k = %v, want nothing placed", got)
	}
	c.Merge(first)
	sameMaps(t, &a, &b, &c)

	// Concurrent inserts around bread, one on each side.
	d1 := a.Update("k", listIns("a", 0, "jam"))
	d2 := b.Update("k", listIns("b", 1, "tea"))
	a.Merge(d2)
	b.Merge(d1)
	c.Merge(d2)
	c.Merge(d1)
	for name, m := range map[string]*listMap{"a": &a, "b": &b, "c": &c} {
		if got, _ := values(m, "k"); !slices.Equal(got, []string{"jam", "bread", "tea"}) {
			t.Fatalf("%s: k = %v, want [jam bread tea]", name, got)
		}
	}
	sameMaps(t, &a, &b, &c)
}

// TestORMapListHiddenKey: a key whose list holds tombstones only is
// absent from Get, Contains, Len, Keys and String, but its list is kept:
// it survives an encoding round trip, a delta carries it, and an Update
// of the key inserts after the tombstones.
func TestORMapListHiddenKey(t *testing.T) {
	var m, peer listMap
	peer.Merge(m.Update("k", listIns("a", 0, "x", "y")))
	peer.Merge(m.Update("j", listIns("a", 0, "z")))
	d := m.Update("k", func(l *crdt.List[string]) *crdt.List[string] { return l.DeleteRange(0, 2) })
	if m.Contains("k") || m.Len() != 1 || slices.Collect(m.Keys())[0] != "j" || m.String() != "{j:[z]}" {
		t.Fatalf("after deleting k's elements: %v, Len %d, want only j", &m, m.Len())
	}
	if _, ok := m.Get("k"); ok {
		t.Fatal("Get of a hidden key reports it present")
	}
	back := new(listMap)
	if err := back.UnmarshalBinary(mustMarshal(t, &m)); err != nil {
		t.Fatal(err)
	}
	sameMaps(t, &m, back)
	peer.Merge(d)
	sameMaps(t, &m, &peer)
	if rm := m.Remove("k"); rm.Len() != 0 || len(mustMarshal(t, rm)) != len(mustMarshal(t, new(listMap).Remove("k"))) {
		t.Fatalf("Remove of a hidden key: %v, want an empty delta", rm)
	}
	peer.Merge(m.Update("k", listIns("a", 0, "w")))
	if got, _ := values(&peer, "k"); !slices.Equal(got, []string{"w"}) {
		t.Fatalf("after an insert into the hidden key: %v, want [w]", got)
	}
	l, _ := peer.Get("k")
	p, _ := l.PositionAt(0)
	if p.Counter != 4 {
		t.Fatalf("the new element has position %v, want counter 4: a dot of the map's context after x, y, z", p)
	}
}

// TestORMapListWaitingElement: a replica holding an element whose origin
// it has not received shows the key present with nothing placed; removing
// the key deletes that element too, so it never shows, while the origin,
// which the remover had not seen, survives.
func TestORMapListWaitingElement(t *testing.T) {
	var a, b, c listMap
	b.Merge(a.Update("k", listIns("a", 0, "x")))
	ins := b.Update("k", listIns("b", 1, "y"))
	c.Merge(ins)
	if l, ok := c.Get("k"); !ok || l.Len() != 0 || c.Len() != 1 {
		t.Fatalf("c holding y alone: %v (present %v), want k present and empty", &c, ok)
	}
	rm := c.Remove("k")
	c.Merge(&a)
	a.Merge(rm)
	a.Merge(ins)
	for name, m := range map[string]*listMap{"a": &a, "c": &c} {
		if got, _ := values(m, "k"); !slices.Equal(got, []string{"x"}) {
			t.Fatalf("%s: k = %v, want [x]: y removed, x unseen by the remover", name, got)
		}
	}
	sameMaps(t, &a, &c)
}

// TestORMapListModel runs one replica against a map of slices: inserts,
// deletions and key removals in random keys.
func TestORMapListModel(t *testing.T) {
	t.Parallel()
	keys := []string{"k1", "k2", "k3"}
	rapid.Check(t, func(t *rapid.T) {
		var m listMap
		model := map[string][]string{}
		for step := range rapid.IntRange(1, 80).Draw(t, "steps") {
			k := rapid.SampledFrom(keys).Draw(t, "key")
			s := model[k]
			i := rapid.IntRange(-1, len(s)+1).Draw(t, "i")
			v := fmt.Sprint(step)
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0:
				m.Remove(k)
				delete(model, k)
			case 1:
				m.Update(k, listDel(i))
				if i >= 0 && i < len(s) {
					model[k] = slices.Delete(s, i, i+1)
				}
			case 2:
				j := rapid.IntRange(-1, len(s)+1).Draw(t, "j")
				m.Update(k, func(l *crdt.List[string]) *crdt.List[string] { return l.DeleteRange(i, j) })
				if a, b := max(i, 0), min(j, len(s)); a < b {
					model[k] = slices.Delete(s, a, b)
				}
			default:
				m.Update(k, listIns("r", i, v, v+"'"))
				model[k] = slices.Insert(s, max(min(i, len(s)), 0), v, v+"'")
			}
			if len(model[k]) == 0 {
				delete(model, k)
			}
			if err := m.CheckInternal(); err != nil {
				t.Fatal(err)
			}
			if got, want := slices.Collect(m.Keys()), slices.Sorted(func(yield func(string) bool) {
				for k := range model {
					if !yield(k) {
						return
					}
				}
			}); !slices.Equal(got, want) || m.Len() != len(want) {
				t.Fatalf("keys %v (Len %d), model %v", got, m.Len(), model)
			}
			for k, want := range model {
				if got, _ := values(&m, k); !slices.Equal(got, want) {
					t.Fatalf("%s = %v, model %v", k, got, want)
				}
			}
		}
	})
}

// TestORMapListConvergence has five replicas insert, delete and remove
// keys concurrently, and exchange their deltas — encoded and decoded,
// validated first — in random order with duplicates, with now and then a
// full state instead. Every replica ends with the same state and the same
// lists.
func TestORMapListConvergence(t *testing.T) {
	t.Parallel()
	keys := []string{"k1", "k2", "k3"}
	rapid.Check(t, func(t *rapid.T) {
		const n = 5
		reps := make([]*listMap, n)
		for i := range reps {
			reps[i] = new(listMap)
		}
		type msg struct {
			to int
			b  []byte
		}
		var queue []msg
		send := func(from int, d *listMap) {
			b := marshal(t, d)
			for to := range n {
				if to != from {
					queue = append(queue, msg{to, b})
				}
			}
		}
		receive := func(to int, b []byte) {
			var d listMap
			if err := d.UnmarshalBinary(b); err != nil {
				t.Fatalf("decoding %x: %v", b, err)
			}
			if err := reps[to].ValidateMerge(&d); err != nil {
				t.Fatalf("replica %d refuses %v: %v", to, &d, err)
			}
			reps[to].Merge(&d)
		}
		for step := range rapid.IntRange(1, 80).Draw(t, "steps") {
			switch act := rapid.IntRange(0, 9).Draw(t, "action"); {
			case act < 4 && len(queue) > 0:
				k := rapid.IntRange(0, len(queue)-1).Draw(t, "msg")
				m := queue[k]
				if !rapid.Bool().Draw(t, "duplicate") {
					queue = slices.Delete(queue, k, k+1)
				}
				receive(m.to, m.b)
			case act == 4:
				from, to := rapid.IntRange(0, n-1).Draw(t, "from"), rapid.IntRange(0, n-1).Draw(t, "to")
				receive(to, marshal(t, reps[from]))
			default:
				w := rapid.IntRange(0, n-1).Draw(t, "writer")
				id := vclock.ReplicaID(fmt.Sprint("r", w))
				k := rapid.SampledFrom(keys).Draw(t, "key")
				l, _ := reps[w].Get(k)
				size := 0
				if l != nil {
					size = l.Len()
				}
				i := rapid.IntRange(0, size).Draw(t, "i")
				var d *listMap
				switch rapid.IntRange(0, 5).Draw(t, "op") {
				case 0:
					d = reps[w].Remove(k)
				case 1, 2:
					d = reps[w].Update(k, listDel(i))
				default:
					d = reps[w].Update(k, listIns(id, i, fmt.Sprint(step), fmt.Sprint(-step)))
				}
				send(w, d)
			}
		}
		for _, m := range queue {
			receive(m.to, m.b)
		}
		sameMaps(t, reps...)
		for _, k := range keys {
			want, ok := values(reps[0], k)
			for i, r := range reps {
				if got, has := values(r, k); has != ok || !slices.Equal(got, want) {
					t.Fatalf("replica %d: %s = %v, replica 0: %v", i, k, got, want)
				}
			}
			if l, _ := reps[0].Get(k); ok && l.Len() == 0 {
				t.Fatalf("%s present with nothing placed after every delta arrived", k)
			}
		}
	})
}

// TestORMapListRefusesMalformed holds the nested List decoder to its
// rules, one broken per input, on a map whose key k holds "x" (a:1),
// "y" (b:1), inserted after it, and a deletion.
func TestORMapListRefusesMalformed(t *testing.T) {
	var m listMap
	m.Update("k", listIns("a", 0, "x", "z"))
	m.Update("k", listIns("b", 1, "y"))
	m.Update("k", listDel(2))
	good := mustMarshal(t, &m)
	// [30, [], deletions: a, one range at 2 of 1; runs: a 1..2 ("x", then
	// z deleted), b 1 between a:1 and a:2].
	nested := "941e" + "90" + "9400010201" + "9c" + "000002c0c0a178" + "010001920001920002a179"
	if !bytes.Contains(good, mustHex(t, nested)) {
		t.Fatalf("encoding %x lacks the nested list %s", good, nested)
	}
	var back listMap
	if err := back.UnmarshalBinary(good); err != nil || !back.Equal(&m) {
		t.Fatalf("the valid base: %v, %v", err, &back)
	}
	for name, bad := range map[string]string{
		"element's dot not in the context":  "941e" + "90" + "9400010201" + "9c" + "000002c0c0a178" + "010101920001920002a179",
		"deletion's dot not in the context": "941e" + "90" + "9400010301" + "9d" + "000002c0c0a178a17a" + "010001920001920002a179",
		"replica past the map's":            "941e" + "90" + "9400010201" + "9c" + "000002c0c0a178" + "020001920001920002a179",
		"a listed replica the map has":      "941e" + "91a161" + "9400010201" + "9c" + "000002c0c0a178" + "010001920001920002a179",
		"a listed replica not used":         "941e" + "91a163" + "9400010201" + "9c" + "000002c0c0a178" + "010001920001920002a179",
		"top-level form":                    "95011e" + "90" + "9400010201" + "9c" + "000002c0c0a178" + "010001920001920002a179",
		"CCounter's kind":                   "941c" + "90" + "9400010201" + "9c" + "000002c0c0a178" + "010001920001920002a179",
	} {
		in := bytes.Replace(good, mustHex(t, nested), mustHex(t, bad), 1)
		var x listMap
		err := x.UnmarshalBinary(in)
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, crdt.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestORMapListRefusesOneDotUnderTwoKeys: a dot names one element of one
// list, held or deleted; two keys whose lists both name r:1 are refused,
// as two values holding one dot are, whether the element is deleted in one
// of them or not. One key holding either list decodes.
func TestORMapListRefusesOneDotUnderTwoKeys(t *testing.T) {
	const head = "97011bc2" + "91a172" + "920190"                 // full state, replicas [r], context r 1..1
	const shown = "941e" + "90" + "90" + "96000001c0c0a3686174"   // [hat] at r:1
	const deleted = "941e" + "90" + "9400010101" + "95000001c0c0" // r:1, deleted
	for name, tt := range map[string]struct {
		hex string
		ok  bool
	}{
		"one key":                      {head + "92a161" + shown + "90", true},
		"one key, its element deleted": {head + "92a161" + deleted + "90", true},
		"two keys":                     {head + "94a161" + shown + "a162" + shown + "90", false},
		"two keys, one deleted":        {head + "94a161" + deleted + "a162" + shown + "90", false},
		"two keys, both deleted":       {head + "94a161" + deleted + "a162" + deleted + "90", false},
	} {
		var m listMap
		err := m.UnmarshalBinary(mustHex(t, tt.hex))
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if err := m.CheckInternal(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, crdt.ErrMalformed) || !strings.Contains(err.Error(), "one dot is held by two values") {
			t.Errorf("%s: got %v, want ErrMalformed for one dot under two keys", name, err)
		}
	}
}

// TestORMapListOriginOfAnotherReplica: the delta of b's insert after a's
// element holds no dot of a, so the map's replica list lacks a; the
// nested list lists a itself, after the map's, and the delta decodes and
// places its element where a's element is.
func TestORMapListOriginOfAnotherReplica(t *testing.T) {
	var a, b listMap
	b.Merge(a.Update("k", listIns("a", 0, "x")))
	d := b.Update("k", listIns("b", 1, "y"))
	enc := mustMarshal(t, d)
	// [30, ["a"], no deletions, run b:1 with left origin [1, 1]: the
	// list's replica "a", after the map's "b".
	if want := mustHex(t, "941e"+"91a161"+"90"+"96"+"000001920101c0a179"); !bytes.Contains(enc, want) {
		t.Fatalf("delta %x lacks %x", enc, want)
	}
	var back listMap
	if err := back.UnmarshalBinary(enc); err != nil || !back.Equal(d) {
		t.Fatalf("round trip: %v, %v", err, &back)
	}
	a.Merge(&back)
	if got, _ := values(&a, "k"); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("k = %v, want [x y]", got)
	}
}

// TestNestedListMethods: a list taken from a map reads as a top-level
// one; its Clone is a top-level List; Merge of a top-level list into it
// and its Clamp change nothing (ORMap.Clamp clamps it), and its Version
// and Edits are the map's.
func TestNestedListMethods(t *testing.T) {
	var m listMap
	m.Update("k", listIns("a", 0, "x", "y"))
	m.Update("j", listIns("b", 0, "z"))
	l, _ := m.Get("k")
	if l.String() != "[x y]" || l.Version().Get("b") != 1 || l.Edits() != m.Edits() {
		t.Fatalf("nested list %v, version %v, edits %d (map %d)", l, l.Version(), l.Edits(), m.Edits())
	}
	top := l.Clone()
	top.Append("a", "w")
	if l.Len() != 2 || top.Len() != 3 {
		t.Fatalf("Clone shares state: nested %v, clone %v", l, top)
	}
	var z crdt.List[string]
	z.Append("a", "x", "y")
	if got, want := mustMarshal(t, l), mustMarshal(t, &z); !bytes.Equal(got, want) {
		t.Fatalf("nested list's top-level encoding %x, want %x", got, want)
	}
	l.Merge(top)
	l.Clamp("a", 0)
	if l.String() != "[x y]" || m.Version().Get("a") != 2 {
		t.Fatalf("after Merge and Clamp of the nested list: %v, map version %v", l, m.Version())
	}
	m.Clamp("a", 1)
	if got, _ := values(&m, "k"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("after ORMap.Clamp(a, 1): %v, want [x]", got)
	}
	m.Clamp("a", 0)
	if m.Contains("k") || m.Len() != 1 {
		t.Fatalf("after ORMap.Clamp(a, 0): %v, want only j", &m)
	}
	if err := m.CheckInternal(); err != nil {
		t.Fatal(err)
	}
}

// TestORMapListDeleteAtUnknownPosition: inside a map, DeleteAt of a
// position the list does not hold records nothing — the dot may be
// another key's, and its deletion would remove that key's event.
func TestORMapListDeleteAtUnknownPosition(t *testing.T) {
	var m, other listMap
	other.Update("j", listIns("b", 0, "z"))
	d := m.Update("k", func(l *crdt.List[string]) *crdt.List[string] {
		d := l.Insert("a", 0, "x")
		d.Merge(l.DeleteAt(crdt.Position{Replica: "b", Counter: 1}))
		return d
	})
	m.Merge(&other)
	if got, _ := values(&m, "j"); !slices.Equal(got, []string{"z"}) {
		t.Fatalf("j = %v, want [z]: b:1 was not k's", got)
	}
	if strings.Contains(d.String(), "b") || d.Version().Get("b") != 0 {
		t.Fatalf("the delta %v claims b's event (version %v)", d, d.Version())
	}
}
