package crdt

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// The codec of any must read and write exactly what msgpack did before it
// replaced msgpack for these types: the same Go values from the same
// bytes, the same bytes from the same values, and the same inputs
// accepted. These tests hold it to msgpack itself.

// fataler is what the helpers need of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// msgpackEncode is what the element encoder wrote for v with msgpack.
func msgpackEncode(t fataler, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("msgpack cannot encode %#v: %v", v, err)
	}
	return buf.Bytes()
}

// oldReadAny is the element decoder msgpack provided for an any: one value
// the Reader can skip, decoded by msgpack.Unmarshal and accepted if
// msgpack writes it back identically.
func oldReadAny(in []byte) (any, bool) {
	r := wire.NewReader(in, wire.Limits{})
	raw := r.Raw()
	if r.End() != nil {
		return nil, false
	}
	var v any
	if msgpack.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	if enc.Encode(v) != nil || !bytes.Equal(buf.Bytes(), raw) {
		return nil, false
	}
	return v, true
}

// newReadAny decodes in, one element of type E, with the codec of any.
func newReadAny[E any](in []byte) (E, error) {
	r := wire.NewReader(in, wire.Limits{})
	e, _ := readAnyElem[E](&r)
	return e, r.End()
}

// sameValue reports whether a and b are the same Go value: the same types
// all the way down (so int8(1) is not int16(1)), floats with the same
// bits, nil slices and maps apart from empty ones.
func sameValue(a, b any) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	switch a := a.(type) {
	case float32:
		return math.Float32bits(a) == math.Float32bits(b.(float32))
	case float64:
		return math.Float64bits(a) == math.Float64bits(b.(float64))
	case []byte:
		b := b.([]byte)
		return (a == nil) == (b == nil) && bytes.Equal(a, b)
	case []any:
		b := b.([]any)
		if (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b := b.(map[string]any)
		if (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// anyValue generates the values an element of type any may hold: every
// type the codec of any writes itself, and a few it leaves to msgpack.
func anyValue(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		kinds := 24
		if depth > 0 {
			kinds = 28
		}
		str := func(label string) string {
			n := rapid.SampledFrom([]int{0, 1, 5, 31, 32, 255, 256, 300}).Draw(t, label+" length")
			return strings.Repeat(string(rune('a'+rapid.IntRange(0, 25).Draw(t, label))), n)
		}
		switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
		case 0:
			return nil
		case 1:
			return rapid.Bool().Draw(t, "bool")
		case 2:
			return rapid.Int8().Draw(t, "int8")
		case 3:
			return rapid.Int16().Draw(t, "int16")
		case 4:
			return rapid.Int32().Draw(t, "int32")
		case 5:
			return rapid.Int64().Draw(t, "int64")
		case 6:
			return rapid.Int().Draw(t, "int")
		case 7:
			return rapid.Uint8().Draw(t, "uint8")
		case 8:
			return rapid.Uint16().Draw(t, "uint16")
		case 9:
			return rapid.Uint32().Draw(t, "uint32")
		case 10:
			return rapid.Uint64().Draw(t, "uint64")
		case 11:
			return rapid.Uint().Draw(t, "uint")
		case 12:
			return math.Float32frombits(rapid.Uint32().Draw(t, "float32 bits"))
		case 13:
			return math.Float64frombits(rapid.Uint64().Draw(t, "float64 bits"))
		case 14:
			return str("string")
		case 15:
			return []byte(str("bytes"))
		case 16:
			return []byte(nil)
		case 17:
			return time.Time{}
		case 18:
			return time.Unix(rapid.Int64Range(0, 1<<32-1).Draw(t, "sec32"), 0)
		case 19:
			return time.Unix(rapid.Int64Range(0, 1<<34-1).Draw(t, "sec34"), rapid.Int64Range(0, 999_999_999).Draw(t, "nsec"))
		case 20:
			return time.Unix(rapid.Int64Range(-1<<40, 1<<40).Draw(t, "sec"), rapid.Int64Range(0, 999_999_999).Draw(t, "nsec")).UTC()
		case 21:
			return time.Duration(rapid.Int64().Draw(t, "duration")) // left to msgpack
		case 22:
			return struct {
				A string `msgpack:"a"`
				B int
			}{str("field"), rapid.Int().Draw(t, "field int")} // left to msgpack
		case 23:
			return map[string]any(nil)
		case 24:
			return []any(nil)
		case 25:
			return map[string]string{str("key"): str("value")} // left to msgpack
		case 26:
			return rapid.SliceOfN(anyValue(depth-1), 0, 5).Draw(t, "array")
		}
		return rapid.MapOfN(rapid.Custom(func(t *rapid.T) string { return str("key") }), anyValue(depth-1), 0, 5).Draw(t, "map")
	})
}

// TestAnyCodecMatchesMsgpack: appendAny writes what msgpack writes, and
// readAnyElem reads those bytes back to what msgpack.Unmarshal returns,
// for any, []any and map[string]any.
func TestAnyCodecMatchesMsgpack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := anyValue(3).Draw(t, "v")
		want := msgpackEncode(t, v)
		got := appendAny([]byte{0xee}, v)
		if !bytes.Equal(got[1:], want) || got[0] != 0xee {
			t.Fatalf("appendAny(%#v) = %x, msgpack writes %x", v, got[1:], want)
		}
		var mv any
		if err := msgpack.Unmarshal(want, &mv); err != nil {
			t.Fatalf("msgpack cannot read back %x: %v", want, err)
		}
		if reencoded := msgpackEncode(t, mv); !bytes.Equal(reencoded, want) {
			// msgpack itself does not round-trip this value (a struct
			// comes back as a map, whose keys it sorts): both decoders
			// must refuse it.
			if _, ok := oldReadAny(want); ok {
				t.Fatalf("old decoder accepted %x", want)
			}
			if _, err := newReadAny[any](want); err == nil {
				t.Fatalf("readAnyElem accepted %x, which msgpack writes back as %x", want, reencoded)
			}
			return
		}
		dv, err := newReadAny[any](want)
		if err != nil {
			t.Fatalf("readAnyElem(%x): %v", want, err)
		}
		if !sameValue(dv, mv) {
			t.Fatalf("readAnyElem(%x) = %#v, msgpack.Unmarshal gives %#v", want, dv, mv)
		}
		switch mv := mv.(type) {
		case []any:
			var typed []any
			if err := msgpack.Unmarshal(want, &typed); err != nil {
				t.Fatal(err)
			}
			if got, err := newReadAny[[]any](want); err != nil || !sameValue(got, typed) {
				t.Fatalf("readAnyElem[[]any](%x) = %#v, %v; msgpack gives %#v", want, got, err, typed)
			}
		case map[string]any:
			var typed map[string]any
			if err := msgpack.Unmarshal(want, &typed); err != nil {
				t.Fatal(err)
			}
			if got, err := newReadAny[map[string]any](want); err != nil || !sameValue(got, typed) {
				t.Fatalf("readAnyElem[map[string]any](%x) = %#v, %v; msgpack gives %#v", want, got, err, typed)
			}
		case nil:
			if got, err := newReadAny[[]any](want); err != nil || got != nil {
				t.Fatalf("readAnyElem[[]any](nil) = %#v, %v", got, err)
			}
		default:
			if _, err := newReadAny[map[string]any](want); err == nil {
				t.Fatalf("readAnyElem[map[string]any] accepted %x, a %T", want, mv)
			}
		}
	})
}

// TestAnyDecoderAcceptsWhatMsgpackDid: on arbitrary bytes — valid
// encodings, and encodings with one byte changed, cut short or lengthened —
// readAnyElem accepts exactly the inputs the msgpack-based decoder
// accepted, and reads them to the same value.
func TestAnyDecoderAcceptsWhatMsgpackDid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := msgpackEncode(t, anyValue(2).Draw(t, "v"))
		switch rapid.IntRange(0, 4).Draw(t, "mutation") {
		case 1:
			i := rapid.IntRange(0, len(in)-1).Draw(t, "at")
			in[i] = rapid.Byte().Draw(t, "byte")
		case 2:
			in = in[:rapid.IntRange(0, len(in)-1).Draw(t, "cut")]
		case 3:
			in = append(in, rapid.Byte().Draw(t, "extra"))
		case 4:
			in = rapid.SliceOfN(rapid.Byte(), 1, 24).Draw(t, "random")
		}
		old, oldOK := oldReadAny(in)
		got, err := newReadAny[any](in)
		if oldOK != (err == nil) {
			t.Fatalf("input %x: msgpack-based decoder accepted: %v (%#v); readAnyElem: %v", in, oldOK, old, err)
		}
		if oldOK && !sameValue(got, old) {
			t.Fatalf("input %x: readAnyElem = %#v, msgpack-based decoder %#v", in, got, old)
		}
		if err != nil {
			var we *wire.Error
			if !asWireError(err, &we) || !strings.Contains(we.Error(), "malformed") || we.Reason == "" {
				t.Fatalf("input %x: error %v is not a malformed-input *wire.Error with a reason", in, err)
			}
		}
	})
}

func asWireError(err error, target **wire.Error) bool {
	e, ok := err.(*wire.Error)
	*target = e
	return ok && errorsIsMalformed(e)
}

func errorsIsMalformed(e *wire.Error) bool { return e.Err == wire.ErrMalformed }

// TestAnyDecoderRejections: the rules of docs/wire-format.md for values
// of type any, each broken once.
func TestAnyDecoderRejections(t *testing.T) {
	for _, c := range []struct {
		name, hex string
	}{
		{"uint 8 for 5", "cc05"},
		{"int 8 for 5", "d005"},
		{"int 16 for -1", "d1ffff"},
		{"str 8 for a short string", "d90161"},
		{"bin 16 for 3 bytes", "c50003010203"},
		{"array 16 of 1", "dc000100"},
		{"map 16 of 1", "de0001a16100"},
		{"a map key that is not a string", "810102"},
		{"a map key that is binary", "81c4016101"},
		{"map keys out of order", "82a16201a16102"},
		{"a repeated map key", "82a16101a16102"},
		{"map keys in the order of their encodings, not of their bytes", "82a162" + "01" + "a2616102"},
		{"ext 8 of 4 bytes", "c704ff00000001"},
		{"a 64-bit timestamp that fits 32 bits", "d7ff0000000000000001"},
		{"a timestamp of 5 bytes", "c705ff0000000000"},
		{"nanoseconds beyond a second", "d7ff" + "ee6b2800" + "00000000"},
		{"an unregistered extension", "d40101"},
		{"the reserved code", "c1"},
		{"a truncated float", "cb000000"},
	} {
		in := mustHex(t, c.hex)
		if _, err := newReadAny[any](in); err == nil {
			t.Errorf("%s (%s): accepted", c.name, c.hex)
		}
		if _, ok := oldReadAny(in); ok {
			t.Errorf("%s (%s): the msgpack-based decoder accepted it", c.name, c.hex)
		}
	}
	// And what the rules allow.
	for _, h := range []string{
		"82a16101a16202",                 // {"a": 1, "b": 2}
		"82a2616101a16202",               // {"aa": 1, "b": 2}: bytewise, so "aa" first
		"d6ff00000001",                   // 1970-01-01T00:00:01Z
		"c70cff000000010000000400000000", // a 96-bit timestamp
		"c400",                           // empty bin
		"90", "80", "a0", "c0", "c3", "ca7fc00001", "cb8000000000000000",
	} {
		if _, err := newReadAny[any](mustHex(t, h)); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func mustHex(t testing.TB, h string) []byte {
	t.Helper()
	b := make([]byte, len(h)/2)
	for i := range b {
		var x byte
		for _, c := range h[2*i : 2*i+2] {
			x <<= 4
			switch {
			case c >= '0' && c <= '9':
				x |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				x |= byte(c - 'a' + 10)
			default:
				t.Fatalf("bad hex %q", h)
			}
		}
		b[i] = x
	}
	return b
}

// TestAnyChargesCoverAllocation: what readAnyElem allocates is at most
// what it charged the Reader, accepted or not.
func TestAnyChargesCoverAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation figures do not hold")
	}
	rapid.Check(t, func(t *rapid.T) {
		in := msgpackEncode(t, anyValue(3).Draw(t, "v"))
		if rapid.Bool().Draw(t, "mutate") {
			i := rapid.IntRange(0, len(in)-1).Draw(t, "at")
			in[i] = rapid.Byte().Draw(t, "byte")
		}
		warm := wire.NewReader(in, wire.Limits{})
		readAnyElem[any](&warm) // fill the pools
		var charged int
		var failed bool
		got := heapGrowth(func() {
			r := wire.NewReader(in, wire.Limits{})
			room := r.Room()
			readAnyElem[any](&r)
			charged, failed = room-r.Room(), r.Failed()
		})
		if failed {
			charged += 512 // the error and its reason
		}
		if got > uint64(charged) {
			t.Fatalf("decoding %x allocated %d bytes, charged %d", in, got, charged)
		}
	})
}
