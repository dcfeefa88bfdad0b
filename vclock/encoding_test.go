package vclock

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

var contextGen = rapid.Custom(func(t *rapid.T) *Context {
	c := &Context{}
	for _, d := range rapid.SliceOf(dotGen).Draw(t, "dots") {
		c.Add(d)
	}
	return c
})

func TestClockRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := FromMap(countsGen.Draw(t, "counts"))
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Clock
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%x): %v", b, err)
		}
		if !got.Equal(c) {
			t.Fatalf("round trip gave %v, want %v", &got, c)
		}
		again, _ := got.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding gave %x, want %x", again, b)
		}
	})
}

func TestContextRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := contextGen.Draw(t, "context")
		b, _ := c.MarshalBinary()
		var got Context
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%x): %v", b, err)
		}
		if !got.Equal(c) {
			t.Fatalf("round trip gave %v, want %v", &got, c)
		}
	})
}

func TestDotRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := Dot{ReplicaID(rapid.String().Draw(t, "id")), rapid.Uint64Range(1, MaxCounter).Draw(t, "n")}
		b, _ := d.MarshalBinary()
		var got Dot
		if err := got.UnmarshalBinary(b); err != nil || got != d {
			t.Fatalf("round trip of %v gave %v, %v", d, got, err)
		}
	})
}

// TestEncodingExamples pins a few encodings byte for byte; the same bytes
// appear in docs/wire-format.md.
func TestEncodingExamples(t *testing.T) {
	var ctx Context
	for _, d := range []Dot{{"a", 1}, {"a", 2}, {"b", 4}} {
		ctx.Add(d)
	}
	for _, tt := range []struct {
		name string
		v    interface{ MarshalBinary() ([]byte, error) }
		want string
	}{
		{"empty clock", &Clock{}, "930102" + "80"},
		{"clock", FromMap(map[ReplicaID]uint64{"b": 300, "a": 1}), "930102" + "82" + "a161" + "01" + "a162" + "cd012c"},
		{"dot", Dot{"a", 7}, "940103" + "a161" + "07"},
		{"context", &ctx, "940104" + "81" + "a161" + "02" + "81" + "a162" + "91" + "04"},
	} {
		got, _ := tt.v.MarshalBinary()
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: got %x, want %s", tt.name, got, tt.want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	hexb := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			panic(err)
		}
		return b
	}
	for _, tt := range []struct {
		name string
		in   []byte
		into interface{ UnmarshalBinary([]byte) error }
		want error
	}{
		{"clock out of order", hexb("930102" + "82" + "a162" + "01" + "a161" + "01"), &Clock{}, ErrMalformed},
		{"clock repeated", hexb("930102" + "82" + "a161" + "01" + "a161" + "02"), &Clock{}, ErrMalformed},
		{"clock zero", hexb("930102" + "81" + "a161" + "00"), &Clock{}, ErrMalformed},
		{"clock over MaxCounter", hexb("930102" + "81" + "a161" + "cf8000000000000000"), &Clock{}, ErrMalformed},
		{"clock huge map claim", hexb("930102" + "dfffffffff"), &Clock{}, ErrMalformed},
		{"clock as dot", hexb("940103" + "a161" + "07"), &Clock{}, ErrMalformed},
		{"clock version 2", hexb("930202" + "80"), &Clock{}, ErrUnsupported},
		{"clock trailing", hexb("930102" + "80" + "00"), &Clock{}, ErrMalformed},
		{"dot zero", hexb("940103" + "a161" + "00"), &Dot{}, ErrMalformed},
		{"dot negative", hexb("940103" + "a161" + "ff"), &Dot{}, ErrMalformed},
		{"context cloud continues vv", hexb("940104" + "81" + "a161" + "02" + "81" + "a161" + "91" + "03"), &Context{}, ErrMalformed},
		{"context cloud covered", hexb("940104" + "81" + "a161" + "02" + "81" + "a161" + "91" + "01"), &Context{}, ErrMalformed},
		{"context cloud unsorted", hexb("940104" + "80" + "81" + "a161" + "92" + "05" + "04"), &Context{}, ErrMalformed},
		{"context cloud empty", hexb("940104" + "80" + "81" + "a161" + "90"), &Context{}, ErrMalformed},
		{"context cloud keys unsorted", hexb("940104" + "80" + "82" + "a162" + "91" + "05" + "a161" + "91" + "05"), &Context{}, ErrMalformed},
		{"context cloud counter 1 with empty vv", hexb("940104" + "80" + "81" + "a161" + "91" + "01"), &Context{}, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.into.UnmarshalBinary(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error matching %v", err, tt.want)
			}
			var we *wire.Error
			if !errors.As(err, &we) {
				t.Fatalf("got %T, want a *wire.Error inside", err)
			}
		})
	}
}

func TestUnmarshalErrorLeavesValue(t *testing.T) {
	c := FromMap(map[ReplicaID]uint64{"a": 3})
	if err := c.UnmarshalBinary([]byte{0x93, 1, 2, 0x81, 0xa1, 'a'}); err == nil {
		t.Fatal("truncated input decoded")
	}
	if got := c.Get("a"); got != 3 || c.Len() != 1 {
		t.Fatalf("failed decode changed the clock to %v", c)
	}
}

// TestMsgpackHooks embeds the types in a caller's msgpack document.
func TestMsgpackHooks(t *testing.T) {
	type doc struct {
		Name    string
		Clock   *Clock
		Dot     Dot
		Context *Context
	}
	var ctx Context
	ctx.Add(Dot{"x", 3})
	in := doc{"profile", FromMap(map[ReplicaID]uint64{"us": 4, "eu": 2}), Dot{"eu", 2}, &ctx}
	b, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := msgpack.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || !out.Clock.Equal(in.Clock) || out.Dot != in.Dot || !out.Context.Equal(in.Context) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	cb, _ := in.Clock.MarshalBinary()
	if !bytes.Contains(b, cb) {
		t.Fatalf("embedded clock bytes differ from MarshalBinary: %x not in %x", cb, b)
	}
	bad := append([]byte(nil), b...)
	bad[bytes.Index(bad, cb)+len(cb)-1] = 0 // a zero count
	if err := msgpack.Unmarshal(bad, &out); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupt embedded clock: got %v, want ErrMalformed", err)
	}
}

// TestEncodeRefusesWhatDecodersRefuse: counts above MaxCounter, and dots
// with counter 0, cannot be written, since no decoder would read them.
func TestEncodeRefusesWhatDecodersRefuse(t *testing.T) {
	var ctx Context
	ctx.Add(Dot{"a", 1 << 63})
	for name, v := range map[string]interface{ MarshalBinary() ([]byte, error) }{
		"clock":   FromMap(map[ReplicaID]uint64{"a": 1 << 63}),
		"dot 0":   Dot{"a", 0},
		"big dot": Dot{"a", 1 << 63},
		"context": &ctx,
	} {
		if b, err := v.MarshalBinary(); err == nil {
			t.Errorf("%s: MarshalBinary = %x, want an error", name, b)
		}
	}
}
