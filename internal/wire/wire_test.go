package wire

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// msgpackBytes is what github.com/vmihailenco/msgpack/v5 writes for v.
func msgpackBytes(t interface{ Fatal(...any) }, v any) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWritersMatchMsgpack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := rapid.Uint64().Draw(t, "u")
		if got, want := AppendUint(nil, u), msgpackBytes(t, u); !bytes.Equal(got, want) {
			t.Fatalf("AppendUint(%d) = %x, want %x", u, got, want)
		}
		i := rapid.Int64().Draw(t, "i")
		if got, want := AppendInt(nil, i), msgpackBytes(t, i); !bytes.Equal(got, want) {
			t.Fatalf("AppendInt(%d) = %x, want %x", i, got, want)
		}
		s := rapid.StringN(0, 70000, -1).Draw(t, "s")
		if got, want := AppendString(nil, s), msgpackBytes(t, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(len %d) = %x..., want %x...", len(s), got[:3], want[:3])
		}
		p := rapid.SliceOfN(rapid.Byte(), 0, 70000).Draw(t, "p")
		if got, want := AppendBytes(nil, p), msgpackBytes(t, p); !bytes.Equal(got, want) {
			t.Fatalf("AppendBytes(len %d) = %x..., want %x...", len(p), got[:3], want[:3])
		}
	})
}

func TestContainerHeadersMatchMsgpack(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, math.MaxUint16, math.MaxUint16 + 1} {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		if err := enc.EncodeArrayLen(n); err != nil {
			t.Fatal(err)
		}
		if got := AppendArrayLen(nil, n); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("AppendArrayLen(%d) = %x, want %x", n, got, buf.Bytes())
		}
		buf.Reset()
		if err := enc.EncodeMapLen(n); err != nil {
			t.Fatal(err)
		}
		if got := AppendMapLen(nil, n); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("AppendMapLen(%d) = %x, want %x", n, got, buf.Bytes())
		}
	}
}

func TestReaderRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := rapid.Uint64().Draw(t, "u")
		i := rapid.Int64().Draw(t, "i")
		s := rapid.String().Draw(t, "s")
		p := rapid.SliceOf(rapid.Byte()).Draw(t, "p")
		flag := rapid.Bool().Draw(t, "flag")
		b := AppendHeader(nil, KindClock, 5)
		b = AppendUint(b, u)
		b = AppendInt(b, i)
		b = AppendString(b, s)
		b = AppendBytes(b, p)
		b = AppendBool(b, flag)
		r := NewReader(b, Limits{})
		r.Header(KindClock, 5)
		gu, gi, gs, gp, gf := r.Uint(), r.Int(), r.Str(), r.Bytes(), r.Bool()
		if err := r.End(); err != nil {
			t.Fatal(err)
		}
		if gu != u || gi != i || gs != s || !bytes.Equal(gp, p) || gf != flag {
			t.Fatalf("got %d %d %q %x %v, want %d %d %q %x %v", gu, gi, gs, gp, gf, u, i, s, p, flag)
		}
	})
}

// TestReaderRejectsNonShortest checks that only the shortest form, the
// one the writers produce, is read: input is canonical or rejected.
func TestReaderRejectsNonShortest(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		read func(r *Reader)
	}{
		{[]byte{codeUint8, 7}, func(r *Reader) { r.Uint() }},
		{[]byte{codeUint16, 0, 7}, func(r *Reader) { r.Uint() }},
		{[]byte{codeUint32, 0, 0, 0, 7}, func(r *Reader) { r.Uint() }},
		{[]byte{codeUint64, 0, 0, 0, 0, 0, 0, 0, 7}, func(r *Reader) { r.Uint() }},
		{[]byte{codeInt8, 7}, func(r *Reader) { r.Uint() }},
		{[]byte{codeInt8, 7}, func(r *Reader) { r.Int() }},
		{[]byte{codeInt8, 0xff}, func(r *Reader) { r.Int() }},
		{[]byte{codeInt16, 0xff, 0x80}, func(r *Reader) { r.Int() }},
		{[]byte{codeInt64, 0, 0, 0, 0, 0, 0, 0, 7}, func(r *Reader) { r.Int() }},
		{[]byte{codeArray16, 0, 1, 7}, func(r *Reader) { r.ArrayLen() }},
		{[]byte{codeMap32, 0, 0, 0, 1, 7, 7}, func(r *Reader) { r.MapLen() }},
		{[]byte{codeStr8, 1, 'x'}, func(r *Reader) { r.Str() }},
		{[]byte{codeBin16, 0, 1, 'x'}, func(r *Reader) { r.Bytes() }},
		{[]byte{0x91, codeUint8, 1}, func(r *Reader) { r.Raw() }},
	} {
		r := NewReader(tt.in, Limits{})
		tt.read(&r)
		if err := r.Err(); !errors.Is(err, ErrMalformed) {
			t.Errorf("reading %x: got %v, want ErrMalformed", tt.in, err)
		}
	}
}

func TestReaderRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(r *Reader)
		want error
	}{
		{"empty", nil, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"negative as uint", []byte{0xff}, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"negative int8 as uint", []byte{codeInt8, 0x80}, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"uint64 over int64", AppendUint(nil, math.MaxUint64), func(r *Reader) { r.Int() }, ErrMalformed},
		{"uint32 overflow", AppendUint(nil, 1<<32), func(r *Reader) { r.Uint32() }, ErrMalformed},
		{"string as uint", AppendString(nil, "x"), func(r *Reader) { r.Uint() }, ErrMalformed},
		{"truncated string", []byte{0xa5, 'a'}, func(r *Reader) { r.Str() }, ErrMalformed},
		{"huge array claim", []byte{codeArray32, 0xff, 0xff, 0xff, 0xff, 1, 2}, func(r *Reader) { r.ArrayLen() }, ErrMalformed},
		{"huge map claim", []byte{codeMap32, 0, 0, 0, 2, 1, 2, 3}, func(r *Reader) { r.MapLen() }, ErrMalformed},
		{"huge str claim", []byte{codeStr32, 0xff, 0xff, 0xff, 0xff}, func(r *Reader) { r.Str() }, ErrMalformed},
		{"reserved code", []byte{0xc1}, func(r *Reader) { r.Raw() }, ErrMalformed},
		{"trailing bytes", []byte{1, 2}, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"future version", []byte{0x93, 2, byte(KindClock), 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrUnsupported},
		{"unknown kind", []byte{0x93, 1, codeUint8, 200, 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrUnsupported},
		{"kind zero", []byte{0x93, 1, 0, 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrMalformed},
		{"version zero", []byte{0x93, 0, byte(KindClock), 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrMalformed},
		{"other known kind", []byte{0x93, 1, byte(KindDot), 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrMalformed},
		{"field count", []byte{0x94, 1, byte(KindClock), 0x90, 0x90}, func(r *Reader) { r.Header(KindClock, 1) }, ErrMalformed},
		{"no header", []byte{0x91, 1}, func(r *Reader) { r.Header(KindClock, 1) }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.in, Limits{})
			tt.read(&r)
			err := r.End()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error matching %v", err, tt.want)
			}
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("got %T, want *Error", err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 40)
	deep = append(deep, 0)
	r := NewReader(deep, Limits{MaxDepth: 8})
	r.Raw()
	if !errors.Is(r.Err(), ErrMalformed) {
		t.Errorf("depth 40 under limit 8: got %v, want ErrMalformed", r.Err())
	}
	r = NewReader(deep, Limits{MaxDepth: 64})
	if r.Raw(); r.End() != nil {
		t.Errorf("depth 40 under limit 64: got %v, want nil", r.Err())
	}

	many := AppendArrayLen(nil, 100)
	many = append(many, make([]byte, 100)...)
	r = NewReader(many, Limits{MaxElements: 99})
	if r.ArrayLen(); !errors.Is(r.Err(), ErrMalformed) {
		t.Errorf("100 elements under limit 99: got %v, want ErrMalformed", r.Err())
	}
	r = NewReader(many, Limits{MaxBytes: 50})
	if r.ArrayLen(); !errors.Is(r.Err(), ErrMalformed) {
		t.Errorf("101 bytes under limit 50: got %v, want ErrMalformed", r.Err())
	}
}

func TestRawMatchesMsgpack(t *testing.T) {
	values := []any{
		nil, true, false, 1, -1, 300, -300, 1 << 40, -(1 << 40), 1.5, float32(2.5),
		"x", "a longer string of more than thirty-two bytes", []byte{1, 2, 3},
		[]any{1, "two", []any{3.0}}, map[string]any{"a": 1, "b": []any{nil}},
		msgpack.RawMessage{0xd4, 1, 2}, msgpack.RawMessage{0xd8, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		msgpack.RawMessage{0xc7, 3, 1, 9, 9, 9},
	}
	for _, v := range values {
		b := msgpackBytes(t, v)
		in := append(append([]byte(nil), b...), 0x01)
		r := NewReader(in, Limits{})
		got := r.Raw()
		if r.Err() != nil || !bytes.Equal(got, b) {
			t.Errorf("Raw(%x) = %x, %v; want %x", in, got, r.Err(), b)
		}
	}
}

func FuzzReaderRaw(f *testing.F) {
	f.Add([]byte{0x92, 0x01, 0xa1, 'x'})
	f.Add([]byte{codeArray32, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa1, 'k', 0xd4, 1, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in, Limits{MaxDepth: 16, MaxElements: 1 << 12})
		raw := r.Raw()
		if r.Err() != nil {
			return
		}
		// A value Raw accepts is one msgpack itself can skip to the same end.
		dec := msgpack.NewDecoder(bytes.NewReader(raw))
		if err := dec.Skip(); err != nil {
			t.Fatalf("Raw accepted %x, msgpack rejects it: %v", raw, err)
		}
	})
}

// TestPresizeAndCharge: a Reader over n bytes lets decoders take
// RoomPerByte*n + RoomSlack bytes, in grants that Presize shrinks and
// Charge refuses once the allowance is spent.
func TestPresizeAndCharge(t *testing.T) {
	in := make([]byte, 1000)
	r := NewReader(in, Limits{})
	total := RoomPerByte*len(in) + RoomSlack
	if got := r.Room(); got != total {
		t.Fatalf("Room() = %d, want %d", got, total)
	}
	if got := r.Presize(10, 100); got != 10 {
		t.Fatalf("Presize(10, 100) = %d, want 10", got)
	}
	if got := r.Presize(0, 100); got != 0 || r.Room() != total-1000 {
		t.Fatalf("Presize(0, 100) = %d, room %d; want 0, %d", got, r.Room(), total-1000)
	}
	// A claim larger than the allowance gets what is left, and later ones
	// get nothing; neither fails the Reader.
	if got, want := r.Presize(1<<30, 64), (total-1000)/64; got != want {
		t.Fatalf("Presize(1<<30, 64) = %d, want %d", got, want)
	}
	if got := r.Presize(5, 1<<20); got != 0 || r.Failed() {
		t.Fatalf("Presize after the allowance: %d, failed %v; want 0, false", got, r.Failed())
	}
	left := r.Room()
	if !r.Charge(0, left) || r.Room() != 0 {
		t.Fatalf("Charge(%d) of the rest: room %d, err %v", left, r.Room(), r.Err())
	}
	if r.Charge(7, 1) {
		t.Fatal("Charge beyond the allowance succeeded")
	}
	var e *Error
	if !errors.As(r.Err(), &e) || !errors.Is(e, ErrMalformed) || e.Offset != 7 || e.Reason == "" {
		t.Fatalf("Charge beyond the allowance: got %#v, want an ErrMalformed *Error at 7 with a reason", r.Err())
	}
	if r.Charge(0, 0) {
		t.Fatal("Charge after an error succeeded")
	}
	r = NewReader(in, Limits{})
	if r.Charge(0, -1) {
		t.Fatal("Charge of a negative size (an overflowed sum) succeeded")
	}
}
