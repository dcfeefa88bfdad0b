package crdt

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// Elements of type any — and of []any and map[string]any — have a codec
// of their own rather than msgpack's reflection: the decoder reads the
// bytes with a wire.Reader, so every length is checked against the input,
// and it takes the memory of every Go value it builds from the Reader's
// allowance before building it. A msgpack empty map is one byte and a Go
// map 48; a one-entry map is three bytes and 336 in Go, so a decoder that
// built whatever the bytes describe would allocate over a hundred bytes
// per input byte.
//
// Both sides produce exactly the Go values and bytes
// github.com/vmihailenco/msgpack/v5 does (with compact integers and
// sorted map keys), docs/wire-format.md specifies them, and
// anyelem_test.go checks the two against each other:
//
//   - nil, true, false;
//   - an integer decodes to the Go type of its format (a fixint to int8,
//     uint 8/16/32/64 to uint8...uint64, int 8/16/32/64 to int8...int64)
//     and is written in its shortest form;
//   - float 32 to float32, float 64 to float64, bits as they are;
//   - str to string, bin to []byte (never nil: a nil []byte is written
//     nil);
//   - an array to []any, a map to map[string]any, whose keys must be str
//     and ascend by their bytes (Go's string order, which is not the order
//     of their encodings);
//   - ext type -1, the msgpack timestamp, to time.Time as msgpack does
//     (time.Unix, in UTC for the zero time); any other ext type goes to
//     msgpack.Unmarshal, which knows the types registered with
//     msgpack.RegisterExt, and is refused if it knows none.
//
// Values of other Go types inside an any (a struct, an int of a named
// type) are written by msgpack (appendMsgpack).

// The element types other than interfaces that use this codec.
var (
	anySliceType = reflect.TypeFor[[]any]()
	anyMapType   = reflect.TypeFor[map[string]any]()
)

// isAnyType reports whether elements of type t use the codec of any: the
// empty interface, under any name, []any and map[string]any.
func isAnyType(t reflect.Type) bool {
	return t.Kind() == reflect.Interface && t.NumMethod() == 0 || t == anySliceType || t == anyMapType
}

// anySlot is the size of a slot of a map[string]any.
var anySlot = mapSlot[string, any]()

// readAnyElem reads an element of a type isAnyType accepts, and fails
// unless it is in canonical form.
func readAnyElem[E any](r *wire.Reader) (e E, raw []byte) {
	start := r.Offset()
	v := readAny(r)
	if r.Failed() {
		return e, nil
	}
	raw = r.Since(start)
	if v != nil {
		var ok bool
		if e, ok = v.(E); !ok {
			r.FailAt(start, "element: want a "+reflect.TypeFor[E]().String()+", got a "+reflect.TypeOf(v).String())
			return e, nil
		}
	}
	if !anyEncodes(v, raw) {
		r.FailAt(start, "element not in canonical form")
		return e, nil
	}
	return e, raw
}

// readAny reads one msgpack value as msgpack.Unmarshal into an any would,
// charging r for the memory of what it builds; nil after an error.
func readAny(r *wire.Reader) any {
	at := r.Offset()
	c, ok := r.Peek()
	if !ok {
		return nil
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // fixint
		return int8(r.Int())
	case c == 0xc0:
		r.IsNil()
		return nil
	case c == 0xc2 || c == 0xc3:
		return r.Bool()
	case c == 0xcc:
		return uint8(r.Uint())
	case c == 0xd0:
		return int8(r.Int())
	case c >= 0xcd && c <= 0xcf:
		v := r.Uint()
		if !r.Charge(at, boxWord) {
			return nil
		}
		switch c {
		case 0xcd:
			return uint16(v)
		case 0xce:
			return uint32(v)
		}
		return v
	case c >= 0xd1 && c <= 0xd3:
		v := r.Int()
		if !r.Charge(at, boxWord) {
			return nil
		}
		switch c {
		case 0xd1:
			return int16(v)
		case 0xd2:
			return int32(v)
		}
		return v
	case c == 0xca || c == 0xcb:
		p := r.Raw()
		if r.Failed() || !r.Charge(at, boxWord) {
			return nil
		}
		if c == 0xca {
			return math.Float32frombits(binary.BigEndian.Uint32(p[1:]))
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p[1:]))
	case c&0xe0 == 0xa0 || c >= 0xd9 && c <= 0xdb: // str
		p := r.StrBytes()
		if r.Failed() || len(p) == 0 {
			return ""
		}
		if !r.Charge(at, boxString+allocBytes(len(p))) {
			return nil
		}
		return string(p)
	case c >= 0xc4 && c <= 0xc6: // bin
		p := r.Bytes()
		if r.Failed() || !r.Charge(at, boxSlice+allocBytes(len(p))) {
			return nil
		}
		return append(make([]byte, 0, len(p)), p...)
	case c&0xf0 == 0x90 || c == 0xdc || c == 0xdd:
		return readAnyArray(r)
	case c&0xf0 == 0x80 || c == 0xde || c == 0xdf:
		return readAnyMap(r)
	case c >= 0xd4 && c <= 0xd8 || c >= 0xc7 && c <= 0xc9:
		return readAnyExt(r)
	}
	r.Raw() // fails on the reserved code 0xc1
	return nil
}

func readAnyArray(r *wire.Reader) any {
	at := r.Offset()
	n := r.ArrayLen()
	if r.Failed() || !r.Enter() {
		return nil
	}
	defer r.Leave()
	if !r.Charge(at, boxSlice+allocBytes(16*n)) {
		return nil
	}
	s := make([]any, n)
	for i := range s {
		if s[i] = readAny(r); r.Failed() {
			return nil
		}
	}
	return s
}

func readAnyMap(r *wire.Reader) any {
	at := r.Offset()
	n := r.MapLen()
	if r.Failed() || !r.Enter() {
		return nil
	}
	defer r.Leave()
	if !r.Charge(at, mapBytes(n, anySlot)) {
		return nil
	}
	m := make(map[string]any, n)
	var prev []byte
	for i := 0; i < n; i++ {
		kat := r.Offset()
		if c, _ := r.Peek(); !(c&0xe0 == 0xa0 || c >= 0xd9 && c <= 0xdb) {
			r.FailAt(kat, "a map key inside an element must be a string")
			return nil
		}
		k := r.StrBytes()
		if r.Failed() {
			return nil
		}
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			r.FailAt(kat, "map keys inside an element out of order or repeated: they ascend by their bytes")
			return nil
		}
		prev = k
		if !r.Charge(kat, allocBytes(len(k))) {
			return nil
		}
		key := string(k)
		v := readAny(r)
		if r.Failed() {
			return nil
		}
		m[key] = v
	}
	return m
}

// timeExt is the msgpack extension type of timestamps.
const timeExt = -1

func readAnyExt(r *wire.Reader) any {
	at := r.Offset()
	p := r.Raw()
	if r.Failed() {
		return nil
	}
	var n, hdr int
	switch c := p[0]; {
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		n, hdr = 1<<(c-0xd4), 1
	case c == 0xc7:
		n, hdr = int(p[1]), 2
	case c == 0xc8:
		n, hdr = int(binary.BigEndian.Uint16(p[1:])), 3
	default:
		n, hdr = int(binary.BigEndian.Uint32(p[1:])), 5
	}
	if hdr > 1 && (n == 1 || n == 2 || n == 4 || n == 8 || n == 16 || hdr == 3 && n <= math.MaxUint8 || hdr == 5 && n <= math.MaxUint16) {
		r.FailAt(at, "value not in its shortest form (input must be canonical)")
		return nil
	}
	if int8(p[hdr]) != timeExt {
		// An application's extension: only msgpack knows the types
		// registered with msgpack.RegisterExt. It is charged as msgpack
		// decoding an ext into an any is (anyOwnCost); what the type's
		// own decoder allocates is its own.
		if !r.Charge(at, anyOwnCost(classExt, len(p))) {
			return nil
		}
		var v any
		if err := msgpack.Unmarshal(p, &v); err != nil {
			r.FailAt(at, "element: "+err.Error())
			return nil
		}
		return v
	}
	b := p[hdr+1:]
	var tm time.Time
	switch n {
	case 4:
		tm = time.Unix(int64(binary.BigEndian.Uint32(b)), 0)
	case 8:
		v := binary.BigEndian.Uint64(b)
		tm = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		tm = time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b)))
	default:
		r.FailAt(at, "a timestamp (ext -1) has 4, 8 or 12 bytes")
		return nil
	}
	if !r.Charge(at, boxTime) {
		return nil
	}
	if tm.IsZero() {
		tm = tm.UTC()
	}
	return tm
}

// An anyEncoder writes values of type any. keys is a stack of the keys of
// the maps being written, sorted in place.
type anyEncoder struct {
	keys []string
	buf  []byte // for anyEncodes
}

var anyPool = sync.Pool{New: func() any { return new(anyEncoder) }}

// appendAny appends the canonical encoding of v.
func appendAny(b []byte, v any) []byte {
	x := anyPool.Get().(*anyEncoder)
	b = x.append(b, v)
	anyPool.Put(x)
	return b
}

// anyEncodes reports whether raw is the canonical encoding of v.
func anyEncodes(v any, raw []byte) bool {
	x := anyPool.Get().(*anyEncoder)
	x.buf = x.append(x.buf[:0], v)
	ok := bytes.Equal(x.buf, raw)
	if cap(x.buf) > 64<<10 {
		x.buf = nil
	}
	anyPool.Put(x)
	return ok
}

func (x *anyEncoder) append(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return wire.AppendNil(b)
	case bool:
		return wire.AppendBool(b, v)
	case int8:
		return wire.AppendInt(b, int64(v))
	case int16:
		return wire.AppendInt(b, int64(v))
	case int32:
		return wire.AppendInt(b, int64(v))
	case int64:
		return wire.AppendInt(b, v)
	case int:
		return wire.AppendInt(b, int64(v))
	case uint8:
		return wire.AppendUint(b, uint64(v))
	case uint16:
		return wire.AppendUint(b, uint64(v))
	case uint32:
		return wire.AppendUint(b, uint64(v))
	case uint64:
		return wire.AppendUint(b, v)
	case uint:
		return wire.AppendUint(b, uint64(v))
	case float32:
		return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(v))
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(v))
	case string:
		return wire.AppendString(b, v)
	case []byte:
		if v == nil {
			return wire.AppendNil(b)
		}
		return wire.AppendBytes(b, v)
	case []any:
		if v == nil {
			return wire.AppendNil(b)
		}
		b = wire.AppendArrayLen(b, len(v))
		for _, e := range v {
			b = x.append(b, e)
		}
		return b
	case map[string]any:
		if v == nil {
			return wire.AppendNil(b)
		}
		b = wire.AppendMapLen(b, len(v))
		lo := len(x.keys)
		for k := range v {
			x.keys = append(x.keys, k)
		}
		slices.Sort(x.keys[lo:])
		for i := range len(v) {
			// x.keys may move while a value is written: index it afresh.
			k := x.keys[lo+i]
			b = x.append(wire.AppendString(b, k), v[k])
		}
		clear(x.keys[lo:])
		x.keys = x.keys[:lo]
		return b
	case time.Time:
		return appendTime(b, v)
	}
	return appendMsgpack(b, v)
}

// appendTime appends t as msgpack.Encoder.EncodeTime does: the timestamp
// extension in its 32-, 64- or 96-bit form.
func appendTime(b []byte, t time.Time) []byte {
	secs := uint64(t.Unix())
	if secs>>34 == 0 {
		data := uint64(t.Nanosecond())<<34 | secs
		if data>>32 == 0 {
			return binary.BigEndian.AppendUint32(append(b, 0xd6, 0xff), uint32(data))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xd7, 0xff), data)
	}
	b = binary.BigEndian.AppendUint32(append(b, 0xc7, 12, 0xff), uint32(t.Nanosecond()))
	return binary.BigEndian.AppendUint64(b, secs)
}
