package crdt_test

import (
	"errors"
	"fmt"

	"github.com/converge-go/converge/crdt"
)

// A receiver of mixed payloads reads the kind and gets the right type.
func ExampleDecode() {
	var likes crdt.PNCounter
	likes.Inc("us-east", 3)
	var cart crdt.ORSet[string]
	cart.Add("eu-west", "socks")

	for _, v := range []interface{ MarshalBinary() ([]byte, error) }{&likes, &cart} {
		b, _ := v.MarshalBinary()
		k, _ := crdt.PeekKind(b)
		decoded, err := crdt.Decode(b)
		if err != nil {
			panic(err)
		}
		switch d := decoded.(type) {
		case *crdt.PNCounter:
			fmt.Println(k, d.Value())
		case *crdt.ORSet[any]:
			fmt.Println(k, d.Contains("socks"))
		}
	}
	// Output:
	// PNCounter 3
	// ORSet true
}

// Hostile input gets a typed error saying where it went wrong; the value
// decoded into is left as it was.
func ExampleDecodeOptions() {
	var cart crdt.ORSet[string]
	for _, item := range []string{"socks", "shoes", "hat"} {
		cart.Add("us-east", item)
	}
	b, _ := cart.MarshalBinary()

	strict := crdt.DecodeOptions{MaxElements: 4}
	var got crdt.ORSet[string]
	err := strict.Unmarshal(b, &got)
	var de *crdt.DecodeError
	fmt.Println(errors.Is(err, crdt.ErrMalformed), errors.As(err, &de), got.Len())

	// A claim of 4 billion elements in a few bytes fails at once.
	_, err = crdt.Decode([]byte{0x93, 0x01, 0x12, 0xdd, 0xff, 0xff, 0xff, 0xff})
	fmt.Println(err)
	// Output:
	// true true 0
	// crdt: decoding GSet: malformed input at byte 3: length 4294967295 exceeds the 0 bytes left
}

// Two writers sharing a ReplicaID produce states no correct replica could:
// ValidateMerge says so before Merge would silently keep one of them.
func ExampleValidationError() {
	var a, b crdt.ORSet[string]
	a.Add("node-1", "x")
	b.Add("node-1", "y") // a second process misconfigured with the same id
	err := a.ValidateMerge(&b)
	var ve *crdt.ValidationError
	fmt.Println(errors.Is(err, crdt.ErrInconsistent), errors.As(err, &ve) && ve.Type == "ORSet")
	// Output:
	// true true
}
