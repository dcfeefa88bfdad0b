package crdt_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
)

// Regressions found by review of the wire format, each kept as a named
// test.

// TestDecodeManyDotsPerElementIsLinear: an element holding k dots once
// made the decoder copy its dot list k times, so an 8 KB input allocated
// 205 MB.
func TestDecodeManyDotsPerElementIsLinear(t *testing.T) {
	const k = 4000
	in := []byte{0x97, 0x01, 0x14, 0xc2, 0x91, 0xa1, 'a', 0x92, 0xcd, byte(k >> 8), byte(k & 0xff), 0x90, 0x92, 0x00, 0xdc, byte((2 * k) >> 8), byte((2 * k) & 0xff)}
	in = append(in, bytes.Repeat([]byte{0x01, 0xa0}, k)...)
	in = append(in, 0x90)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var s crdt.ORSet[string]
	err := s.UnmarshalBinary(in)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len() = %d, want 1", s.Len())
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(64*len(in)+64<<10); got > limit {
		t.Fatalf("decoding %d bytes allocated %d, want at most %d", len(in), got, limit)
	}
}

// TestMVRegisterRejectsCounterZero: a sibling with dot counter 0 was
// taken as seen by the context, and merging it lost the real value.
func TestMVRegisterRejectsCounterZero(t *testing.T) {
	in, _ := hex.DecodeString("950117" + "91a161" + "920190" + "930000a178")
	var m crdt.MVRegister[string]
	if err := m.UnmarshalBinary(in); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

// TestDecodeRejectsNegativeZeroKeys: +0 and -0 are one Go map key but two
// encodings, so a set holding both could not re-encode what it decoded.
func TestDecodeRejectsNegativeZeroKeys(t *testing.T) {
	in, _ := hex.DecodeString("930112" + "92" + "ca00000000" + "ca80000000")
	if v, err := crdt.Decode(in); err == nil {
		t.Fatalf("decoded %v, want an error", v)
	}
	var s crdt.GSet[float32]
	if err := s.UnmarshalBinary(in); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("typed: got %v, want ErrMalformed", err)
	}
}

// TestRegistersHoldUncomparableValues: register values need not be map
// keys; only set elements and map keys must be comparable.
func TestRegistersHoldUncomparableValues(t *testing.T) {
	var r crdt.LWWRegister[[]string]
	r.Set("a", []string{"x", "y"}, hlc.MakeTimestamp(1, 0))
	b, _ := r.MarshalBinary()
	var back crdt.LWWRegister[[]string]
	if err := back.UnmarshalBinary(b); err != nil || !back.Equal(&r) {
		t.Fatalf("LWWRegister[[]string] round trip: %v", err)
	}
	var m crdt.MVRegister[map[string]int]
	m.Set("a", map[string]int{"n": 1})
	b, _ = m.MarshalBinary()
	var mback crdt.MVRegister[map[string]int]
	if err := mback.UnmarshalBinary(b); err != nil || !mback.Equal(&m) {
		t.Fatalf("MVRegister[map] round trip: %v", err)
	}
	if !strings.Contains(mback.String(), "n:1") {
		t.Fatalf("String() = %s", mback.String())
	}
}

// TestORMapRejectsOneDotUnderTwoKeys: a hostile ORMap held us-east:1 under
// two keys; merged with a replica, the two sides never converged.
func TestORMapRejectsOneDotUnderTwoKeys(t *testing.T) {
	in, _ := hex.DecodeString("97011bc291a775732d65617374920290" + "94" + "a161921c93000101" + "a162921c93000101" + "90")
	var m crdt.ORMap[string, *crdt.CCounter]
	if err := m.UnmarshalBinary(in); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

// TestDecodeRejectsNegativeZeroInStructKeys: a struct key holding -0
// equals the one holding +0 but encodes differently.
func TestDecodeRejectsNegativeZeroInStructKeys(t *testing.T) {
	type key struct{ F float64 }
	var s crdt.GSet[key]
	s.Add(key{0})
	b, _ := s.MarshalBinary()
	neg := bytes.Replace(b, []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0}, 1)
	if bytes.Equal(neg, b) {
		t.Fatalf("test setup: no float64 0 in %x", b)
	}
	var got crdt.GSet[key]
	if err := got.UnmarshalBinary(neg); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

// TestRemovalDeltaReadsRemoved: the delta of a first removal-tagged write
// (RWSet.Remove, DWFlag.Disable of an element the replica did not hold)
// once did not count its removal tag, so the delta itself read as holding
// the element (Len 1) or an enabled flag. Found by checking the
// bookkeeping invariant on every delta.
func TestRemovalDeltaReadsRemoved(t *testing.T) {
	var s crdt.RWSet[string]
	d := s.Remove("us-east", "x")
	if d.Len() != 0 || d.Contains("x") {
		t.Fatalf("Remove's delta: Len %d, Contains %v; want 0, false", d.Len(), d.Contains("x"))
	}
	var back crdt.RWSet[string]
	back.Merge(d)
	if back.Len() != 0 {
		t.Fatalf("state merged from the delta: Len %d, want 0", back.Len())
	}
	var f crdt.DWFlag
	if fd := f.Disable("us-east"); fd.Value() {
		t.Fatal("Disable's delta reads enabled")
	}
}
