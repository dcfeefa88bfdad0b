package wire

import (
	"github.com/vmihailenco/msgpack/v5"
)

// EncodeTo writes b, one complete msgpack value, to enc. The public types'
// EncodeMsgpack hooks use it so that a converge value embedded in a caller's
// msgpack document has the same bytes as its MarshalBinary.
func EncodeTo(enc *msgpack.Encoder, b []byte) error {
	_, err := enc.Writer().Write(b)
	return err
}

// DecodeFrom reads the next complete msgpack value from dec and returns its
// bytes, for the public types' DecodeMsgpack hooks to parse with a [Reader].
//
// msgpack.Decoder cannot tell how many bytes are left, so a hostile length
// claim here may make it allocate up to 1 MiB before it finds the input
// short; UnmarshalBinary on a byte slice has no such allowance.
func DecodeFrom(dec *msgpack.Decoder) ([]byte, error) {
	raw, err := dec.DecodeRaw()
	if err != nil {
		return nil, &Error{Reason: err.Error(), Err: ErrMalformed}
	}
	return raw, nil
}
