package merge

import (
	"slices"
	"strings"
	"time"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// A PeerLag is what a [Replica] knows of how far one peer lags behind it,
// and of the traffic between them: the figures an operator graphs and
// alerts on. Sequence numbers count this replica's deltas from 0, afresh
// for each incarnation (each [New]).
type PeerLag struct {
	Peer vclock.ReplicaID

	// Acked is the peer's last acknowledgement: it has this replica's
	// deltas numbered below Acked.
	Acked uint64
	// Unacked is the number of this replica's deltas the peer has not
	// acknowledged.
	Unacked uint64
	// OldestUnacked is the age, by this replica's hybrid logical clock, of
	// the oldest delta the peer has not acknowledged; 0 if there is none.
	// It is the figure to alert on: it grows with a partition, a dead
	// peer or a broken transport, whatever the write rate.
	OldestUnacked time.Duration
	// NeedsFullState reports that the buffer no longer holds a delta the
	// peer needs: the next Sync sends it the full state.
	NeedsFullState bool

	// Traffic with the peer: messages and bytes sent to it (by Sync,
	// SyncDigest and Receive's replies) and accepted from it.
	MessagesSent, MessagesReceived uint64
	BytesSent, BytesReceived       uint64
	// FullStatesSent counts the full states sent: fallbacks after the
	// buffer overflowed and answers to digests. A rising count means the
	// buffer is too small for the partitions the peer goes through.
	FullStatesSent     uint64
	FullStatesReceived uint64

	// Rejected counts messages naming the peer as sender that Receive
	// refused; ClockRejected those of them refused because the peer's
	// clock was beyond the max offset ahead, StaleRefused those from an
	// earlier incarnation of the peer, ClaimsRefused those whose payload
	// claimed events or timestamps no writer issued as far as this
	// replica knows (a peer relaying events their writer has not shown
	// yet, a lying or corrupt peer) or retired a live writer, and
	// RetiredRefused those from a retired writer ([ErrRetired]).
	Rejected, ClockRejected, StaleRefused, ClaimsRefused, RetiredRefused uint64
	// AcksIgnored counts acknowledgements from the peer of more deltas
	// than were sent to it, which a forged or corrupted message made it
	// count: each is ignored, and the full state sent to reset the count.
	AcksIgnored uint64
	// Repairs counts the repairs Sync sent the peer: full states after it
	// acknowledged deltas never sent, digests after refusals in a row or
	// to confirm what other peers claim of it. StatesDeferred counts
	// digests from the peer answered with nothing: a state had gone to it
	// less than a retransmission timeout before, or deltas to it were in
	// flight (once; a digest asked again before they are acknowledged is
	// answered).
	Repairs, StatesDeferred uint64
	// Partial counts the peer's messages merged without some of what they
	// relayed of another peer's writer, which that peer had not shown this
	// replica yet (see Receive); they are not acknowledged, so the peer
	// sends them again. A count that keeps rising for long means a writer
	// this peer hears and this replica does not: a partition between them,
	// or a liar.
	Partial uint64
	// Overruled counts the events of the peer's own writers that this
	// replica held with other data than a payload of the peer's, and
	// dropped, deferring to their source; a digest exchange with the peer
	// brings back what the drop took with them. Nonzero means a liar
	// somewhere, or a bug: the event was forged, or relayed altered.
	Overruled uint64
	// LastReceived is the peer's clock reading in the last message
	// accepted from it, zero if none.
	LastReceived hlc.Timestamp
	// Agreed is when, by this replica's clock, a digest exchange with the
	// peer last found the two states equal; zero if none has.
	Agreed hlc.Timestamp
}

// Stats are a [Replica]'s own counters.
type Stats struct {
	// Deltas is the number of deltas Update has issued.
	Deltas uint64
	// Buffered and BufferedBytes are the number and encoded size of the
	// deltas kept for peers that have not acknowledged them.
	Buffered, BufferedBytes int
	// Overflowed counts deltas dropped from a full buffer before every
	// peer had acknowledged them; each such peer gets a full state.
	Overflowed uint64
	// Rejected counts the messages Receive refused, for any reason;
	// ClockRejected those refused for a sender's clock beyond the max
	// offset ahead (the clock's own hlc.Stats count them too).
	Rejected, ClockRejected uint64
	// Renewals counts the new incarnations the replica started because a
	// peer claimed events of its writer that it never issued (see Claims
	// in the package documentation): each costs a full state to every
	// peer. A nonzero count means a peer lies or forwards what a liar
	// sent.
	Renewals uint64
	// Clock holds the counters of the replica's clock (hlc.Clock.Stats):
	// remote readings it refused, the largest remote offset seen, logical
	// overflows, and the jumps of the system's wall clock against its
	// monotonic clock, forward and backward, beyond the max offset.
	Clock hlc.Stats
}

// Lag returns the lag figures of every peer, in ascending ID order. It
// reads the clock once (a local event, which advances it) to age the
// oldest unacknowledged deltas, and costs O(peers).
func (r *Replica[T]) Lag() []PeerLag {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	out := make([]PeerLag, 0, len(r.peers))
	for _, p := range r.peers {
		l := p.lag
		l.Acked = p.acked
		wanted := r.wanted(p)
		l.Unacked = wanted - min(p.acked, wanted)
		l.NeedsFullState = p.acked < r.hole && p.acked < wanted
		var oldest hlc.Timestamp
		switch {
		case p.acked >= wanted:
		case p.acked < r.hole:
			oldest = p.behind
		case p.acked < r.base: // lacks dropped marks, then the buffer
			if r.buf.len() > 0 {
				oldest = r.buf.live()[0].at
			}
		default:
			oldest = r.buf.live()[p.acked-r.base].at
		}
		if oldest != 0 {
			l.OldestUnacked = elapsed(oldest, now)
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b PeerLag) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	return out
}

// Stats returns the replica's counters.
func (r *Replica[T]) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Deltas = r.next - r.marks
	s.Buffered = r.buf.len()
	s.BufferedBytes = r.bufSize
	s.Clock = r.clock.Stats()
	return s
}
