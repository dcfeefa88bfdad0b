package merge

import (
	"errors"
	"fmt"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// ErrMalformed is matched (errors.Is) by the errors of [Replica.Receive] for
// a message that is not a valid encoding: truncated, corrupted (its
// checksum does not match), of the wrong shape, not canonical, or whose
// fields contradict each other (an acknowledgement without an
// incarnation). An acknowledgement of more deltas than the receiver sent
// is not malformed: it is ignored and counted in PeerLag.AcksIgnored. It
// is the same value as crdt.ErrMalformed.
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

// ErrStaleIncarnation is matched (errors.Is) by the error of
// [Replica.Receive] for a message from an incarnation of its sender other
// than the current one, and older than the newest message accepted from
// it: a late or replayed message of an incarnation that has restarted.
// It is harmless: the current incarnation sends what matters again.
var ErrStaleIncarnation = errors.New("merge: message from an earlier incarnation of its sender")

// ErrFutureTimestamp is matched (errors.Is) by the error of
// [Replica.Receive] for a payload carrying a timestamp later than the
// message's own: an honest replica's clock has passed every timestamp it
// holds, so such a timestamp is forged, or stamped by a clock ahead of
// the replica's, and would win every last-writer-wins comparison until
// the clocks catch up.
var ErrFutureTimestamp = errors.New("merge: payload timestamp later than its message")

// ErrUnissued is matched (errors.Is) by a [*ClaimError]: a payload claims
// events of a writer beyond what that writer has issued, as far as the
// receiver can tell (see Claims in the package documentation).
var ErrUnissued = errors.New("merge: payload claims events its writer has not issued")

// A ClaimError reports a payload refused for claiming more events of a
// writer than the receiver knows it issued. It matches [ErrUnissued].
type ClaimError struct {
	// Writer is the writer ID the claim is about.
	Writer vclock.ReplicaID
	// Claimed is the largest event counter the payload claims of Writer;
	// Known the largest the receiver knows Writer issued: by itself, if
	// Writer is the receiver's, else as Writer's replica has shown it.
	Claimed, Known uint64
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("merge: payload claims events of %s up to %d, issued up to %d", e.Writer, e.Claimed, e.Known)
}

// Unwrap returns [ErrUnissued].
func (e *ClaimError) Unwrap() error { return ErrUnissued }

// A MessageError reports why [Replica.Receive] refused a message; the
// replica's state, clock and bookkeeping are as they were. Err says why:
// it matches [ErrMalformed], [ErrUnsupported], [ErrUnknownPeer],
// [ErrMisaddressed], [ErrStaleIncarnation], [ErrFutureTimestamp],
// [ErrUnissued] (a [*ClaimError]), hlc.ErrClockOffset (the sender's clock
// is too far ahead), crdt.ErrInconsistent (the payload contradicts the
// state, see the types' ValidateMerge), or is the payload type's own
// decoding error.
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
