package wire

import (
	"errors"
	"strconv"
)

// ErrMalformed is matched (errors.Is) by every error about input that is not
// a valid encoding: truncated, out of bounds, of the wrong shape, or breaking
// an invariant of its type.
var ErrMalformed = errors.New("malformed input")

// ErrUnsupported is matched (errors.Is) by errors about well-formed input
// that this release cannot read: an unknown format version or kind tag,
// typically written by a newer release.
var ErrUnsupported = errors.New("unsupported format version or kind")

// An Error reports where in the input a decoder gave up and why. It wraps
// [ErrMalformed] or [ErrUnsupported].
type Error struct {
	Offset int    // byte offset of the problem in the input
	Reason string // what was wrong, for people
	Err    error  // ErrMalformed or ErrUnsupported
}

func (e *Error) Error() string {
	return e.Err.Error() + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Unwrap returns ErrMalformed or ErrUnsupported.
func (e *Error) Unwrap() error { return e.Err }

// Limits bound what a decoder accepts, whatever the input claims.
type Limits struct {
	// MaxBytes is the largest input accepted.
	MaxBytes int
	// MaxElements bounds the sum of all array and map lengths in one input,
	// and so the number of entries a decoder may allocate.
	MaxElements int
	// MaxDepth bounds the nesting of arrays and maps.
	MaxDepth int
}

// DefaultLimits are the limits used when none are given: 64 MiB, 4Mi
// elements, depth 32. They admit a set of a million elements and nested maps
// many levels deep, and bound the memory a hostile input can make a decoder
// allocate to a few hundred megabytes at worst.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxElements: 4 << 20, MaxDepth: 32}

// orDefault returns l with every non-positive field replaced by its default.
func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}
