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

// unmarshal decodes b with read into a new value and stores it in dst only
// if the whole input is valid, so a failed decode leaves dst unchanged.
func unmarshal[T any](dst *T, b []byte, lim wire.Limits, typ string, read func(*T, *wire.Reader)) error {
	var v T
	r := wire.NewReader(b, lim)
	read(&v, &r)
	if err := r.End(); err != nil {
		return decodeErr(typ, err)
	}
	*dst = v
	return nil
}
