package crdt

import (
	"encoding"
	"fmt"

	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// decodeErr wraps a decoding error with the package and type.
func decodeErr(typ string, err error) error {
	return fmt.Errorf("crdt: decoding %s: %w", typ, err)
}

// encodeTo is the body of every EncodeMsgpack hook.
func encodeTo(enc *msgpack.Encoder, v encoding.BinaryAppender) error {
	b, err := v.AppendBinary(nil)
	if err != nil {
		return err
	}
	return wire.EncodeTo(enc, b)
}

// decodeFrom is the body of every DecodeMsgpack hook.
func decodeFrom(dec *msgpack.Decoder, v interface{ UnmarshalBinary([]byte) error }, typ string) error {
	raw, err := wire.DecodeFrom(dec)
	if err != nil {
		return decodeErr(typ, err)
	}
	return v.UnmarshalBinary(raw)
}

// keep stores v, read by r, in dst only if r read its whole input and
// found it valid, so a failed decode leaves dst unchanged. Each type's
// unmarshal reads into a new value on its stack and calls keep: called
// directly, a reader and a value cost no allocation (passed to a
// function value, both would escape).
func keep[T any](dst *T, v T, r *wire.Reader, typ string) error {
	if err := r.End(); err != nil {
		return decodeErr(typ, err)
	}
	*dst = v
	return nil
}
