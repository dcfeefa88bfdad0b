package vclock

import (
	"bytes"
	"testing"
)

// fuzzRoundTrip checks a decoder on arbitrary input: it must not panic, and
// what it accepts must re-encode to exactly the input, since the decoders
// accept only canonical encodings.
func fuzzRoundTrip[T interface {
	UnmarshalBinary([]byte) error
	MarshalBinary() ([]byte, error)
}](f *testing.F, newT func() T, seeds ...interface{ MarshalBinary() ([]byte, error) }) {
	for _, s := range seeds {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v := newT()
		if err := v.UnmarshalBinary(in); err != nil {
			return
		}
		out, err := v.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding an accepted value: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x; canonical form is %x", in, out)
		}
	})
}

func seedContext() *Context {
	var c Context
	for _, d := range []Dot{{"us-east", 1}, {"us-east", 2}, {"eu-west", 3}, {"ap-south", 1}, {"ap-south", 9}} {
		c.Add(d)
	}
	return &c
}

func FuzzClockUnmarshalBinary(f *testing.F) {
	fuzzRoundTrip(f, func() *Clock { return &Clock{} },
		&Clock{}, FromMap(map[ReplicaID]uint64{"a": 1, "b": 1 << 40}))
}

func FuzzDotUnmarshalBinary(f *testing.F) {
	fuzzRoundTrip(f, func() *Dot { return &Dot{} }, Dot{"a", 1}, Dot{"eu-west", 1 << 33})
}

func FuzzContextUnmarshalBinary(f *testing.F) {
	fuzzRoundTrip(f, func() *Context { return &Context{} }, &Context{}, seedContext())
}
