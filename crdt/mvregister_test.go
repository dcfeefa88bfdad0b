package crdt_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

func TestMVRegister(t *testing.T) {
	crdttest.Check(t, crdttest.Spec[*crdt.MVRegister[string]]{
		New:       func() *crdt.MVRegister[string] { return new(crdt.MVRegister[string]) },
		Invariant: internalOK[*crdt.MVRegister[string]],
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*crdt.MVRegister[string]] {
			v := rapid.SampledFrom([]string{"red", "green", "blue", ""}).Draw(t, "value")
			return crdttest.Op[*crdt.MVRegister[string]]{
				Name: "set " + v, Arg: v,
				Apply: func(r *crdttest.Replica, m *crdt.MVRegister[string]) *crdt.MVRegister[string] {
					return m.Set(r.ID, v)
				},
			}
		}),
		// The siblings are exactly the writes no other write observed.
		Model: func(t *rapid.T, h *crdttest.History[*crdt.MVRegister[string]], final *crdt.MVRegister[string]) {
			var want []string
			for _, a := range h.Events {
				maximal := true
				for _, b := range h.Events {
					if h.HappenedBefore(a.Index, b.Index) {
						maximal = false
						break
					}
				}
				if maximal {
					want = append(want, a.Op.Arg.(string))
				}
			}
			got := final.Values()
			slices.Sort(want)
			sorted := slices.Sorted(slices.Values(got))
			if !slices.Equal(sorted, want) {
				t.Fatalf("siblings %q, want %q", got, want)
			}
			if final.Len() != len(got) {
				t.Fatalf("Len() = %d, want %d", final.Len(), len(got))
			}
		},
	})
}

func TestMVRegisterValidateMerge(t *testing.T) {
	var a, b crdt.MVRegister[string]
	a.Set("shared", "x")
	b.Set("shared", "y")
	if err := a.ValidateMerge(&b); !errors.Is(err, crdt.ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
	c := a.Clone()
	if err := a.ValidateMerge(c.Set("other", "z")); err != nil {
		t.Fatalf("valid delta refused: %v", err)
	}
}

func FuzzMVRegisterUnmarshalBinary(f *testing.F) {
	var a, b crdt.MVRegister[string]
	f.Add(mustMarshal(f, a.Set("us", "x")))
	b.Set("eu", "y")
	a.Merge(&b)
	f.Add(mustMarshal(f, &a))
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.MVRegister[string]
		if err := got.UnmarshalBinary(in); err != nil {
			return
		}
		out, _ := got.MarshalBinary()
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

func TestMVRegisterAll(t *testing.T) {
	var a, b crdt.MVRegister[string]
	a.Set("us", "x")
	b.Set("eu", "y")
	a.Merge(&b)
	got := slices.Collect(a.All())
	if !slices.Equal(got, a.Values()) || len(got) != 2 {
		t.Errorf("All %v, Values %v", got, a.Values())
	}
	for v := range a.All() {
		if v != a.Values()[0] {
			t.Errorf("All yields %q first, Values %q", v, a.Values()[0])
		}
		break
	}
}
