// Package wire holds the pieces of converge's wire format that every public
// package shares: the format version, the kind tags, a bounded msgpack reader
// and append-style msgpack writers, and the decoding error types.
//
// # Why not msgpack.Decoder on the hot path
//
// github.com/vmihailenco/msgpack/v5 preallocates from a claimed length (a
// 5-byte input claiming 2^24 uint64s makes Unmarshal allocate 268 MB) and
// its Decoder cannot tell how many bytes are left. [Reader] works on a byte
// slice, so every claimed length is checked against the bytes that are
// actually present and against [Limits] before anything is allocated:
// whatever is allocated is bounded by a small constant times the input size.
// The writers append to a caller's slice, which costs no allocation once the
// slice has grown and is several times faster than msgpack.Encoder.
//
// Both produce and accept standard msgpack, so any msgpack library can read
// converge's bytes; the public packages still implement msgpack's
// CustomEncoder and CustomDecoder hooks on top of these functions.
//
// # Shape of a value
//
// Every top-level value is a msgpack array [version, kind, fields...]. The
// version is [Version]; the kind is one of the [Kind] constants, which are
// append-only. An unknown version or kind is an [ErrUnsupported] error.
// Values nested inside another value (a clock inside a causal context, a
// context inside a set) are written as their fields only, without the
// header: the enclosing kind fixes their type.
package wire
