package natsync

import "sync/atomic"

// Stats are a [Transport]'s counters, all since New.
type Stats struct {
	// Published counts the NATS messages published, PublishedBytes their
	// data; Bundles, Digests and Replies split the count by what they
	// carry: bundles of Sync's messages on the broadcast subject, digests
	// and Receive's replies on a peer's direct subject.
	Published, PublishedBytes uint64
	Bundles, Digests, Replies uint64
	// Received counts the NATS messages taken in (bundles from core NATS
	// or a stream, direct messages), ReceivedBytes their data;
	// StreamReceived those of them read from a stream.
	Received, ReceivedBytes, StreamReceived uint64
	// Reconnects and Disconnects count the connection's reconnections and
	// disconnections since New, as nats.go reported them.
	Reconnects, Disconnects uint64
	// SlowConsumers counts the slow-consumer errors nats.go reported on the
	// Transport's subscriptions, Dropped the messages they dropped: lost
	// here, repaired by retransmission and digests.
	SlowConsumers, Dropped uint64
	// Refused counts the messages the Replica refused (its Lag says why,
	// per peer), Malformed the bundles that could not be read.
	Refused, Malformed uint64
	// PublishErrors, SyncErrors, StreamErrors and AsyncErrors count the
	// publishes that failed, the Sync and SyncDigest calls that failed,
	// the stream and consumer operations that failed (each retried at the
	// next sync), and the other asynchronous errors nats.go reported on
	// the Transport's subscriptions.
	PublishErrors, SyncErrors, StreamErrors, AsyncErrors uint64
}

type counters struct {
	published, publishedBytes                            atomic.Uint64
	bundles, digests, replies                            atomic.Uint64
	received, receivedBytes, streamReceived              atomic.Uint64
	reconnects, disconnects                              atomic.Uint64
	slowConsumers, droppedGone                           atomic.Uint64
	refused, malformed                                   atomic.Uint64
	publishErrors, syncErrors, streamErrors, asyncErrors atomic.Uint64
}

// Stats returns the Transport's counters. Each is read atomically; they
// are not one snapshot.
func (t *Transport) Stats() Stats {
	c := &t.stats
	return Stats{
		Published:      c.published.Load(),
		PublishedBytes: c.publishedBytes.Load(),
		Bundles:        c.bundles.Load(),
		Digests:        c.digests.Load(),
		Replies:        c.replies.Load(),
		Received:       c.received.Load(),
		ReceivedBytes:  c.receivedBytes.Load(),
		StreamReceived: c.streamReceived.Load(),
		Reconnects:     c.reconnects.Load(),
		Disconnects:    c.disconnects.Load(),
		SlowConsumers:  c.slowConsumers.Load(),
		Dropped:        t.dropped(),
		Refused:        c.refused.Load(),
		Malformed:      c.malformed.Load(),
		PublishErrors:  c.publishErrors.Load(),
		SyncErrors:     c.syncErrors.Load(),
		StreamErrors:   c.streamErrors.Load(),
		AsyncErrors:    c.asyncErrors.Load(),
	}
}
