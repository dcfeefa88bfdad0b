package crdt_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// profile is a struct register value: it takes the msgpack fallback path.
type profile struct {
	Name  string
	Age   int
	Admin bool
}

var (
	lwwStrings  = []string{"", "red", "green", "blue"}
	lwwProfiles = []profile{{}, {Name: "ana", Age: 30}, {Name: "ana", Age: 31}, {Name: "bo", Admin: true}}
)

func TestLWWRegister(t *testing.T) { checkLWWRegister(t, lwwStrings) }
func TestLWWRegisterStruct(t *testing.T) {
	t.Parallel()
	checkLWWRegister(t, lwwProfiles)
}

func checkLWWRegister[V comparable](t *testing.T, pool []V) {
	crdttest.Check(t, crdttest.Spec[*crdt.LWWRegister[V]]{
		New:  func() *crdt.LWWRegister[V] { return new(crdt.LWWRegister[V]) },
		Skew: 500 * time.Millisecond,
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.LWWRegister[V]] {
			v := rapid.SampledFrom(pool).Draw(t, "v")
			return crdttest.Op[*crdt.LWWRegister[V]]{
				Name: fmt.Sprintf("set %v", v), Arg: v,
				Apply: func(r *crdttest.Replica, reg *crdt.LWWRegister[V]) *crdt.LWWRegister[V] {
					return reg.Set(r.ID, v, r.Clock.Now())
				},
			}
		}),
		Model: func(t *rapid.T, h *crdttest.History[*crdt.LWWRegister[V]], final *crdt.LWWRegister[V]) {
			ev := h.Events
			got, ok := final.Get()
			if len(ev) == 0 {
				if ok {
					t.Fatalf("got value %v with no write, want none", got)
				}
				return
			}
			// The delta holds exactly the write.
			for _, e := range ev {
				v, ok := e.Delta.Get()
				if !ok || v != e.Op.Arg.(V) || e.Delta.Replica() != e.Replica {
					t.Fatalf("write %d: delta holds %v by %s (set %t), want %v by %s", e.Index, v, e.Delta.Replica(), ok, e.Op.Arg, e.Replica)
				}
			}
			// The HLC guarantee: a write made after another was received
			// has a larger timestamp, whatever the clock skew.
			for _, a := range ev {
				for _, b := range ev {
					if h.HappenedBefore(a.Index, b.Index) && a.Delta.Timestamp() >= b.Delta.Timestamp() {
						t.Fatalf("write %d happened before write %d, got timestamps %v and %v, want increasing",
							a.Index, b.Index, a.Delta.Timestamp(), b.Delta.Timestamp())
					}
				}
			}
			// The write with the largest (timestamp, replica) wins...
			win := ev[0]
			for _, e := range ev[1:] {
				if later(e.Delta.Timestamp(), e.Replica, win.Delta.Timestamp(), win.Replica) {
					win = e
				}
			}
			if !ok || got != win.Op.Arg.(V) || final.Timestamp() != win.Delta.Timestamp() || final.Replica() != win.Replica {
				t.Fatalf("got %v by %s at %v, want %v by %s at %v (write %d)",
					got, final.Replica(), final.Timestamp(), win.Op.Arg, win.Replica, win.Delta.Timestamp(), win.Index)
			}
			// ... and it is a maximal write: none was made after it was seen.
			for _, e := range ev {
				if h.HappenedBefore(win.Index, e.Index) {
					t.Fatalf("winning write %d was overwritten by write %d, which saw it", win.Index, e.Index)
				}
			}
		},
	})
}

// later reports whether the write (ts, id) wins over (uts, uid).
func later(ts hlc.Timestamp, id vclock.ReplicaID, uts hlc.Timestamp, uid vclock.ReplicaID) bool {
	return ts > uts || ts == uts && id > uid
}

func TestLWWRegisterZeroValue(t *testing.T) {
	var r crdt.LWWRegister[string]
	if v, ok := r.Get(); ok || v != "" || r.Timestamp() != 0 || r.Replica() != "" {
		t.Fatalf("zero register: Get() = %q, %t, Timestamp %v, Replica %q; want \"\", false, zero, \"\"", v, ok, r.Timestamp(), r.Replica())
	}
	if got := r.String(); got != "(unset)" {
		t.Fatalf("String() = %q, want (unset)", got)
	}
	b, _ := r.MarshalBinary()
	if want := []byte{0x92, 1, 22}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary() = %x, want %x", b, want)
	}
	// Any write wins over the zero register, even at the zero Timestamp
	// with the empty ReplicaID and the zero value.
	var w crdt.LWWRegister[string]
	w.Set("", "", 0)
	if _, ok := w.Get(); !ok || w.Equal(&r) {
		t.Fatalf("a write of the zero value: Get ok %t, Equal to unset %t; want true, false", ok, w.Equal(&r))
	}
	r.Merge(&w)
	if !r.Equal(&w) {
		t.Fatalf("got %v, want %v", &r, &w)
	}
	b, _ = w.MarshalBinary()
	if want := []byte{0x95, 1, 22, 0x00, 0xa0, 0xa0}; !bytes.Equal(b, want) {
		t.Fatalf("MarshalBinary() = %x, want %x", b, want)
	}
}

func TestLWWRegisterOrder(t *testing.T) {
	ts := hlc.MakeTimestamp(1_800_000_000_000, 0)
	tests := []struct {
		name      string
		a, b      func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string]
		wantValue string
	}{
		{"later timestamp", func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("z", "old", ts) },
			func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("a", "new", ts+1) }, "new"},
		{"same timestamp, larger replica", func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("eu-west", "eu", ts) },
			func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("us-east", "us", ts) }, "us"},
		{"same timestamp and replica, larger encoding", func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("a", "zz", ts) },
			func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set("a", "aaa", ts) }, "aaa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// In both orders, and through the deltas.
			var x, y crdt.LWWRegister[string]
			da, db := tc.a(&x), tc.b(&x)
			tc.b(&y)
			tc.a(&y)
			for _, r := range []*crdt.LWWRegister[string]{&x, &y} {
				if v, _ := r.Get(); v != tc.wantValue {
					t.Errorf("Get() = %q, want %q", v, tc.wantValue)
				}
			}
			var viaDeltas crdt.LWWRegister[string]
			viaDeltas.Merge(db)
			viaDeltas.Merge(da)
			if !viaDeltas.Equal(&x) || !x.Equal(&y) {
				t.Errorf("got %v, %v and %v, want all equal", &x, &y, &viaDeltas)
			}
		})
	}
}

func TestLWWRegisterSetReturnsLosingWrite(t *testing.T) {
	var r crdt.LWWRegister[string]
	r.Set("us-east", "new", 20)
	d := r.Set("eu-west", "stale", 10)
	if v, _ := r.Get(); v != "new" {
		t.Fatalf("Get() = %q, want new", v)
	}
	if v, ok := d.Get(); !ok || v != "stale" || d.Timestamp() != 10 || d.Replica() != "eu-west" {
		t.Fatalf("delta = %v, want stale by eu-west at 10", d)
	}
}

func TestLWWRegisterValidateMerge(t *testing.T) {
	ts := hlc.MakeTimestamp(1_800_000_000_000, 0)
	set := func(id vclock.ReplicaID, v string, ts hlc.Timestamp) *crdt.LWWRegister[string] {
		return new(crdt.LWWRegister[string]).Set(id, v, ts)
	}
	tests := []struct {
		name string
		a, b *crdt.LWWRegister[string]
		bad  bool
	}{
		{"same write", set("a", "x", ts), set("a", "x", ts), false},
		{"unset", new(crdt.LWWRegister[string]), set("a", "x", ts), false},
		{"both unset", new(crdt.LWWRegister[string]), new(crdt.LWWRegister[string]), false},
		{"other replica", set("a", "x", ts), set("b", "y", ts), false},
		{"other timestamp", set("a", "x", ts), set("a", "y", ts+1), false},
		{"one write, two values", set("a", "x", ts), set("a", "y", ts), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{tc.a.ValidateMerge(tc.b), tc.b.ValidateMerge(tc.a)} {
				if !tc.bad {
					if err != nil {
						t.Fatalf("ValidateMerge: got %v, want nil", err)
					}
					continue
				}
				var ve *crdt.ValidationError
				if !errors.Is(err, crdt.ErrInconsistent) || !errors.As(err, &ve) || ve.Type != "LWWRegister" {
					t.Fatalf("ValidateMerge: got %v, want a *ValidationError of LWWRegister matching ErrInconsistent", err)
				}
				if want := `crdt: LWWRegister: inconsistent states: replica "a" wrote two different values at 2027-01-15T08:00:00.000Z/0`; err.Error() != want {
					t.Fatalf("got error %q, want %q", err, want)
				}
			}
		})
	}
}

func TestLWWRegisterStructValue(t *testing.T) {
	var r crdt.LWWRegister[profile]
	ts := hlc.MakeTimestamp(1_800_000_000_000, 3)
	r.Set("eu-west", profile{Name: "ana", Age: 30}, ts)
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	var back crdt.LWWRegister[profile]
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary(%x): %v", b, err)
	}
	if v, _ := back.Get(); v != (profile{Name: "ana", Age: 30}) || !back.Equal(&r) {
		t.Fatalf("got %v, want %v", &back, &r)
	}
	if got, want := r.String(), "{ana 30 false} (eu-west at 2027-01-15T08:00:00.000Z/3)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestLWWRegisterCloneIsShallow(t *testing.T) {
	var r crdt.LWWRegister[[]int]
	r.Set("a", []int{1, 2}, 5)
	c := r.Clone()
	c.Set("a", []int{9}, 6)
	if v, _ := r.Get(); len(v) != 2 {
		t.Fatalf("setting a clone changed the original: got %v, want [1 2]", v)
	}
	if !r.Clone().Equal(&r) {
		t.Fatalf("clone not Equal")
	}
}

func TestLWWRegisterUnmarshalRejects(t *testing.T) {
	keep := new(crdt.LWWRegister[string])
	keep.Set("keep", "v", 42)
	checkRejects(t, keep, false, []decodeCase{
		{"nil", []byte{0xc0}, crdt.ErrMalformed},
		{"trailing byte", []byte{0x92, 1, 22, 0x00}, crdt.ErrMalformed},
	})
	checkRejects(t, keep, true, []decodeCase{
		{"empty input", nil, crdt.ErrMalformed},
		{"one field", []byte{0x93, 1, 22, 0x01}, crdt.ErrMalformed},
		{"two fields", []byte{0x94, 1, 22, 0x01, 0xa1, 'a'}, crdt.ErrMalformed},
		{"four fields", []byte{0x96, 1, 22, 0x01, 0xa1, 'a', 0xa1, 'v', 0xc0}, crdt.ErrMalformed},
		{"wrong kind", []byte{0x95, 1, 23, 0x01, 0xa1, 'a', 0xa1, 'v'}, crdt.ErrMalformed},
		{"unknown kind", []byte{0x92, 1, 0x7f}, crdt.ErrUnsupported},
		{"unknown version", []byte{0x92, 9, 22}, crdt.ErrUnsupported},
		{"truncated", []byte{0x95, 1, 22, 0x01, 0xa1, 'a'}, crdt.ErrMalformed},
		{"truncated timestamp", []byte{0x95, 1, 22, 0xcf, 0x00}, crdt.ErrMalformed},
		{"negative timestamp", []byte{0x95, 1, 22, 0xff, 0xa1, 'a', 0xa1, 'v'}, crdt.ErrMalformed},
		{"long timestamp", []byte{0x95, 1, 22, 0xcc, 0x05, 0xa1, 'a', 0xa1, 'v'}, crdt.ErrMalformed},
		{"timestamp as int16", []byte{0x95, 1, 22, 0xd1, 0x01, 0x2c, 0xa1, 'a', 0xa1, 'v'}, crdt.ErrMalformed},
		{"replica not a string", []byte{0x95, 1, 22, 0x01, 0x01, 0xa1, 'v'}, crdt.ErrMalformed},
		{"long replica header", []byte{0x95, 1, 22, 0x01, 0xd9, 0x01, 'a', 0xa1, 'v'}, crdt.ErrMalformed},
		{"value of the wrong type", []byte{0x95, 1, 22, 0x01, 0xa1, 'a', 0x01}, crdt.ErrMalformed},
		{"long value header", []byte{0x95, 1, 22, 0x01, 0xa1, 'a', 0xd9, 0x01, 'v'}, crdt.ErrMalformed},
		{"long top-level header", []byte{0xdc, 0x00, 0x02, 1, 22}, crdt.ErrMalformed},
	})

	keepP := new(crdt.LWWRegister[profile])
	keepP.Set("keep", profile{Name: "x"}, 42)
	checkRejects(t, keepP, true, []decodeCase{
		{"fields swapped", []byte{0x95, 1, 22, 0x01, 0xa1, 'a',
			0x83, 0xa3, 'A', 'g', 'e', 0x00, 0xa4, 'N', 'a', 'm', 'e', 0xa0, 0xa5, 'A', 'd', 'm', 'i', 'n', 0xc2}, crdt.ErrMalformed},
		{"not a map", []byte{0x95, 1, 22, 0x01, 0xa1, 'a', 0x01}, crdt.ErrMalformed},
	})
}

func FuzzLWWRegisterUnmarshalBinary(f *testing.F) {
	add := func(b []byte, err error) { f.Add(b) }
	add(new(crdt.LWWRegister[string]).MarshalBinary())
	add(new(crdt.LWWRegister[string]).Set("eu-west", "blue", hlc.MakeTimestamp(1_800_000_000_000, 7)).MarshalBinary())
	add(new(crdt.LWWRegister[string]).Set("", "", 0).MarshalBinary())
	add(new(crdt.LWWRegister[profile]).Set("us-east", profile{Name: "ana", Age: 30}, 1<<40).MarshalBinary())
	add(new(crdt.LWWRegister[int]).Set("ap-south", -300, hlc.MaxTimestamp).MarshalBinary())
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzCanonical(t, new(crdt.LWWRegister[string]), in)
		fuzzCanonical(t, new(crdt.LWWRegister[int]), in)
		fuzzCanonical(t, new(crdt.LWWRegister[profile]), in)
	})
}
