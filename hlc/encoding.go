package hlc

import (
	"encoding"
	"fmt"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// ErrMalformed is matched (errors.Is) by the errors of
// [Timestamp.UnmarshalBinary] and [Timestamp.DecodeMsgpack] for input that
// is not a valid encoding.
var ErrMalformed = wire.ErrMalformed

// ErrUnsupported is matched (errors.Is) by the errors of
// [Timestamp.UnmarshalBinary] and [Timestamp.DecodeMsgpack] for a well-formed
// value this release cannot read: an unknown format version or kind,
// typically written by a newer release.
var ErrUnsupported = wire.ErrUnsupported

// Compile-time checks.
var (
	_ msgpack.CustomEncoder      = Timestamp(0)
	_ msgpack.CustomDecoder      = (*Timestamp)(nil)
	_ encoding.BinaryMarshaler   = Timestamp(0)
	_ encoding.BinaryUnmarshaler = (*Timestamp)(nil)
	_ encoding.TextMarshaler     = Timestamp(0)
	_ encoding.TextUnmarshaler   = (*Timestamp)(nil)
	_ fmt.Stringer               = Timestamp(0)
)

// maxBinaryLen is the longest encoding: a 3-byte header and a uint64.
const maxBinaryLen = 3 + 9

// AppendBinary appends the binary encoding of t (see
// [Timestamp.MarshalBinary]) to b and returns the extended slice; it never
// fails. It has the shape of encoding.BinaryAppender and does not allocate
// when b has room for 12 more bytes.
func (t Timestamp) AppendBinary(b []byte) ([]byte, error) {
	return t.appendBinary(b), nil
}

func (t Timestamp) appendBinary(b []byte) []byte {
	b = wire.AppendHeader(b, wire.KindTimestamp, 1)
	return wire.AppendUint(b, uint64(t))
}

// MarshalBinary returns the wire encoding of t: the msgpack array
// [1, 1, t] (format version 1, kind Timestamp, then t as an unsigned
// integer in its shortest form), 4 to 12 bytes. It never fails.
func (t Timestamp) MarshalBinary() ([]byte, error) {
	return t.appendBinary(make([]byte, 0, maxBinaryLen)), nil
}

// UnmarshalBinary sets *t from its wire encoding (see
// [Timestamp.MarshalBinary]). It accepts only the canonical bytes, the ones
// MarshalBinary writes (every length and integer in its shortest msgpack
// form), as every decoder of this module does: a Timestamp has one
// encoding, so digests of encoded values can be compared. Data that is not
// exactly one canonical Timestamp value returns an error matching
// [ErrMalformed], or [ErrUnsupported] for an unknown version or kind; *t is
// then unchanged. UnmarshalBinary does not allocate unless it fails.
func (t *Timestamp) UnmarshalBinary(data []byte) error {
	r := wire.NewReader(data, wire.Limits{})
	r.Header(wire.KindTimestamp, 1)
	v := r.Uint()
	if err := r.End(); err != nil {
		return fmt.Errorf("hlc: %w", err)
	}
	*t = Timestamp(v)
	return nil
}

// EncodeMsgpack writes t to enc with the same bytes as
// [Timestamp.MarshalBinary], so a Timestamp inside a caller's msgpack
// document reads like a top-level one.
func (t Timestamp) EncodeMsgpack(enc *msgpack.Encoder) error {
	var buf [maxBinaryLen]byte
	return wire.EncodeTo(enc, t.appendBinary(buf[:0]))
}

// DecodeMsgpack reads one msgpack value from dec and decodes it as by
// [Timestamp.UnmarshalBinary]. Bytes after that value are left in dec.
func (t *Timestamp) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := wire.DecodeFrom(dec)
	if err != nil {
		return fmt.Errorf("hlc: %w", err)
	}
	return t.UnmarshalBinary(raw)
}
