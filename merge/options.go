package merge

import (
	"io"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
)

// Defaults of a [Replica] made without the corresponding option.
const (
	// DefaultMaxDeltas bounds the deltas a Replica keeps for its peers.
	DefaultMaxDeltas = 4096
	// DefaultMaxBufferBytes bounds the encoded size of those deltas.
	DefaultMaxBufferBytes = 1 << 20
	// DefaultRetransmitTimeout is how long a Replica waits for an
	// acknowledgement before it sends unacknowledged deltas again.
	DefaultRetransmitTimeout = time.Second
)

// An Option configures a [Replica] made by [New]. Options apply in order;
// of two options of the same kind the last wins. The zero Option does
// nothing.
type Option struct{ apply func(*config) }

type config struct {
	clock     *hlc.Clock
	maxDeltas int
	maxBytes  int
	rto       time.Duration
	decode    crdt.DecodeOptions
	random    io.Reader
}

func newConfig(opts []Option) config {
	c := config{
		maxDeltas: DefaultMaxDeltas,
		maxBytes:  DefaultMaxBufferBytes,
		rto:       DefaultRetransmitTimeout,
		decode:    crdt.DefaultDecodeOptions(),
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&c)
		}
	}
	if c.clock == nil {
		c.clock = hlc.New()
	}
	return c
}

// WithClock makes the Replica stamp its deltas and messages with clock and
// take in its peers' timestamps with clock.Update, which rejects a message
// from a peer whose clock is beyond the max offset ahead. The clock may be
// shared with the rest of the process, and should be: one clock per node
// keeps every timestamp the node issues causally ordered. A simulator
// passes a clock made with hlc.WithPhysicalClock. Without this option the
// Replica makes its own hlc.New().
func WithClock(clock *hlc.Clock) Option {
	return Option{func(c *config) { c.clock = clock }}
}

// WithMaxDeltas bounds the number of deltas kept for peers that have not
// acknowledged them (default [DefaultMaxDeltas]). When the buffer is full,
// the oldest delta is dropped and a peer that still needed it gets the
// full state instead. n <= 0 keeps no delta: every send is a full state,
// which is plain state-based anti-entropy.
func WithMaxDeltas(n int) Option {
	return Option{func(c *config) { c.maxDeltas = max(n, 0) }}
}

// WithMaxBufferBytes bounds the encoded size of the deltas kept for peers
// (default [DefaultMaxBufferBytes]), as [WithMaxDeltas] bounds their
// number; the first bound reached drops the oldest delta. n <= 0 keeps no
// delta.
func WithMaxBufferBytes(n int) Option {
	return Option{func(c *config) { c.maxBytes = max(n, 0) }}
}

// WithRetransmitTimeout sets how long, by the Replica's clock, [Replica.Sync]
// waits for a peer to acknowledge what it sent before sending every
// unacknowledged delta again (default [DefaultRetransmitTimeout]); until
// then it sends only deltas the peer has not been sent. Every
// acknowledgement that makes progress restarts the wait. Each
// retransmission that goes unanswered doubles the wait, up to 8 times d,
// so that a partitioned peer is not sent the full state every d; the wait
// returns to d when a message from the peer arrives. Set d above the
// round trip to the farthest peer. d <= 0 resends every unacknowledged
// delta on every Sync, as the paper's algorithm does: simplest, and
// wasteful when Sync runs more often than a round trip.
func WithRetransmitTimeout(d time.Duration) Option {
	return Option{func(c *config) { c.rto = max(d, 0) }}
}

// WithDecodeOptions bounds what [Replica.Receive] accepts: a message larger
// than o.MaxBytes is refused before it is parsed, and a payload of a crdt
// type is decoded within o's bounds. Payloads of other types are decoded
// by their UnmarshalBinary, within the message's size. The default is
// crdt.DefaultDecodeOptions() (64 MiB).
func WithDecodeOptions(o crdt.DecodeOptions) Option {
	return Option{func(c *config) { c.decode = o }}
}

// WithRandom makes the Replica draw its incarnation numbers, and so its
// writer IDs ([Replica.Writer]), from r instead of crypto/rand. A
// simulation passes a seeded source, so that a run is reproducible; in
// production, leave crypto/rand: two incarnations drawing the same number
// would write under the same writer ID.
func WithRandom(r io.Reader) Option {
	return Option{func(c *config) { c.random = r }}
}
