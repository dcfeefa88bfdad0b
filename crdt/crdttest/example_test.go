package crdttest_test

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/converge-go/converge/crdt/crdttest"
	"pgregory.net/rapid"
)

// A Max is a max-register, a user-defined CRDT: it holds the largest
// value ever written, and merging takes the larger of two. The zero Max
// holds 0.
type Max struct{ v uint64 }

// Set writes v and returns the delta: a Max holding v, which takes any
// state to the same result as the write.
func (m *Max) Set(v uint64) *Max {
	m.v = max(m.v, v)
	return &Max{v}
}

func (m *Max) Value() uint64     { return m.v }
func (m *Max) Merge(o *Max)      { m.v = max(m.v, o.v) }
func (m *Max) Clone() *Max       { return &Max{m.v} }
func (m *Max) Equal(o *Max) bool { return m.v == o.v }

// ValidateMerge accepts any other Max: a value carries no event that two
// replicas could write differently.
func (m *Max) ValidateMerge(o *Max) error { return nil }

// AppendBinary appends a version byte and the value as a uvarint: one
// value, one encoding.
func (m *Max) AppendBinary(b []byte) ([]byte, error) {
	return binary.AppendUvarint(append(b, 1), m.v), nil
}

func (m *Max) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary accepts only what MarshalBinary writes, so that
// decoding and re-encoding gives the same bytes.
func (m *Max) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != 1 {
		return errors.New("max: unknown version")
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 || n != len(b)-1 || n != len(binary.AppendUvarint(nil, v)) {
		return errors.New("max: malformed")
	}
	m.v = v
	return nil
}

// maxSpec tells crdttest how to make an empty Max, how to draw a random
// operation, and what the result of a run must be: the largest value
// written anywhere.
func maxSpec() crdttest.Spec[*Max] {
	return crdttest.Spec[*Max]{
		New: func() *Max { return new(Max) },
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*Max] {
			v := rapid.Uint64Range(0, 1000).Draw(t, "v")
			return crdttest.Op[*Max]{
				Name:  fmt.Sprint("set ", v),
				Arg:   v,
				Apply: func(_ *crdttest.Replica, m *Max) *Max { return m.Set(v) },
			}
		}),
		Model: func(t *rapid.T, h *crdttest.History[*Max], final *Max) {
			var want uint64
			for _, e := range h.Events {
				want = max(want, e.Op.Arg.(uint64))
			}
			if final.Value() != want {
				t.Fatalf("got %d, want the largest write, %d", final.Value(), want)
			}
		},
	}
}

// A Spec describes a type to crdttest; a test then runs every check on
// it with one call:
//
//	func TestMax(t *testing.T) { crdttest.Check(t, maxSpec()) }
//
// (An Example has no *testing.T to run the checks with; converge runs
// this one in TestUserDefinedType.) Here, what the checks verify, by hand
// for one case: the delta of a write takes another replica to the same
// state, merging in either order agrees, and the encoding round-trips.
func ExampleSpec() {
	spec := maxSpec()
	us, eu := spec.New(), spec.New()
	d1 := us.Set(7)
	d2 := eu.Set(3)
	us.Merge(d2)
	eu.Merge(d1)
	fmt.Println("us-east:", us.Value(), "eu-west:", eu.Value(), "equal:", us.Equal(eu))

	b, _ := us.MarshalBinary()
	back := spec.New()
	err := back.UnmarshalBinary(b)
	fmt.Printf("encoded % x, decoded %d, %v\n", b, back.Value(), err)
	// Output:
	// us-east: 7 eu-west: 7 equal: true
	// encoded 01 07, decoded 7, <nil>
}
