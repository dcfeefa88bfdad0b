package crdt

import (
	"bytes"
	"cmp"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// Elements of generic types (set members, map keys, register values) are
// written as msgpack values. Strings, integers and booleans — including
// named types over them — take a fast path that needs no reflection; any,
// []any and map[string]any have a codec of their own (anyelem.go); any
// other type goes through github.com/vmihailenco/msgpack/v5 with compact
// integers and sorted map keys, so that one value has one encoding.
// Canonical order among elements is the byte order of their encodings.

// elemKind classifies E once per operation for the fast paths.
type elemKind uint8

const (
	elemOther elemKind = iota
	elemString
	elemInt
	elemUint
	elemBool
	elemAny // any, []any, map[string]any: anyelem.go
)

func kindOf[E any]() elemKind {
	t := reflect.TypeFor[E]()
	switch t.Kind() {
	case reflect.String:
		return elemString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return elemInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return elemUint
	case reflect.Bool:
		return elemBool
	}
	if isAnyType(t) {
		return elemAny
	}
	return elemOther
}

// asString, asInt and asUint read E through its underlying kind, which
// kindOf has checked; a named type over string (type SKU string) then costs
// no more than a string.
func asString[E any](e *E) string { return *(*string)(unsafe.Pointer(e)) }

func asInt[E any](e *E) int64 {
	switch unsafe.Sizeof(*e) {
	case 1:
		return int64(*(*int8)(unsafe.Pointer(e)))
	case 2:
		return int64(*(*int16)(unsafe.Pointer(e)))
	case 4:
		return int64(*(*int32)(unsafe.Pointer(e)))
	}
	return *(*int64)(unsafe.Pointer(e))
}

func asUint[E any](e *E) uint64 {
	switch unsafe.Sizeof(*e) {
	case 1:
		return uint64(*(*uint8)(unsafe.Pointer(e)))
	case 2:
		return uint64(*(*uint16)(unsafe.Pointer(e)))
	case 4:
		return uint64(*(*uint32)(unsafe.Pointer(e)))
	}
	return *(*uint64)(unsafe.Pointer(e))
}

// setInt stores v into e if it fits E's size, and reports whether it did.
func setInt[E any](e *E, v int64) bool {
	switch unsafe.Sizeof(*e) {
	case 1:
		*(*int8)(unsafe.Pointer(e)) = int8(v)
		return int64(int8(v)) == v
	case 2:
		*(*int16)(unsafe.Pointer(e)) = int16(v)
		return int64(int16(v)) == v
	case 4:
		*(*int32)(unsafe.Pointer(e)) = int32(v)
		return int64(int32(v)) == v
	}
	*(*int64)(unsafe.Pointer(e)) = v
	return true
}

func setUint[E any](e *E, v uint64) bool {
	switch unsafe.Sizeof(*e) {
	case 1:
		*(*uint8)(unsafe.Pointer(e)) = uint8(v)
		return uint64(uint8(v)) == v
	case 2:
		*(*uint16)(unsafe.Pointer(e)) = uint16(v)
		return uint64(uint16(v)) == v
	case 4:
		*(*uint32)(unsafe.Pointer(e)) = uint32(v)
		return uint64(uint32(v)) == v
	}
	*(*uint64)(unsafe.Pointer(e)) = v
	return true
}

var encPool = sync.Pool{New: func() any {
	s := &elemEncoder{}
	s.enc = msgpack.NewEncoder(&s.buf)
	s.enc.UseCompactInts(true)
	s.enc.SetSortMapKeys(true)
	return s
}}

type elemEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// appendElem appends the canonical encoding of e.
func appendElem[E any](b []byte, k elemKind, e E) []byte {
	switch k {
	case elemString:
		return wire.AppendString(b, asString(&e))
	case elemInt:
		return wire.AppendInt(b, asInt(&e))
	case elemUint:
		return wire.AppendUint(b, asUint(&e))
	case elemBool:
		return wire.AppendBool(b, *(*bool)(unsafe.Pointer(&e)))
	case elemAny:
		return appendAny(b, any(e))
	}
	s := encPool.Get().(*elemEncoder)
	defer encPool.Put(s)
	s.buf.Reset()
	if err := s.enc.Encode(e); err != nil {
		// Only a type msgpack cannot encode gets here: a programming error
		// caught the first time such a value is encoded.
		panic("crdt: cannot encode element of type " + reflect.TypeFor[E]().String() + ": " + err.Error())
	}
	return append(b, s.buf.Bytes()...)
}

// appendMsgpack appends what msgpack writes for v, a value inside an any
// of a type the codec of any leaves to msgpack.
func appendMsgpack(b []byte, v any) []byte {
	s := encPool.Get().(*elemEncoder)
	defer encPool.Put(s)
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		panic("crdt: cannot encode element of type " + reflect.TypeOf(v).String() + ": " + err.Error())
	}
	return append(b, s.buf.Bytes()...)
}

// readElem reads one element and fails unless its encoding is canonical.
// It returns the element's bytes in the input, for order checks.
func readElem[E any](r *wire.Reader, k elemKind) (e E, raw []byte) {
	start := r.Offset()
	switch k {
	case elemString:
		// The string path takes no pointer that escapes, so e stays off
		// the heap: one allocation per element, the string.
		p := r.StrBytes()
		if r.Failed() {
			return e, nil
		}
		raw = r.Since(start)
		if len(raw)-len(p) != strHeaderLen(len(p)) {
			r.FailAt(start, "element not in canonical form")
			return e, nil
		}
		*(*string)(unsafe.Pointer(&e)) = string(p)
		return e, raw
	case elemInt:
		v := r.Int()
		if !r.Failed() && !setInt(&e, v) {
			r.FailAt(start, "integer out of range for "+reflect.TypeFor[E]().String())
		}
	case elemUint:
		v := r.Uint()
		if !r.Failed() && !setUint(&e, v) {
			r.FailAt(start, "integer out of range for "+reflect.TypeFor[E]().String())
		}
	case elemBool:
		*(*bool)(unsafe.Pointer(&e)) = r.Bool()
	case elemAny:
		return readAnyElem[E](r)
	default:
		return readOther[E](r)
	}
	if r.Failed() {
		return e, nil
	}
	raw = r.Since(start)
	var tmp [16]byte
	if !bytes.Equal(appendElem(tmp[:0], k, e), raw) {
		r.FailAt(start, "element not in canonical form")
	}
	return e, raw
}

// readOther reads an element of a type without a codec of its own,
// through msgpack. It first reads the value with the Reader, checking its
// lengths, and charges the Reader for what msgpack will allocate
// (msgcost.go); msgpack then decodes it as msgpack.Unmarshal does.
func readOther[E any](r *wire.Reader) (e E, raw []byte) {
	start := r.Offset()
	cost := msgpackCost(r, topPlan(reflect.TypeFor[E]()))
	if r.Failed() {
		return e, nil
	}
	raw = r.Since(start)
	// e itself goes to the heap for msgpack, a copy of it into an
	// interface for the check below, and another into a map when it is
	// larger than 128 bytes and a key.
	size := int(unsafe.Sizeof(e))
	cost += 2 * allocBytes(size)
	if size > 128 {
		cost += allocBytes(size)
	}
	if !r.Charge(start, cost) {
		return e, nil
	}
	d := decPool.Get().(*msgpackDecoder)
	d.src.Reset(raw)
	d.dec.Reset(&d.src)
	err := d.dec.Decode(&e)
	d.src.Reset(nil)
	d.dec.ResetReader(nil)
	decPool.Put(d)
	if err != nil {
		r.FailAt(start, "element: "+err.Error())
		return e, nil
	}
	if !encodesTo(e, raw) {
		r.FailAt(start, "element not in canonical form")
	}
	return e, raw
}

// encodesTo reports whether msgpack writes e as raw.
func encodesTo[E any](e E, raw []byte) bool {
	s := encPool.Get().(*elemEncoder)
	defer encPool.Put(s)
	s.buf.Reset()
	return s.enc.Encode(e) == nil && bytes.Equal(s.buf.Bytes(), raw)
}

// A msgpackDecoder is a msgpack.Decoder with its source, kept in a pool:
// msgpack.Unmarshal allocates a bytes.Reader per call.
type msgpackDecoder struct {
	dec *msgpack.Decoder
	src bytes.Reader
}

var decPool = sync.Pool{New: func() any { return &msgpackDecoder{dec: msgpack.NewDecoder(nil)} }}

// strHeaderLen is the size of the shortest msgpack str header for n bytes.
func strHeaderLen(n int) int {
	switch {
	case n < 32:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	}
	return 5
}

// readKey reads a set element or a map key: readElem, and a value Go can
// use as a map key with one encoding per key.
func readKey[E any](r *wire.Reader, k elemKind) (e E, raw []byte) {
	start := r.Offset()
	e, raw = readElem[E](r, k)
	if !r.Failed() && (k == elemOther || k == elemAny) && mayBeUnusable(reflect.TypeFor[E]()) && !usable(e) {
		r.FailAt(start, "element cannot be a key (a slice, a map, NaN or -0)")
		return e, nil
	}
	return e, raw
}

// mayBeUnusable reports whether a value of type t may fail usable: an
// interface, or a type holding floats. For the others usable need not
// look (nor copy the element to the heap to look).
func mayBeUnusable(t reflect.Type) bool { return infoOf(t).keyCheck }

// usable reports whether a decoded element can serve as a map key: an
// interface-typed E may hold a slice or a map, which would panic; a NaN is
// never equal to itself; -0 equals 0 but encodes differently, so a set
// holding both could not re-encode what it decoded.
func usable[E any](e E) bool {
	v := reflect.ValueOf(&e).Elem()
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	return v.Comparable() && oneEncoding(v)
}

// oneEncoding reports whether v, comparable, holds no float Go equates
// with another of a different encoding (NaN, -0), looking into structs and
// arrays.
func oneEncoding(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		return !math.IsNaN(f) && !(f == 0 && math.Signbit(f))
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if !oneEncoding(v.Field(i)) {
				return false
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if !oneEncoding(v.Index(i)) {
				return false
			}
		}
	case reflect.Interface:
		return v.IsNil() || oneEncoding(v.Elem())
	}
	return true
}

// compareEncoded orders two elements by their canonical encodings without
// building them where it can: msgpack writes a string as a length-class
// header then its bytes, so encoded order is by length, then by bytes.
func compareEncoded[E any](k elemKind, a, b E) int {
	if k == elemString {
		sa, sb := asString(&a), asString(&b)
		if c := cmp.Compare(len(sa), len(sb)); c != 0 {
			return c
		}
		return strings.Compare(sa, sb)
	}
	return bytes.Compare(appendElem(nil, k, a), appendElem(nil, k, b))
}

// sortedKeys returns the keys of m for which keep holds (every key if
// keep is nil), in canonical order.
func sortedKeys[K comparable, V any](m map[K]V, keep func(V) bool) []K {
	ks := make([]K, 0, len(m))
	for k, v := range m {
		if keep == nil || keep(v) {
			ks = append(ks, k)
		}
	}
	sortElems(kindOf[K](), ks)
	return ks
}

// sortElems sorts es by their canonical encodings.
func sortElems[E any](k elemKind, es []E) {
	if k == elemString {
		slices.SortFunc(es, func(a, b E) int { return compareEncoded(k, a, b) })
		return
	}
	type keyed struct {
		key []byte
		e   E
	}
	ks := make([]keyed, len(es))
	var buf []byte
	for i, e := range es {
		start := len(buf)
		buf = appendElem(buf, k, e)
		ks[i] = keyed{buf[start:len(buf):len(buf)], e}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return bytes.Compare(a.key, b.key) })
	for i := range ks {
		es[i] = ks[i].e
	}
}
