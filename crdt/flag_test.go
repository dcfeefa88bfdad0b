package crdt_test

import (
	"bytes"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// flag is what EWFlag and DWFlag share.
type flag[T any] interface {
	crdt.State[T]
	Enable(vclock.ReplicaID) T
	Disable(vclock.ReplicaID) T
	Value() bool
}

func flagOp[T flag[T]]() *rapid.Generator[crdttest.Op[T]] {
	return rapid.Custom(func(t *rapid.T) crdttest.Op[T] {
		if rapid.Bool().Draw(t, "enable") {
			return crdttest.Op[T]{Name: "enable", Arg: true, Apply: func(r *crdttest.Replica, f T) T { return f.Enable(r.ID) }}
		}
		return crdttest.Op[T]{Name: "disable", Arg: false, Apply: func(r *crdttest.Replica, f T) T { return f.Disable(r.ID) }}
	})
}

// flagModel: among the operations no other operation observed, an enable
// and no disable (disableWins) or any enable (enable wins) leaves the flag
// enabled.
func flagModel[T flag[T]](disableWins bool) func(*rapid.T, *crdttest.History[T], T) {
	return func(t *rapid.T, h *crdttest.History[T], final T) {
		enables, disables := 0, 0
		for _, a := range h.Events {
			maximal := true
			for _, b := range h.Events {
				if h.HappenedBefore(a.Index, b.Index) {
					maximal = false
					break
				}
			}
			if maximal && a.Op.Arg.(bool) {
				enables++
			} else if maximal {
				disables++
			}
		}
		want := enables > 0 && (!disableWins || disables == 0)
		if final.Value() != want {
			t.Fatalf("Value() = %v, want %v (%d concurrent enables, %d concurrent disables)", final.Value(), want, enables, disables)
		}
	}
}

func TestEWFlag(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.EWFlag]{
		New:       func() *crdt.EWFlag { return new(crdt.EWFlag) },
		Op:        flagOp[*crdt.EWFlag](),
		Model:     flagModel[*crdt.EWFlag](false),
		Invariant: internalOK[*crdt.EWFlag],
	})
}

func TestDWFlag(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.DWFlag]{
		New:       func() *crdt.DWFlag { return new(crdt.DWFlag) },
		Op:        flagOp[*crdt.DWFlag](),
		Model:     flagModel[*crdt.DWFlag](true),
		Invariant: internalOK[*crdt.DWFlag],
	})
}

func TestFlagsConcurrentEnableDisable(t *testing.T) {
	var ew1, ew2 crdt.EWFlag
	ew2.Merge(ew1.Enable("a"))
	d1, d2 := ew1.Enable("a"), ew2.Disable("b")
	ew1.Merge(d2)
	ew2.Merge(d1)
	if !ew1.Value() || !ew2.Value() {
		t.Fatalf("EWFlag: got %v, %v; want enabled on both", ew1.Value(), ew2.Value())
	}
	var dw1, dw2 crdt.DWFlag
	dw2.Merge(dw1.Enable("a"))
	e1, e2 := dw1.Enable("a"), dw2.Disable("b")
	dw1.Merge(e2)
	dw2.Merge(e1)
	if dw1.Value() || dw2.Value() {
		t.Fatalf("DWFlag: got %v, %v; want disabled on both", dw1.Value(), dw2.Value())
	}
}

func TestFlagDecodeRejectsFalseElement(t *testing.T) {
	var s crdt.ORSet[bool]
	s.Add("a", false)
	b, _ := s.MarshalBinary()
	b[2] = 24 // relabel the ORSet as an EWFlag
	var f crdt.EWFlag
	if err := f.UnmarshalBinary(b); err == nil {
		t.Fatal("an EWFlag holding the element false decoded")
	}
}

func fuzzFlag[T interface {
	UnmarshalBinary([]byte) error
	MarshalBinary() ([]byte, error)
}](f *testing.F, fresh func() T, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := fresh()
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		out, _ := got.MarshalBinary()
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

func FuzzEWFlagUnmarshalBinary(f *testing.F) {
	var a crdt.EWFlag
	fuzzFlag(f, func() *crdt.EWFlag { return new(crdt.EWFlag) },
		mustMarshal(f, a.Enable("us")), mustMarshal(f, a.Disable("eu")), mustMarshal(f, &a))
}

func FuzzDWFlagUnmarshalBinary(f *testing.F) {
	var a crdt.DWFlag
	fuzzFlag(f, func() *crdt.DWFlag { return new(crdt.DWFlag) },
		mustMarshal(f, a.Enable("us")), mustMarshal(f, a.Disable("eu")), mustMarshal(f, &a))
}

// TestFlagIsDelta: a mutator's delta is a delta, a state is not, and a
// delta merged into a state leaves a state.
func TestFlagIsDelta(t *testing.T) {
	var e crdt.EWFlag
	var d crdt.DWFlag
	if e.IsDelta() || d.IsDelta() {
		t.Error("a zero flag is a delta")
	}
	ed, dd := e.Enable("a"), d.Disable("a")
	if !ed.IsDelta() || !dd.IsDelta() {
		t.Error("a mutator's delta is not a delta")
	}
	var e2 crdt.EWFlag
	e2.Merge(ed)
	if e2.IsDelta() {
		t.Error("a state that merged a delta is a delta")
	}
}
