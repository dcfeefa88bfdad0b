package wire

import (
	"encoding/binary"
	"math"
	"strconv"
)

// A Reader decodes msgpack from a byte slice, checking every claimed length
// against the bytes left and against its [Limits]. After the first error
// every method returns that error again, so a decoder may check once at the
// end of a run of reads; Err returns it.
//
// The zero Reader is not usable; make one with [NewReader].
type Reader struct {
	buf   []byte
	off   int
	elems int // elements still allowed
	depth int // nesting levels still allowed
	room  int // bytes of the allowance still unspent (see Presize)
	err   *Error
}

// The allocation allowance of a Reader: RoomPerByte bytes per input byte
// plus RoomSlack. A decoder draws on it, through [Reader.Presize] and
// [Reader.Charge], for the memory whose size the input's bytes do not
// bound by themselves: collections sized ahead of their entries from a
// claimed length, and values whose Go form is larger than their encoding
// (a Go map costs at least 48 bytes, and a msgpack empty map is one byte).
// What a decoder allocates otherwise is a small multiple of the bytes it
// has read; the two together stay under the bound docs/wire-format.md
// promises, 64 bytes per input byte plus 64 KiB.
const (
	RoomPerByte = 40
	RoomSlack   = 32 << 10
)

// NewReader returns a Reader over b bounded by lim; zero fields of lim take
// their values from [DefaultLimits]. An input larger than lim.MaxBytes fails
// at the first read.
func NewReader(b []byte, lim Limits) Reader {
	lim = lim.orDefault()
	r := Reader{buf: b, elems: lim.MaxElements, depth: lim.MaxDepth, room: math.MaxInt}
	if len(b) < (math.MaxInt-RoomSlack)/RoomPerByte {
		r.room = RoomPerByte*len(b) + RoomSlack
	}
	if len(b) > lim.MaxBytes {
		r.failf(0, ErrMalformed, "input of "+itoa(len(b))+" bytes exceeds the limit of "+itoa(lim.MaxBytes))
	}
	return r
}

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int { return r.off }

// Remaining returns the number of bytes left.
func (r *Reader) Remaining() int { return len(r.buf) - r.off }

// Err returns the first error met, or nil. Its concrete type is *Error.
func (r *Reader) Err() error {
	if r.err == nil {
		return nil
	}
	return r.err
}

// Failed reports whether an error has been met.
func (r *Reader) Failed() bool { return r.err != nil }

// Fail records a malformed-input error at the current offset, unless an
// error is already recorded, and returns the recorded error.
func (r *Reader) Fail(reason string) error {
	return r.failf(r.off, ErrMalformed, reason)
}

// FailAt is Fail with an explicit offset, for problems found after the
// offending bytes were read (an out-of-order key, say).
func (r *Reader) FailAt(off int, reason string) error {
	return r.failf(off, ErrMalformed, reason)
}

func (r *Reader) failf(off int, sentinel error, reason string) error {
	if r.err == nil {
		r.err = &Error{Offset: off, Reason: reason, Err: sentinel}
		r.off = len(r.buf) // nothing more is read
	}
	return r.err
}

// End fails unless every byte has been consumed, and returns Err.
func (r *Reader) End() error {
	if r.err == nil && r.off != len(r.buf) {
		r.Fail(itoa(len(r.buf)-r.off) + " trailing bytes")
	}
	return r.Err()
}

// Header reads the header of a top-level value written by [AppendHeader]
// and checks its version, its kind and its field count. A different
// version, or a kind other than want, is [ErrUnsupported] when the tag is
// unknown to this release and [ErrMalformed] otherwise.
func (r *Reader) Header(want Kind, nfields int) error {
	start := r.off
	n := r.HeaderFields(want)
	if r.err == nil && n != nfields {
		r.FailAt(start, want.String()+" has "+itoa(nfields)+" fields, input has "+itoa(n))
	}
	return r.Err()
}

// HeaderFields reads the header of a top-level value of kind want, like
// Header, for kinds whose field count varies, and returns the count.
func (r *Reader) HeaderFields(want Kind) int {
	start := r.off
	n := r.ArrayLen()
	if r.err != nil {
		return 0
	}
	if n < 2 {
		r.FailAt(start, "a value must start with [version, kind]")
		return 0
	}
	k, err := r.version()
	if err != nil {
		return 0
	}
	if k != want {
		if !k.Known() {
			r.failf(start, ErrUnsupported, "unknown kind "+itoa(int(k)))
		} else {
			r.FailAt(start, "got kind "+k.String()+", want "+want.String())
		}
		return 0
	}
	return n - 2
}

// PeekKind reads the version and kind of the top-level value at the current
// offset without consuming it. It fails on an unknown version; the kind it
// returns may be unknown to this release.
func (r *Reader) PeekKind() (Kind, error) {
	save := *r
	n := r.ArrayLen()
	if r.err == nil && n < 2 {
		r.Fail("a value must start with [version, kind]")
	}
	if r.err != nil {
		return 0, r.err
	}
	k, err := r.version()
	if err != nil {
		return 0, err
	}
	*r = save
	return k, nil
}

// version reads a format version and a kind tag.
func (r *Reader) version() (Kind, error) {
	at := r.off
	v := r.Uint()
	if r.err == nil && v == 0 {
		return 0, r.FailAt(at, "format version 0 is never valid")
	}
	if r.err == nil && v != Version {
		return 0, r.failf(at, ErrUnsupported, "format version "+utoa(v)+", this release reads "+itoa(Version))
	}
	at = r.off
	k := r.Uint()
	if r.err != nil {
		return 0, r.err
	}
	if k == 0 {
		return 0, r.FailAt(at, "kind 0 is never valid")
	}
	if k > math.MaxUint8 {
		return 0, r.failf(at, ErrUnsupported, "unknown kind "+utoa(k))
	}
	return Kind(k), nil
}

// Presize returns how many of n entries, each taking size bytes of memory,
// a decoder may make room for before reading them, and takes their size
// from the allowance: n while the allowance lasts, fewer (down to 0)
// after. The decoder grows its collection as further entries arrive, so a
// length the input claims but does not hold costs no more than the
// allowance, however large each entry is.
func (r *Reader) Presize(n, size int) int {
	if n <= 0 {
		return 0
	}
	size = max(size, 1)
	k := min(n, max(r.room, 0)/size)
	r.room -= k * size
	return k
}

// Charge takes size bytes from the allowance for memory a decoder is about
// to allocate, and reports whether the allowance covered it; if not, it
// fails r at offset at. Decoders charge what the input's bytes do not
// bound: the Go form of an element of type any, say.
func (r *Reader) Charge(at, size int) bool {
	if r.err != nil {
		return false
	}
	if size < 0 || size > r.room {
		r.FailAt(at, "decoding would allocate more than "+itoa(RoomPerByte)+" bytes per input byte (plus "+itoa(RoomSlack>>10)+" KiB) for values larger in memory than on the wire")
		return false
	}
	r.room -= size
	return true
}

// Claim takes n entries from the element budget ([Limits].MaxElements)
// for what a decoder builds from a count rather than from entries present
// one by one, such as a run of n list elements written as its length, and
// fails r at offset at past the budget.
func (r *Reader) Claim(at, n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > r.elems {
		r.FailAt(at, "more elements than the limit")
		return false
	}
	r.elems -= n
	return true
}

// Room returns what is left of the allowance, in bytes.
func (r *Reader) Room() int { return r.room }

// Enter accounts for one more level of nesting in a recursive decoder and
// fails beyond Limits.MaxDepth; pair it with Leave.
func (r *Reader) Enter() bool {
	if r.depth <= 0 {
		r.Fail("nesting deeper than the limit")
		return false
	}
	r.depth--
	return true
}

// Leave undoes one Enter.
func (r *Reader) Leave() { r.depth++ }

func (r *Reader) byte1() (byte, bool) {
	if r.off >= len(r.buf) {
		if r.err == nil {
			r.Fail("unexpected end of input")
		}
		return 0, false
	}
	c := r.buf[r.off]
	r.off++
	return c, true
}

// take returns the next n bytes, or fails if fewer are left.
func (r *Reader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.buf)-r.off {
		if r.err == nil {
			r.Fail("unexpected end of input: need " + itoa(n) + " bytes, have " + itoa(len(r.buf)-r.off))
		}
		return nil, false
	}
	p := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return p, true
}

// Since returns the input from offset start to the current offset, without
// copying: the encoding of what was read since start.
func (r *Reader) Since(start int) []byte {
	if start < 0 || start > r.off {
		return nil
	}
	return r.buf[start:r.off:r.off]
}

// Peek returns the next format code without consuming it.
func (r *Reader) Peek() (byte, bool) {
	if r.off >= len(r.buf) {
		if r.err == nil {
			r.Fail("unexpected end of input")
		}
		return 0, false
	}
	return r.buf[r.off], true
}

// IsNil consumes a nil and reports true if the next value is nil.
func (r *Reader) IsNil() bool {
	if r.off < len(r.buf) && r.buf[r.off] == codeNil {
		r.off++
		return true
	}
	return false
}

// claim checks a container length against the element budget and the bytes
// left (each element takes at least minBytes).
func (r *Reader) claim(at, n, minBytes int) int {
	if n > (len(r.buf)-r.off)/minBytes {
		r.FailAt(at, "length "+itoa(n)+" exceeds the "+itoa(len(r.buf)-r.off)+" bytes left")
		return 0
	}
	if n > r.elems {
		r.FailAt(at, "more elements than the limit")
		return 0
	}
	r.elems -= n
	return n
}

// ArrayLen reads an array header and returns its length, which is at most
// the number of bytes left. It returns 0 after an error.
func (r *Reader) ArrayLen() int {
	at := r.off
	n, ok := r.length(arrayForms, "an array")
	if !ok {
		return 0
	}
	return r.claim(at, n, 1)
}

// ExpectArray reads an array header and fails unless its length is n.
func (r *Reader) ExpectArray(n int) bool {
	at := r.off
	got := r.ArrayLen()
	if r.err != nil {
		return false
	}
	if got != n {
		r.FailAt(at, "want an array of "+itoa(n)+", got "+itoa(got))
		return false
	}
	return true
}

// MapLen reads a map header and returns its number of pairs.
func (r *Reader) MapLen() int {
	at := r.off
	n, ok := r.length(mapForms, "a map")
	if !ok {
		return 0
	}
	return r.claim(at, n, 2)
}

// The header forms of the sized msgpack types: a fix form holding the
// length in the low bits of the first byte (fixMask 0: none), and codes
// with the length in 1, 2 or 4 more bytes (0: none).
type forms struct {
	fixBase, fixMask byte
	c8, c16, c32     byte
}

var (
	arrayForms = forms{0x90, 0x0f, 0, codeArray16, codeArray32}
	mapForms   = forms{0x80, 0x0f, 0, codeMap16, codeMap32}
	strForms   = forms{0xa0, 0x1f, codeStr8, codeStr16, codeStr32}
	binForms   = forms{0, 0, codeBin8, codeBin16, codeBin32}
)

// length reads a header of one of the forms f and returns the length it
// holds, refusing a longer form than the length needs.
func (r *Reader) length(f forms, what string) (int, bool) {
	at := r.off
	c, ok := r.byte1()
	if !ok {
		return 0, false
	}
	if f.fixMask != 0 && c&^f.fixMask == f.fixBase {
		return int(c & f.fixMask), true
	}
	var w int
	var min uint64 // the smallest length that needs this form
	switch {
	case f.c8 != 0 && c == f.c8:
		w, min = 1, uint64(f.fixMask)+1
	case c == f.c16:
		w, min = 2, uint64(f.fixMask)+1
		if f.c8 != 0 {
			min = math.MaxUint8 + 1
		}
	case c == f.c32:
		w, min = 4, math.MaxUint16+1
	default:
		r.FailAt(at, "want "+what+", got "+codeName(c))
		return 0, false
	}
	p, ok := r.take(w)
	if !ok {
		return 0, false
	}
	var n uint64
	for _, x := range p {
		n = n<<8 | uint64(x)
	}
	if n < min && !(f.fixMask == 0 && w == 1) {
		r.notShortest(at)
		return 0, false
	}
	return int(n), true
}

// Uint reads a non-negative integer. Like every Reader method it accepts
// only the shortest form, the one the Append functions write: input is
// canonical or rejected.
func (r *Reader) Uint() uint64 {
	at := r.off
	c, ok := r.byte1()
	if !ok {
		return 0
	}
	if c < 0x80 {
		return uint64(c)
	}
	var v, min uint64
	switch c {
	case codeUint8:
		p, ok := r.take(1)
		if !ok {
			return 0
		}
		v, min = uint64(p[0]), 0x80
	case codeUint16:
		p, ok := r.take(2)
		if !ok {
			return 0
		}
		v, min = uint64(binary.BigEndian.Uint16(p)), math.MaxUint8+1
	case codeUint32:
		p, ok := r.take(4)
		if !ok {
			return 0
		}
		v, min = uint64(binary.BigEndian.Uint32(p)), math.MaxUint16+1
	case codeUint64:
		p, ok := r.take(8)
		if !ok {
			return 0
		}
		v, min = binary.BigEndian.Uint64(p), math.MaxUint32+1
	default:
		if c >= 0xe0 || (c >= codeInt8 && c <= codeInt64) {
			r.FailAt(at, "want an unsigned integer in its shortest form, got a signed one")
			return 0
		}
		r.FailAt(at, "want an unsigned integer, got "+codeName(c))
		return 0
	}
	if v < min {
		r.notShortest(at)
		return 0
	}
	return v
}

func (r *Reader) notShortest(at int) int {
	r.FailAt(at, "value not in its shortest form (input must be canonical)")
	return 0
}

// Uint32 reads an integer and fails unless it fits in 32 bits.
func (r *Reader) Uint32() uint32 {
	at := r.off
	v := r.Uint()
	if v > math.MaxUint32 {
		r.FailAt(at, "integer "+utoa(v)+" does not fit in 32 bits")
		return 0
	}
	return uint32(v)
}

// Int reads a signed integer in its shortest form: a non-negative value as
// Uint reads it, a negative one in the smallest signed form.
func (r *Reader) Int() int64 {
	at := r.off
	c, ok := r.byte1()
	if !ok {
		return 0
	}
	switch {
	case c < 0x80:
		return int64(c)
	case c >= 0xe0:
		return int64(int8(c))
	case c >= codeInt8 && c <= codeInt64:
		return r.signed(at, c)
	case c >= codeUint8 && c <= codeUint64:
		r.off = at
		u := r.Uint()
		if r.err == nil && u > math.MaxInt64 {
			r.FailAt(at, "integer "+utoa(u)+" overflows int64")
			return 0
		}
		return int64(u)
	}
	r.FailAt(at, "want an integer, got "+codeName(c))
	return 0
}

// signedFloor holds, for int 8, 16, 32 and 64, the least value the next
// shorter form cannot hold: from there up a value is not in its shortest
// form (from -32 up, int 8 loses to a fixint or an unsigned form).
var signedFloor = [4]int64{-32, math.MinInt8, math.MinInt16, math.MinInt32}

// signed reads the payload of an int 8, 16, 32 or 64 (format code c, at
// at) and checks that it is in its shortest form.
func (r *Reader) signed(at int, c byte) int64 {
	p, ok := r.take(1 << (c - codeInt8))
	if !ok {
		return 0
	}
	var v int64
	switch len(p) {
	case 1:
		v = int64(int8(p[0]))
	case 2:
		v = int64(int16(binary.BigEndian.Uint16(p)))
	case 4:
		v = int64(int32(binary.BigEndian.Uint32(p)))
	default:
		v = int64(binary.BigEndian.Uint64(p))
	}
	if v >= signedFloor[c-codeInt8] {
		return int64(r.notShortest(at))
	}
	return v
}

// Bool reads a boolean.
func (r *Reader) Bool() bool {
	at := r.off
	c, ok := r.byte1()
	if !ok {
		return false
	}
	switch c {
	case codeTrue:
		return true
	case codeFalse:
		return false
	}
	r.FailAt(at, "want a boolean, got "+codeName(c))
	return false
}

// StrBytes reads a str and returns its bytes without copying; they alias
// the input and must not be modified.
func (r *Reader) StrBytes() []byte {
	n, ok := r.length(strForms, "a string")
	if !ok {
		return nil
	}
	p, _ := r.take(n)
	return p
}

// Str reads a str. It allocates only after the bytes are known present.
func (r *Reader) Str() string {
	p := r.StrBytes()
	if len(p) == 0 {
		return ""
	}
	return string(p)
}

// Bytes reads a bin and returns its bytes without copying.
func (r *Reader) Bytes() []byte {
	n, ok := r.length(binForms, "binary data")
	if !ok {
		return nil
	}
	p, _ := r.take(n)
	return p
}

// Raw skips one complete msgpack value of any type and returns its bytes
// without copying. Nested containers count against the depth and element
// limits, so a hostile value cannot make it recurse or loop without bound.
func (r *Reader) Raw() []byte {
	start := r.off
	r.skip()
	if r.err != nil {
		return nil
	}
	return r.buf[start:r.off:r.off]
}

func (r *Reader) skip() {
	at := r.off
	c, ok := r.Peek()
	if !ok {
		return
	}
	switch {
	case c < 0x80 || c >= 0xe0, c == codeNil, c == codeTrue, c == codeFalse:
		r.off++
	case c&0xe0 == 0xa0, c == codeStr8, c == codeStr16, c == codeStr32:
		r.StrBytes()
	case c == codeBin8, c == codeBin16, c == codeBin32:
		r.Bytes()
	case c >= codeUint8 && c <= codeUint64:
		r.Uint()
	case c >= codeInt8 && c <= codeInt64:
		r.Int()
	case c == codeFloat32 || c == codeFloat64:
		r.off++
		r.take(4 << (c - codeFloat32)) // 4 or 8 bytes
	case c >= codeFixExt1 && c <= codeFixExt16 || c >= codeExt8 && c <= codeExt32:
		r.skipExt(c)
	case c&0xf0 == 0x90, c == codeArray16, c == codeArray32:
		r.skipItems(r.ArrayLen())
	case c&0xf0 == 0x80, c == codeMap16, c == codeMap32:
		r.skipItems(2 * r.MapLen())
	default: // 0xc1 is never used
		r.FailAt(at, "invalid format code "+codeName(c))
	}
}

// skipExt skips an extension whose format code is c.
func (r *Reader) skipExt(c byte) {
	r.off++
	if c >= codeFixExt1 && c <= codeFixExt16 {
		r.take(1 + 1<<(c-codeFixExt1)) // type byte + 1, 2, 4, 8 or 16 data bytes
		return
	}
	w := 1 << (c - codeExt8) // length field of 1, 2 or 4 bytes
	p, ok := r.take(w)
	if !ok {
		return
	}
	n := 0
	for _, x := range p {
		n = n<<8 | int(x)
	}
	r.take(1 + n)
}

// skipItems skips the n values of an array or map whose header was just
// read.
func (r *Reader) skipItems(n int) {
	if r.err != nil || !r.Enter() {
		return
	}
	for i := 0; i < n && r.err == nil; i++ {
		r.skip()
	}
	r.Leave()
}

func codeName(c byte) string {
	switch {
	case c < 0x80, c >= 0xe0, c >= codeUint8 && c <= codeInt64:
		return "an integer"
	case c&0xf0 == 0x80, c == codeMap16, c == codeMap32:
		return "a map"
	case c&0xf0 == 0x90, c == codeArray16, c == codeArray32:
		return "an array"
	case c&0xe0 == 0xa0, c == codeStr8, c == codeStr16, c == codeStr32:
		return "a string"
	case c == codeNil:
		return "nil"
	case c == codeTrue, c == codeFalse:
		return "a boolean"
	case c >= codeBin8 && c <= codeBin32:
		return "binary data"
	case c == codeFloat32, c == codeFloat64:
		return "a float"
	case c == 0xc1:
		return "the reserved code 0xc1"
	}
	return "an extension"
}

func itoa(n int) string    { return strconv.Itoa(n) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }
