package main

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/converge-go/converge/crdt"
)

// wireVersion is the first byte of every message. 0 is never valid; a
// message of an unknown version is refused, not guessed at.
const wireVersion = 1

// Tags name the values a message carries. Only append to this list: a
// tag, once used, means that value for good.
const (
	tagCart  byte = 1 // crdt.ORSet[string]
	tagLikes byte = 2 // crdt.PNCounter
)

var errMalformed = errors.New("gossip: malformed message")

// values holds what one message carries. A nil field was absent.
type values struct {
	cart  *crdt.ORSet[string]
	likes *crdt.PNCounter
}

// encodeMessage returns the message carrying the values of v that are
// not nil, in tag order: a delta or two, or the full state.
func encodeMessage(v values) ([]byte, error) {
	b := []byte{wireVersion}
	var err error
	if v.cart != nil {
		if b, err = appendEntry(b, tagCart, v.cart); err != nil {
			return nil, err
		}
	}
	if v.likes != nil {
		if b, err = appendEntry(b, tagLikes, v.likes); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendEntry appends one entry to a message: tag, uvarint length, the
// value's canonical encoding.
func appendEntry(b []byte, tag byte, v encoding.BinaryMarshaler) ([]byte, error) {
	enc, err := v.MarshalBinary()
	if err != nil {
		return b, err
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(enc)))
	return append(b, enc...), nil
}

// decodeMessage decodes a message, a broadcast delta or a pushed state
// alike. It accepts only what encodeMessage writes — tags in ascending
// order, lengths in their shortest form — and checks every length against
// the bytes present before slicing; the crdt decoders check the values,
// within their bounds. Hostile input returns an error and never panics; on
// error decodeMessage returns no values at all. It does not keep b.
func decodeMessage(b []byte) (values, error) {
	if len(b) == 0 {
		return values{}, fmt.Errorf("%w: empty", errMalformed)
	}
	if b[0] != wireVersion {
		return values{}, fmt.Errorf("%w: unknown version %d", errMalformed, b[0])
	}
	var v values
	off, last := 1, byte(0)
	for off < len(b) {
		at, tag := off, b[off]
		if tag <= last {
			return values{}, fmt.Errorf("%w: tag %d after tag %d at byte %d", errMalformed, tag, last, at)
		}
		last = tag
		n, k := binary.Uvarint(b[off+1:])
		if k <= 0 || k != uvarintLen(n) || n > uint64(len(b)-off-1-k) {
			return values{}, fmt.Errorf("%w: bad length for tag %d at byte %d", errMalformed, tag, at)
		}
		val := b[off+1+k : off+1+k+int(n)]
		off += 1 + k + int(n)
		switch tag {
		case tagCart:
			v.cart = new(crdt.ORSet[string])
			if err := v.cart.UnmarshalBinary(val); err != nil {
				return values{}, fmt.Errorf("gossip: cart: %w", err)
			}
		case tagLikes:
			v.likes = new(crdt.PNCounter)
			if err := v.likes.UnmarshalBinary(val); err != nil {
				return values{}, fmt.Errorf("gossip: likes: %w", err)
			}
		default:
			return values{}, fmt.Errorf("%w: unknown tag %d at byte %d", errMalformed, tag, at)
		}
	}
	return v, nil
}

// uvarintLen returns the length of the shortest uvarint encoding of x.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}
