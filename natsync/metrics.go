package natsync

import (
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/prometheus/client_golang/prometheus"
)

// A metric is one exported metric: the list in the package
// documentation, the README's table and alerts.yml are checked against
// metrics (metrics_test.go).
type metric struct {
	name   string
	typ    prometheus.ValueType
	labels []string // beyond set and replica
	help   string
}

const (
	counter = prometheus.CounterValue
	gauge   = prometheus.GaugeValue
)

// Metric scopes: what each collector exports.
var (
	peerMetrics = []metric{
		{"converge_peer_unacked_deltas", gauge, []string{"peer"}, "Deltas of the replica the peer has not acknowledged."},
		{"converge_peer_oldest_unacked_seconds", gauge, []string{"peer"}, "Age, by the replica's hybrid logical clock, of the oldest delta the peer has not acknowledged; 0 if none. The figure to alert on."},
		{"converge_peer_needs_full_state", gauge, []string{"peer"}, "1 if the buffer no longer holds a delta the peer needs, so that its next sync is a full state."},
		{"converge_peer_messages_sent_total", counter, []string{"peer"}, "Messages sent to the peer."},
		{"converge_peer_messages_received_total", counter, []string{"peer"}, "Messages accepted from the peer."},
		{"converge_peer_bytes_sent_total", counter, []string{"peer"}, "Bytes of the messages sent to the peer."},
		{"converge_peer_bytes_received_total", counter, []string{"peer"}, "Bytes of the messages accepted from the peer."},
		{"converge_peer_full_states_sent_total", counter, []string{"peer"}, "Full states sent to the peer: buffer fallbacks and digest answers."},
		{"converge_peer_full_states_received_total", counter, []string{"peer"}, "Full states accepted from the peer."},
		{"converge_peer_refused_total", counter, []string{"peer", "reason"}, "Messages from the peer the replica refused, by reason: clock, stale, claims, retired, other."},
		{"converge_peer_acks_ignored_total", counter, []string{"peer"}, "Acknowledgements from the peer of more deltas than were sent to it."},
		{"converge_peer_repairs_total", counter, []string{"peer"}, "Repairs sent to the peer: full states and digests after refusals or doubtful claims."},
		{"converge_peer_states_deferred_total", counter, []string{"peer"}, "Digests from the peer answered with nothing, a state having gone out recently or deltas being in flight."},
		{"converge_peer_partial_total", counter, []string{"peer"}, "Messages from the peer merged without events it relayed of a writer not yet heard from."},
		{"converge_peer_overruled_total", counter, []string{"peer"}, "Events of the peer's writers held with other data and dropped, deferring to the peer."},
		{"converge_peer_last_received_timestamp_seconds", gauge, []string{"peer"}, "The peer's clock, in Unix seconds, in the last message accepted from it; 0 if none."},
		{"converge_peer_agreed_timestamp_seconds", gauge, []string{"peer"}, "When, in Unix seconds by the replica's clock, a digest exchange last found the peer's state equal; 0 if never."},
	}
	replicaMetrics = []metric{
		{"converge_replica_deltas_total", counter, nil, "Deltas the replica's updates issued."},
		{"converge_replica_buffered_deltas", gauge, nil, "Deltas kept for peers that have not acknowledged them."},
		{"converge_replica_buffered_bytes", gauge, nil, "Encoded size of the deltas kept."},
		{"converge_replica_overflowed_total", counter, nil, "Deltas dropped from a full buffer before every peer acknowledged them."},
		{"converge_replica_refused_total", counter, nil, "Messages the replica refused, for any reason."},
		{"converge_replica_renewals_total", counter, nil, "New incarnations started because a peer claimed events never issued."},
		{"converge_clock_rejected_total", counter, nil, "Remote timestamps the replica's hybrid logical clock refused (beyond the max offset)."},
		{"converge_clock_max_remote_offset_seconds", gauge, nil, "Largest distance a remote timestamp was ahead of the local physical clock."},
		{"converge_clock_logical_overflows_total", counter, nil, "Timestamps whose logical part carried into the physical part."},
		{"converge_clock_jumps_total", counter, []string{"direction"}, "Jumps of the wall clock against the monotonic clock beyond the max offset, forward or backward."},
	}
	keyspaceMetrics = []metric{
		{"converge_keyspace_keys", gauge, nil, "Keys of the keyspace holding a state other than the empty one."},
		{"converge_keyspace_catch_ups_total", counter, nil, "Catch-ups started: a peer behind the buffer sent the states of the keys written since its acknowledgement."},
		{"converge_keyspace_tree_passes_total", counter, nil, "Tree comparisons started with a peer (restarts, refusals in a row, SyncDigest)."},
		{"converge_keyspace_states_sent_total", counter, nil, "Key states sent by catch-ups and tree passes and in answer to them."},
		{"converge_keyspace_nodes_sent_total", counter, nil, "Tree node hashes sent."},
	}
	transportMetrics = []metric{
		{"converge_natsync_published_total", counter, []string{"kind"}, "NATS messages published, by kind: bundle, digest, reply."},
		{"converge_natsync_published_bytes_total", counter, nil, "Bytes of the NATS messages published."},
		{"converge_natsync_received_total", counter, nil, "NATS messages received: bundles and direct messages."},
		{"converge_natsync_received_bytes_total", counter, nil, "Bytes of the NATS messages received."},
		{"converge_natsync_stream_received_total", counter, nil, "Bundles read from the peers' JetStream streams."},
		{"converge_natsync_reconnects_total", counter, nil, "Reconnections of the NATS connection."},
		{"converge_natsync_disconnects_total", counter, nil, "Disconnections of the NATS connection."},
		{"converge_natsync_slow_consumers_total", counter, nil, "Slow-consumer errors on the Transport's subscriptions."},
		{"converge_natsync_dropped_total", counter, nil, "Messages the Transport's subscriptions dropped as a slow consumer."},
		{"converge_natsync_refused_total", counter, nil, "Messages delivered that the replica refused."},
		{"converge_natsync_malformed_total", counter, nil, "Bundles that could not be read."},
		{"converge_natsync_errors_total", counter, []string{"op"}, "Failures, by operation: publish, sync, stream, async."},
	}
)

// A collector exports a node's figures, and a Transport's, as
// Prometheus metrics.
type collector struct {
	descs     map[string]*prometheus.Desc
	lag       func() []merge.PeerLag
	stats     func() merge.Stats         // nil for a node with neither Stats method
	keyspace  func() merge.KeyspaceStats // nil but for a keyspace
	transport func() Stats               // nil for a node alone
}

func newCollector(set string, n Node, transport func() Stats) *collector {
	c := &collector{descs: map[string]*prometheus.Desc{}, lag: n.Lag, transport: transport}
	switch n := n.(type) {
	case interface{ Stats() merge.Stats }:
		c.stats = n.Stats
	case interface{ Stats() merge.KeyspaceStats }:
		c.keyspace = n.Stats
		c.stats = func() merge.Stats { return n.Stats().Stats }
	}
	constant := prometheus.Labels{"set": set, "replica": string(n.ID())}
	for _, m := range c.metrics() {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, m.labels, constant)
	}
	return c
}

func (c *collector) metrics() []metric {
	ms := append([]metric{}, peerMetrics...)
	if c.stats != nil {
		ms = append(ms, replicaMetrics...)
	}
	if c.keyspace != nil {
		ms = append(ms, keyspaceMetrics...)
	}
	if c.transport != nil {
		ms = append(ms, transportMetrics...)
	}
	return ms
}

// Describe sends the descriptors of every metric c exports.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics() {
		ch <- c.descs[m.name]
	}
}

// Collect sends the current value of every metric c exports.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(name string, typ prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], typ, v, labels...)
	}
	c.collectPeers(emit)
	if c.keyspace != nil {
		c.collectKeyspace(emit) // the replica's figures too
	} else if c.stats != nil {
		c.collectReplica(emit, c.stats())
	}
	if c.transport != nil {
		c.collectTransport(emit)
	}
}

// An emitter sends one metric of a collector's.
type emitter func(name string, typ prometheus.ValueType, v float64, labels ...string)

// collectPeers emits the lag figures of every peer.
func (c *collector) collectPeers(emit emitter) {
	for _, l := range c.lag() {
		p := string(l.Peer)
		emit("converge_peer_unacked_deltas", gauge, float64(l.Unacked), p)
		emit("converge_peer_oldest_unacked_seconds", gauge, l.OldestUnacked.Seconds(), p)
		emit("converge_peer_needs_full_state", gauge, b2f(l.NeedsFullState), p)
		emit("converge_peer_messages_sent_total", counter, float64(l.MessagesSent), p)
		emit("converge_peer_messages_received_total", counter, float64(l.MessagesReceived), p)
		emit("converge_peer_bytes_sent_total", counter, float64(l.BytesSent), p)
		emit("converge_peer_bytes_received_total", counter, float64(l.BytesReceived), p)
		emit("converge_peer_full_states_sent_total", counter, float64(l.FullStatesSent), p)
		emit("converge_peer_full_states_received_total", counter, float64(l.FullStatesReceived), p)
		other := l.Rejected - min(l.Rejected, l.ClockRejected+l.StaleRefused+l.ClaimsRefused+l.RetiredRefused)
		for _, r := range []struct {
			reason string
			n      uint64
		}{{"clock", l.ClockRejected}, {"stale", l.StaleRefused}, {"claims", l.ClaimsRefused}, {"retired", l.RetiredRefused}, {"other", other}} {
			emit("converge_peer_refused_total", counter, float64(r.n), p, r.reason)
		}
		emit("converge_peer_acks_ignored_total", counter, float64(l.AcksIgnored), p)
		emit("converge_peer_repairs_total", counter, float64(l.Repairs), p)
		emit("converge_peer_states_deferred_total", counter, float64(l.StatesDeferred), p)
		emit("converge_peer_partial_total", counter, float64(l.Partial), p)
		emit("converge_peer_overruled_total", counter, float64(l.Overruled), p)
		emit("converge_peer_last_received_timestamp_seconds", gauge, unixSeconds(l.LastReceived), p)
		emit("converge_peer_agreed_timestamp_seconds", gauge, unixSeconds(l.Agreed), p)
	}
}

// collectReplica emits the counters s of a replica or keyspace and its
// clock's.
func (c *collector) collectReplica(emit emitter, s merge.Stats) {
	emit("converge_replica_deltas_total", counter, float64(s.Deltas))
	emit("converge_replica_buffered_deltas", gauge, float64(s.Buffered))
	emit("converge_replica_buffered_bytes", gauge, float64(s.BufferedBytes))
	emit("converge_replica_overflowed_total", counter, float64(s.Overflowed))
	emit("converge_replica_refused_total", counter, float64(s.Rejected))
	emit("converge_replica_renewals_total", counter, float64(s.Renewals))
	emit("converge_clock_rejected_total", counter, float64(s.Clock.Rejected))
	emit("converge_clock_max_remote_offset_seconds", gauge, s.Clock.MaxRemoteOffset.Seconds())
	emit("converge_clock_logical_overflows_total", counter, float64(s.Clock.LogicalOverflows))
	emit("converge_clock_jumps_total", counter, float64(s.Clock.ForwardJumps), "forward")
	emit("converge_clock_jumps_total", counter, float64(s.Clock.BackwardJumps), "backward")
}

// collectKeyspace emits a keyspace's counters, those it has as a
// replica included, from one call to its Stats.
func (c *collector) collectKeyspace(emit emitter) {
	s := c.keyspace()
	c.collectReplica(emit, s.Stats)
	emit("converge_keyspace_keys", gauge, float64(s.Keys))
	emit("converge_keyspace_catch_ups_total", counter, float64(s.CatchUps))
	emit("converge_keyspace_tree_passes_total", counter, float64(s.TreePasses))
	emit("converge_keyspace_states_sent_total", counter, float64(s.StatesSent))
	emit("converge_keyspace_nodes_sent_total", counter, float64(s.NodesSent))
}

// collectTransport emits the transport's counters.
func (c *collector) collectTransport(emit emitter) {
	t := c.transport()
	emit("converge_natsync_published_total", counter, float64(t.Bundles), "bundle")
	emit("converge_natsync_published_total", counter, float64(t.Digests), "digest")
	emit("converge_natsync_published_total", counter, float64(t.Replies), "reply")
	emit("converge_natsync_published_bytes_total", counter, float64(t.PublishedBytes))
	emit("converge_natsync_received_total", counter, float64(t.Received))
	emit("converge_natsync_received_bytes_total", counter, float64(t.ReceivedBytes))
	emit("converge_natsync_stream_received_total", counter, float64(t.StreamReceived))
	emit("converge_natsync_reconnects_total", counter, float64(t.Reconnects))
	emit("converge_natsync_disconnects_total", counter, float64(t.Disconnects))
	emit("converge_natsync_slow_consumers_total", counter, float64(t.SlowConsumers))
	emit("converge_natsync_dropped_total", counter, float64(t.Dropped))
	emit("converge_natsync_refused_total", counter, float64(t.Refused))
	emit("converge_natsync_malformed_total", counter, float64(t.Malformed))
	emit("converge_natsync_errors_total", counter, float64(t.PublishErrors), "publish")
	emit("converge_natsync_errors_total", counter, float64(t.SyncErrors), "sync")
	emit("converge_natsync_errors_total", counter, float64(t.StreamErrors), "stream")
	emit("converge_natsync_errors_total", counter, float64(t.AsyncErrors), "async")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(ts hlc.Timestamp) float64 {
	if ts == 0 {
		return 0
	}
	return float64(ts.Time().UnixMilli()) / 1e3
}

// Describe sends the descriptors of the Transport's metrics: those of
// its node's lag figures and counters (a keyspace's with its own), and its own (see "Metrics" in
// the package documentation). Every descriptor carries the constant
// labels set and replica, so that the Transports of a process register
// side by side in one registry.
func (t *Transport) Describe(ch chan<- *prometheus.Desc) { t.metrics.Describe(ch) }

// Collect sends the current values of the Transport's metrics. It reads
// the node's Lag and Stats once each (O(peers), under the node's lock)
// and the Transport's counters.
func (t *Transport) Collect(ch chan<- prometheus.Metric) { t.metrics.Collect(ch) }

var _ prometheus.Collector = (*Transport)(nil)

// NewCollector returns a collector of the lag figures and counters of n,
// a replica or keyspace of set carried by some other transport: the
// metrics a Transport exports, less the converge_natsync ones. Register
// it in a Prometheus registry (prometheus.MustRegister).
func NewCollector(set string, n Node) prometheus.Collector {
	return newCollector(set, n, nil)
}
