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
	switch anyClasses[c] {
	case anyInt8:
		return int8(r.Int())
	case anyNil:
		r.IsNil()
		return nil
	case anyBool:
		return r.Bool()
	case anyUint8:
		return uint8(r.Uint())
	case anyUint:
		return readAnyUint(r, at, c)
	case anyInt:
		return readAnyInt(r, at, c)
	case anyFloat:
		return readAnyFloat(r, at, c)
	case anyStr:
		return readAnyStr(r, at)
	case anyBin:
		return readAnyBin(r, at)
	case anyArray:
		return readAnyArray(r, at)
	case anyMap:
		return readAnyMap(r, at)
	case anyExt:
		return readAnyExt(r, at)
	}
	r.Raw() // fails on the reserved code 0xc1
	return nil
}

// The classes of msgpack values by their first byte, as readAny reads
// them. (A table of readers would be shorter, but a Reader passed to a
// function value escapes to the heap.)
const (
	anyReserved = iota
	anyInt8     // fixint, int 8
	anyNil
	anyBool
	anyUint8
	anyUint // uint 16, 32, 64
	anyInt  // int 16, 32, 64
	anyFloat
	anyStr
	anyBin
	anyArray
	anyMap
	anyExt
)

// anyClasses maps the first byte of a msgpack value to its class.
var anyClasses = func() (t [256]uint8) {
	set := func(lo, hi int, class uint8) {
		for c := lo; c <= hi; c++ {
			t[c] = class
		}
	}
	set(0x00, 0x7f, anyInt8) // positive fixint
	set(0xe0, 0xff, anyInt8) // negative fixint
	set(0xd0, 0xd0, anyInt8)
	set(0xc0, 0xc0, anyNil)
	set(0xc2, 0xc3, anyBool)
	set(0xcc, 0xcc, anyUint8)
	set(0xcd, 0xcf, anyUint)
	set(0xd1, 0xd3, anyInt)
	set(0xca, 0xcb, anyFloat)
	set(0xa0, 0xbf, anyStr) // fixstr
	set(0xd9, 0xdb, anyStr)
	set(0xc4, 0xc6, anyBin)
	set(0x90, 0x9f, anyArray) // fixarray
	set(0xdc, 0xdd, anyArray)
	set(0x80, 0x8f, anyMap) // fixmap
	set(0xde, 0xdf, anyMap)
	set(0xd4, 0xd8, anyExt) // fixext
	set(0xc7, 0xc9, anyExt)
	return t
}()

// readAnyUint reads a uint16, uint32 or uint64, each boxed.
func readAnyUint(r *wire.Reader, at int, c byte) any {
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
}

// readAnyInt reads an int16, int32 or int64, each boxed.
func readAnyInt(r *wire.Reader, at int, c byte) any {
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
}

func readAnyFloat(r *wire.Reader, at int, c byte) any {
	p := r.Raw()
	if r.Failed() || !r.Charge(at, boxWord) {
		return nil
	}
	if c == 0xca {
		return math.Float32frombits(binary.BigEndian.Uint32(p[1:]))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(p[1:]))
}

func readAnyStr(r *wire.Reader, at int) any {
	p := r.StrBytes()
	if r.Failed() || len(p) == 0 {
		return ""
	}
	if !r.Charge(at, boxString+allocBytes(len(p))) {
		return nil
	}
	return string(p)
}

func readAnyBin(r *wire.Reader, at int) any {
	p := r.Bytes()
	if r.Failed() || !r.Charge(at, boxSlice+allocBytes(len(p))) {
		return nil
	}
	return append(make([]byte, 0, len(p)), p...)
}

func readAnyArray(r *wire.Reader, at int) any {
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

func readAnyMap(r *wire.Reader, at int) any {
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

func readAnyExt(r *wire.Reader, at int) any {
	p := r.Raw()
	if r.Failed() {
		return nil
	}
	n, hdr := extHeader(p)
	if !extShortest(n, hdr) {
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
	tm, ok := extTime(p[hdr+1:])
	if !ok {
		r.FailAt(at, "a timestamp (ext -1) has 4, 8 or 12 bytes")
		return nil
	}
	if !r.Charge(at, boxTime) {
		return nil
	}
	return tm
}

// extHeader returns the data length of the extension p and the length of
// its header before the type byte.
func extHeader(p []byte) (n, hdr int) {
	switch c := p[0]; {
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		return 1 << (c - 0xd4), 1
	case c == 0xc7:
		return int(p[1]), 2
	case c == 0xc8:
		return int(binary.BigEndian.Uint16(p[1:])), 3
	}
	return int(binary.BigEndian.Uint32(p[1:])), 5
}

// extShortest reports whether an extension of n data bytes with a header
// of hdr bytes is in its shortest form: a fixext where one fits, else the
// smallest ext header.
func extShortest(n, hdr int) bool {
	switch hdr {
	case 1:
		return true
	case 3:
		if n <= math.MaxUint8 {
			return false
		}
	case 5:
		if n <= math.MaxUint16 {
			return false
		}
	}
	return n != 1 && n != 2 && n != 4 && n != 8 && n != 16
}

// extTime decodes the data of a msgpack timestamp, 4, 8 or 12 bytes.
func extTime(b []byte) (time.Time, bool) {
	var tm time.Time
	switch len(b) {
	case 4:
		tm = time.Unix(int64(binary.BigEndian.Uint32(b)), 0)
	case 8:
		v := binary.BigEndian.Uint64(b)
		tm = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		tm = time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b)))
	default:
		return tm, false
	}
	if tm.IsZero() {
		tm = tm.UTC()
	}
	return tm, true
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
	if out, ok := appendAnyInt(b, v); ok {
		return out
	}
	switch v := v.(type) {
	case nil:
		return wire.AppendNil(b)
	case bool:
		return wire.AppendBool(b, v)
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
		return x.appendArray(b, v)
	case map[string]any:
		return x.appendMap(b, v)
	case time.Time:
		return appendTime(b, v)
	}
	return appendMsgpack(b, v)
}

// appendAnyInt appends v if it is of an integer type, and reports
// whether it was.
func appendAnyInt(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case int8:
		return wire.AppendInt(b, int64(v)), true
	case int16:
		return wire.AppendInt(b, int64(v)), true
	case int32:
		return wire.AppendInt(b, int64(v)), true
	case int64:
		return wire.AppendInt(b, v), true
	case int:
		return wire.AppendInt(b, int64(v)), true
	case uint8:
		return wire.AppendUint(b, uint64(v)), true
	case uint16:
		return wire.AppendUint(b, uint64(v)), true
	case uint32:
		return wire.AppendUint(b, uint64(v)), true
	case uint64:
		return wire.AppendUint(b, v), true
	case uint:
		return wire.AppendUint(b, uint64(v)), true
	}
	return b, false
}

func (x *anyEncoder) appendArray(b []byte, v []any) []byte {
	if v == nil {
		return wire.AppendNil(b)
	}
	b = wire.AppendArrayLen(b, len(v))
	for _, e := range v {
		b = x.append(b, e)
	}
	return b
}

// appendMap writes v with its keys in ascending order.
func (x *anyEncoder) appendMap(b []byte, v map[string]any) []byte {
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
