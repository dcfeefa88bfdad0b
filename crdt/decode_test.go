package crdt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

func TestDecodeReturnsTheKind(t *testing.T) {
	var g crdt.GCounter
	g.Inc("a", 2)
	var s crdt.ORSet[string]
	s.Add("a", "x")
	var f crdt.DWFlag
	f.Enable("a")
	for _, tt := range []struct {
		name string
		in   interface{ MarshalBinary() ([]byte, error) }
		kind crdt.Kind
		ok   func(any) bool
	}{
		{"GCounter", &g, crdt.KindGCounter, func(v any) bool { c, ok := v.(*crdt.GCounter); return ok && c.Value() == 2 }},
		{"ORSet", &s, crdt.KindORSet, func(v any) bool { c, ok := v.(*crdt.ORSet[any]); return ok && c.Contains("x") }},
		{"DWFlag", &f, crdt.KindDWFlag, func(v any) bool { c, ok := v.(*crdt.DWFlag); return ok && c.Value() }},
	} {
		b, _ := tt.in.MarshalBinary()
		k, err := crdt.PeekKind(b)
		if err != nil || k != tt.kind {
			t.Errorf("%s: PeekKind = %v, %v; want %v", tt.name, k, err, tt.kind)
		}
		v, err := crdt.Decode(b)
		if err != nil || !tt.ok(v) {
			t.Errorf("%s: Decode = %T %v, %v", tt.name, v, v, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	clock, _ := vclock.FromMap(map[vclock.ReplicaID]uint64{"a": 1}).MarshalBinary()
	for _, tt := range []struct {
		name string
		in   []byte
		want error
	}{
		{"a vclock kind", clock, crdt.ErrUnsupported},
		{"unknown kind", []byte{0x92, 0x01, 0x7f}, crdt.ErrUnsupported},
		{"version 2", []byte{0x92, 0x02, 0x10}, crdt.ErrUnsupported},
		{"not an array", []byte{0x01}, crdt.ErrMalformed},
		{"empty", nil, crdt.ErrMalformed},
	} {
		if _, err := crdt.Decode(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestDecodeRefusesORMap: Decode cannot tell an ORMap's value type from
// its bytes, and says so, pointing at the typed UnmarshalBinary.
func TestDecodeRefusesORMap(t *testing.T) {
	var m crdt.ORMap[string, *crdt.CCounter]
	m.Update("visits", func(c *crdt.CCounter) *crdt.CCounter { return c.Inc("us-east", 1) })
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	_, err = crdt.Decode(b)
	if !errors.Is(err, crdt.ErrUnsupported) || !strings.Contains(err.Error(), "value type cannot be told") {
		t.Fatalf("got %v, want ErrUnsupported naming the value type", err)
	}
	back := new(crdt.ORMap[string, *crdt.CCounter])
	if err := back.UnmarshalBinary(b); err != nil || !back.Equal(&m) {
		t.Fatalf("typed UnmarshalBinary: %v", err)
	}
}

// TestDecodeRefusesUncomparableElements: an element msgpack decodes to a
// slice or a map would panic as a Go map key.
func TestDecodeRefusesUncomparableElements(t *testing.T) {
	var s crdt.GSet[string]
	s.Add("x")
	b, _ := s.MarshalBinary()
	list, _ := msgpack.Marshal([]any{1})
	bad := append(b[:len(b)-2:len(b)-2], list...) // replace the element "x"
	if _, err := crdt.Decode(bad); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

func TestDecodeOptionsBound(t *testing.T) {
	var s crdt.ORSet[string]
	for _, e := range []string{"a", "b", "c", "d"} {
		s.Add("r", e)
	}
	b, _ := s.MarshalBinary()
	var got crdt.ORSet[string]
	if err := (crdt.DecodeOptions{MaxBytes: len(b) - 1}).Unmarshal(b, &got); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("MaxBytes %d on %d bytes: got %v, want ErrMalformed", len(b)-1, len(b), err)
	}
	if err := (crdt.DecodeOptions{MaxElements: 3}).Unmarshal(b, &got); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("MaxElements 3: got %v, want ErrMalformed", err)
	}
	if err := (crdt.DecodeOptions{}).Unmarshal(b, &got); err != nil || got.Len() != 4 {
		t.Fatalf("defaults: got %v, Len %d", err, got.Len())
	}
	var de *crdt.DecodeError
	_, err := crdt.Decode(b[:len(b)-3])
	if !errors.As(err, &de) || de.Offset == 0 {
		t.Fatalf("truncated: got %v, want a *DecodeError with an offset", err)
	}
}
