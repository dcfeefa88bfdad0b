package merge

import (
	"errors"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// ErrMalformed is matched (errors.Is) by the errors of [Replica.Receive] for
// a message that is not a valid encoding: truncated, corrupted (its
// checksum does not match), of the wrong shape, not canonical, or whose
// fields contradict each other or the receiver (an acknowledgement of
// deltas never issued). It is the same value as crdt.ErrMalformed.
var ErrMalformed = wire.ErrMalformed

// ErrUnsupported is matched (errors.Is) by the errors of [Replica.Receive]
// for a message of a format version or kind this release does not know,
// typically written by a newer release. It is the same value as
// crdt.ErrUnsupported.
var ErrUnsupported = wire.ErrUnsupported

// ErrUnknownPeer is matched (errors.Is) by the errors about a replica that
// was not added with [Replica.AddPeer]: [Replica.Sync] to it, or
// [Replica.Receive] of a message from it.
var ErrUnknownPeer = errors.New("merge: unknown peer")

// ErrMisaddressed is matched (errors.Is) by the error of [Replica.Receive]
// for a message addressed to another replica. Its acknowledgements speak
// of that replica's deltas, so it is refused whole.
var ErrMisaddressed = errors.New("merge: message addressed to another replica")

// A MessageError reports why [Replica.Receive] refused a message; the
// replica's state, clock and bookkeeping are as they were. Err says why:
// it matches [ErrMalformed], [ErrUnsupported], [ErrUnknownPeer],
// [ErrMisaddressed], hlc.ErrClockOffset (the sender's clock is too far
// ahead), crdt.ErrInconsistent (the payload contradicts the state, see the
// types' ValidateMerge), or is the payload type's own decoding error.
type MessageError struct {
	// From is the sender the message names, or "" if the message was
	// refused before its sender could be trusted (a bad checksum or
	// envelope).
	From vclock.ReplicaID
	// Err is the reason.
	Err error
}

func (e *MessageError) Error() string {
	if e.From == "" {
		return "merge: message refused: " + e.Err.Error()
	}
	return "merge: message from " + string(e.From) + " refused: " + e.Err.Error()
}

// Unwrap returns Err.
func (e *MessageError) Unwrap() error { return e.Err }
