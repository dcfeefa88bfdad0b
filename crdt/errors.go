package crdt

import (
	"errors"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// ErrMalformed is matched (errors.Is) by every decoding error about input
// that is not a valid encoding: truncated, out of bounds, of the wrong shape,
// not canonical, or breaking an invariant of its type. It is the same value
// as vclock.ErrMalformed and hlc.ErrMalformed.
var ErrMalformed = wire.ErrMalformed

// ErrUnsupported is matched (errors.Is) by decoding errors about input
// written in a format version or of a kind this release does not know,
// typically by a newer release.
var ErrUnsupported = wire.ErrUnsupported

// A DecodeError says where in the input a decoder gave up and why. Every
// decoding error wraps one; it matches [ErrMalformed] or [ErrUnsupported].
type DecodeError = wire.Error

// ErrInconsistent is matched (errors.Is) by the errors of the ValidateMerge
// methods: the two states could not both come from correct replicas, for
// instance because one event (dot) carries different data in each.
var ErrInconsistent = errors.New("inconsistent states")

// A ValidationError reports why ValidateMerge refused a pair of states. It
// wraps [ErrInconsistent].
type ValidationError struct {
	Type   string // the CRDT type, e.g. "ORSet"
	Reason string // what is inconsistent
	// Writer and Counter name the event whose data differs, when the
	// inconsistency is one: the dot Writer:Counter of a causal type, or,
	// with Counter 0, a write of Writer in an LWW type. Writer is empty
	// otherwise.
	Writer  vclock.ReplicaID
	Counter uint64
}

func (e *ValidationError) Error() string {
	return "crdt: " + e.Type + ": " + ErrInconsistent.Error() + ": " + e.Reason
}

// Unwrap returns ErrInconsistent.
func (e *ValidationError) Unwrap() error { return ErrInconsistent }
