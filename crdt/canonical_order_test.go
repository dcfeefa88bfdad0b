package crdt_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
)

// TestDecodeRejectsNonCanonicalOrder: every sorted list in the format —
// elements, keys, writers, context replicas and clouds, replica groups,
// removed elements and keys — is refused when out of order or repeated,
// so that one state has one encoding; counters are accepted up to
// vclock.MaxCounter and refused past it. Each bad input is a valid
// encoding (listed before it) with two entries exchanged, one repeated or
// one pushed past its bound.
func TestDecodeRejectsNonCanonicalOrder(t *testing.T) {
	type decoder interface{ UnmarshalBinary([]byte) error }
	gset := func() decoder { return new(crdt.GSet[string]) }
	twop := func() decoder { return new(crdt.TwoPSet[string]) }
	lww := func() decoder { return new(crdt.LWWMap[string, int]) }
	orset := func() decoder { return new(crdt.ORSet[string]) }
	ormap := func() decoder { return new(crdt.ORMap[string, *crdt.CCounter]) }
	bc := func() decoder { return new(crdt.BCounter) }
	for _, tt := range []struct {
		name   string
		into   func() decoder
		hex    string
		reason string // a word of the error
	}{
		{"GSet valid", gset, "93 01 12 92 a1 61 a1 62", ""},
		{"GSet elements unsorted", gset, "93 01 12 92 a1 62 a1 61", "out of order or repeated"},
		{"GSet element repeated", gset, "93 01 12 92 a1 61 a1 61", "out of order or repeated"},

		{"BCounter valid", bc, "93 01 1d 92 94 a1 61 92 01 05 00 0a 92 a1 62 90", ""},
		{"BCounter records unsorted", bc, "93 01 1d 92 92 a1 62 90 94 a1 61 92 00 05 00 0a", "out of order or repeated"},
		{"BCounter record repeated", bc, "93 01 1d 92 94 a1 61 92 01 05 00 0a 92 a1 61 90", "out of order or repeated"},
		{"BCounter transfers valid", bc, "93 01 1d 93 94 a1 61 94 01 05 02 05 00 0a 92 a1 62 90 92 a1 63 90", ""},
		{"BCounter transfers unsorted", bc, "93 01 1d 93 94 a1 61 94 02 05 01 05 00 0a 92 a1 62 90 92 a1 63 90", "out of order"},
		{"BCounter transfer repeated", bc, "93 01 1d 93 94 a1 61 94 01 05 01 05 00 0a 92 a1 62 90 92 a1 63 90", "out of order"},
		{"BCounter transfer past the list", bc, "93 01 1d 92 94 a1 61 92 02 05 00 0a 92 a1 62 90", "out of range"},

		{"TwoPSet valid", twop, "94 01 13 92 a1 61 a1 62 92 a1 63 a1 64", ""},
		{"TwoPSet added unsorted", twop, "94 01 13 92 a1 62 a1 61 92 a1 63 a1 64", "out of order or repeated"},
		{"TwoPSet removed unsorted", twop, "94 01 13 92 a1 61 a1 62 92 a1 64 a1 63", "out of order or repeated"},
		{"TwoPSet removed repeated", twop, "94 01 13 92 a1 61 a1 62 92 a1 63 a1 63", "out of order or repeated"},

		{"LWWMap valid", lww, "94 01 1a 92 a2 77 31 a2 77 32 98 a1 61 05 00 07 a1 62 06 02 07", ""},
		{"LWWMap writers unsorted", lww, "94 01 1a 92 a2 77 32 a2 77 31 98 a1 61 05 00 07 a1 62 06 02 07", "writers out of order"},
		{"LWWMap writer repeated", lww, "94 01 1a 92 a2 77 31 a2 77 31 98 a1 61 05 00 07 a1 62 06 02 07", "writers out of order"},
		{"LWWMap keys unsorted", lww, "94 01 1a 92 a2 77 31 a2 77 32 98 a1 62 05 00 07 a1 61 06 02 07", "keys out of order"},
		{"LWWMap entry names writer 2 of 2", lww, "94 01 1a 92 a2 77 31 a2 77 32 98 a1 61 05 00 07 a1 62 06 04 07", "no listed writer"},
		{"LWWMap key repeated", lww, "94 01 1a 92 a2 77 31 a2 77 32 98 a1 61 05 00 07 a1 61 06 02 07", "keys out of order"},

		{"ORSet valid", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 00 92 01 a1 61 01 92 01 a1 62 90", ""},
		{"ORSet replica groups unsorted", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 01 92 01 a1 61 00 92 01 a1 62 90", "replicas out of order"},
		{"ORSet replica group repeated", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 00 92 01 a1 61 00 92 01 a1 62 90", "replicas out of order"},
		{"ORSet replica group past the list", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 00 92 01 a1 61 02 92 01 a1 62 90", "no listed replica"},
		{"ORSet dot at the largest counter", orset, "97 01 14 c2 91 a2 77 31 92 cf 7f ff ff ff ff ff ff ff 90 92 00 92 cf 7f ff ff ff ff ff ff ff a1 61 90", ""},
		{"ORSet dot past the largest counter", orset, "97 01 14 c2 91 a2 77 31 92 cf 7f ff ff ff ff ff ff ff 90 92 00 94 cf 7f ff ff ff ff ff ff fe a1 61 02 a1 62 90", "out of range"},
		{"ORSet context valid", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 91 03 90 90", ""},
		{"ORSet context replica repeated", orset, "97 01 14 c2 92 a2 77 31 a2 77 31 94 01 90 01 91 03 90 90", "out of order or repeated"},
		{"ORSet context cloud continues top", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 91 02 90 90", "not compact"},
		{"ORSet context cloud repeated", orset, "97 01 14 c2 92 a2 77 31 a2 77 32 94 01 90 01 92 03 03 90 90", "not compact"},
		{"ORSet context cloud at the largest counter", orset, "97 01 14 c2 91 a2 77 31 92 01 91 cf 7f ff ff ff ff ff ff ff 90 90", ""},
		{"ORSet context cloud past the largest counter", orset, "97 01 14 c2 91 a2 77 31 92 01 91 cf 80 00 00 00 00 00 00 00 90 90", "out of range"},
		{"ORSet delta valid", orset, "97 01 14 c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 61 a1 62", ""},
		{"ORSet removed unsorted", orset, "97 01 14 c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 62 a1 61", "removed elements out of order"},
		{"ORSet removed repeated", orset, "97 01 14 c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 61 a1 61", "removed elements out of order"},

		{"ORMap valid", ormap, "97 01 1b c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 a1 61 92 1c 93 00 01 01 a1 62 92 1c 93 01 01 01 90", ""},
		{"ORMap keys unsorted", ormap, "97 01 1b c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 a1 62 92 1c 93 00 01 01 a1 61 92 1c 93 01 01 01 90", "keys out of order"},
		{"ORMap key repeated", ormap, "97 01 1b c2 92 a2 77 31 a2 77 32 94 01 90 01 90 94 a1 61 92 1c 93 00 01 01 a1 61 92 1c 93 01 01 01 90", "keys out of order"},
		{"ORMap delta valid", ormap, "97 01 1b c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 61 a1 62", ""},
		{"ORMap removed keys unsorted", ormap, "97 01 1b c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 62 a1 61", "removed keys out of order"},
		{"ORMap removed key repeated", ormap, "97 01 1b c3 92 a2 77 31 a2 77 32 94 01 90 01 90 90 92 a1 61 a1 61", "removed keys out of order"},
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

// TestDecodeSmallIntegerElements: elements of 8-bit types decode when the
// value fits and are refused when it does not.
func TestDecodeSmallIntegerElements(t *testing.T) {
	var i8 crdt.GSet[int8]
	i8.Add(-128)
	i8.Add(127)
	b, err := i8.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back crdt.GSet[int8]
	if err := back.UnmarshalBinary(b); err != nil || !back.Equal(&i8) {
		t.Fatalf("GSet[int8] round trip: %v, %v", err, &back)
	}
	var u8 crdt.GSet[uint8]
	u8.Add(0)
	u8.Add(255)
	b, err = u8.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var backU crdt.GSet[uint8]
	if err := backU.UnmarshalBinary(b); err != nil || !backU.Equal(&u8) {
		t.Fatalf("GSet[uint8] round trip: %v, %v", err, &backU)
	}
	var wide crdt.GSet[int]
	wide.Add(300)
	b, err = wide.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := new(crdt.GSet[int8]).UnmarshalBinary(b); !errors.Is(err, crdt.ErrMalformed) {
		t.Errorf("300 into GSet[int8]: %v, want ErrMalformed", err)
	}
	if err := new(crdt.GSet[uint8]).UnmarshalBinary(b); !errors.Is(err, crdt.ErrMalformed) {
		t.Errorf("300 into GSet[uint8]: %v, want ErrMalformed", err)
	}
}
