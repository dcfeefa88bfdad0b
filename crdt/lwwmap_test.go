package crdt_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/hlc"
	"pgregory.net/rapid"
)

type lwwMapOp struct {
	del      bool
	key, val string
}

func TestLWWMap(t *testing.T) {
	type M = crdt.LWWMap[string, string]
	crdttest.Check(t, crdttest.Spec[*M]{
		New:  func() *M { return new(M) },
		Skew: 500 * time.Millisecond,
		Invariant: func(t *rapid.T, m *M) {
			internalOK(t, m)
			n := 0
			for k := range m.Keys() {
				n++
				if !m.Contains(k) {
					t.Fatalf("Keys lists %s, Contains says no", k)
				}
			}
			if n != m.Len() {
				t.Fatalf("Len() = %d, Keys lists %d", m.Len(), n)
			}
		},
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*M] {
			op := lwwMapOp{rapid.IntRange(0, 3).Draw(t, "del") == 0, mapKeys.Draw(t, "key"), setElems.Draw(t, "val")}
			return crdttest.Op[*M]{
				Name: fmt.Sprint(op), Arg: op,
				Apply: func(r *crdttest.Replica, m *M) *M {
					if op.del {
						return m.Delete(r.ID, op.key, r.Clock.Now())
					}
					return m.Set(r.ID, op.key, op.val, r.Clock.Now())
				},
			}
		}),
		// Per key, the write with the largest (timestamp, writer) wins, and
		// a write made after another was received has a larger timestamp.
		Model: func(t *rapid.T, h *crdttest.History[*M], final *M) {
			type win struct {
				ts  hlc.Timestamp
				id  string
				op  lwwMapOp
				set bool
			}
			best := map[string]win{}
			stamp := func(e crdttest.Event[*M]) hlc.Timestamp {
				ts, _, _ := e.Delta.Written(e.Op.Arg.(lwwMapOp).key)
				return ts
			}
			for _, a := range h.Events {
				op := a.Op.Arg.(lwwMapOp)
				ts := stamp(a)
				for _, b := range h.Events {
					if h.HappenedBefore(a.Index, b.Index) && stamp(b) <= ts {
						t.Fatalf("%s happened before %s, yet its timestamp %v is not smaller than %v", a.Op.Name, b.Op.Name, ts, stamp(b))
					}
				}
				w, ok := best[op.key]
				if !ok || ts > w.ts || ts == w.ts && string(a.Replica) > w.id {
					best[op.key] = win{ts, string(a.Replica), op, true}
				}
			}
			live := 0
			for k, w := range best {
				if !w.op.del {
					live++
				}
				v, ok := final.Get(k)
				if w.op.del && ok || !w.op.del && (!ok || v != w.op.val) {
					t.Fatalf("key %s = %q, %v; want the write %v", k, v, ok, w.op)
				}
			}
			if final.Len() != live {
				t.Fatalf("Len() = %d, want %d keys whose last write is a set", final.Len(), live)
			}
		},
	})
}

func TestLWWMapPrune(t *testing.T) {
	var m crdt.LWWMap[string, int]
	m.Set("a", "x", 1, hlc.MakeTimestamp(10, 0))
	m.Delete("a", "x", hlc.MakeTimestamp(20, 0))
	m.Delete("a", "y", hlc.MakeTimestamp(40, 0))
	m.Delete("a", "z", hlc.MakeTimestamp(30, 0))
	if n := m.Prune(hlc.MakeTimestamp(30, 0)); n != 1 {
		t.Fatalf("Prune dropped %d tombstones, want 1", n)
	}
	if _, _, ok := m.Written("z"); !ok {
		t.Fatal("tombstone of z, made at the horizon, was dropped")
	}
	if _, _, ok := m.Written("x"); ok {
		t.Fatal("tombstone of x survived Prune")
	}
	if _, _, ok := m.Written("y"); !ok {
		t.Fatal("tombstone of y, after the horizon, was dropped")
	}
}

func FuzzLWWMapUnmarshalBinary(f *testing.F) {
	var m crdt.LWWMap[string, string]
	f.Add(mustMarshal(f, m.Set("us", "name", "Ada", hlc.MakeTimestamp(5, 1))))
	f.Add(mustMarshal(f, m.Delete("eu", "email", hlc.MakeTimestamp(6, 0))))
	f.Add(mustMarshal(f, &m))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.LWWMap[string, string]
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		if out, _ := got.MarshalBinary(); !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}
