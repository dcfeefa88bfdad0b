// Package natsync carries the messages of [merge.Replica] and
// [merge.Keyspace] over NATS: a [Transport] per replica (a [Node])
// publishes the replica's deltas once per write, whatever the number of
// peers, routes the replies back to their sender, repairs what the
// network lost with periodic digests, and survives disconnections and
// server restarts. With [WithStream], JetStream keeps each replica's
// deltas in a stream, from which a replica that was down replays what it
// missed. A Transport is a Prometheus collector of the replica's lag
// figures and its own counters.
//
// Below, "replica" is either kind of node: a Replica holds one state, a
// Keyspace a state per key, and both speak merge's protocol (see
// "Keyspaces" in merge); every node of a set is the same kind.
//
// natsync is a module of its own (github.com/converge-go/converge/natsync),
// so that the library's users who do not use NATS never download
// nats.go, nats-server or client_golang.
//
// # Subjects
//
// A replicated set — the replicas of one state, such as the carts of
// every region — has a name, and every subject of it starts with a
// prefix ([DefaultPrefix], [WithPrefix]) and that name:
//
//	converge.<set>.b.<sender>               bundles: what sender's Sync returned for every peer
//	converge.<set>.p.<recipient>.<sender>   one message for recipient: a reply, a digest
//
// Set names and replica IDs are letters, digits, '-' and '_' ([ErrName]),
// so that they are subject tokens and stream names. A Transport hands a
// message to the node's ReceiveFrom with the sender its subject names:
// with NATS permissions that let replica X publish only on
// converge.*.b.X and converge.*.p.*.X, a replica can speak only for
// itself, which merge's checks of claims rely on (see "Claims" in merge).
//
// # Bundles: one publish per write
//
// merge.Replica.Sync returns one message per peer: each carries the
// recipient's name, the acknowledgement of what it sent, and a checksum,
// so that messages cannot be shared as they are. But peers that are in
// step get the same delta-group, the payload that makes almost all of a
// message's bytes. A Transport calls Sync for every peer and publishes
// the messages in one bundle on its broadcast subject, each payload once
// and each message's envelope (about 60 bytes) beside it; every peer's
// Transport takes its own message out, reassembles it byte for byte and
// hands it to Receive, which checks its checksum as it checks any. A
// write to a replica with four peers costs one publish of about the
// delta's size plus 4 × 60 bytes, where a publish per peer would cost
// four publishes of the delta's size each (TestBundleSharesPayloads:
// 658 bytes against 2,060 for a 51-element delta).
//
// The price of broadcasting: every peer receives every bundle, also the
// messages in it for others, and a peer that lags gets its own payload in
// the bundle, which every other peer then receives too. In a
// supercluster, a bundle crosses each gateway once, to every cluster
// with a peer in it, as a message per peer would; the bytes across the
// gateway are the delta plus the envelopes of the cluster's peers and
// others, not one delta per peer. Replies and digests, which are for one
// replica, go on its direct subject.
//
// A keyspace's messages go in a bundle whole, each peer's its own: their
// entries are per key, and peers in step seldom need the same ones.
// Bundling still makes one publish per sync, not one per peer.
//
// Writes followed by [Transport.Notify] go out at once, on the Transport's goroutine; writes that come faster
// than it publishes coalesce into one bundle, since Sync joins every
// delta not yet sent. Every [WithSyncInterval] the Transport calls Sync
// again, for the retransmissions and repairs the Replica has due.
//
// # Loss, duplication, reconnection
//
// Core NATS delivers at most once: a message published while a server
// restarts, to a slow consumer, or across a gateway that just went down
// is lost. A Transport does not retry anything itself. merge.Replica
// already takes duplicated, reordered and stale messages as harmless,
// and resends what goes unacknowledged after its retransmission timeout
// (merge.WithRetransmitTimeout); every [WithDigestInterval], and at once
// after a reconnection, the Transport sends every peer a digest, and a
// peer that differs answers with its state. Nothing acknowledged is lost
// that way, and nothing is applied twice.
//
// nats.go reconnects by itself (configure nats.MaxReconnects and
// nats.ReconnectWait on the connection) and buffers what is published
// meanwhile; the Transport chains handlers after the connection's own to
// count disconnections, reconnections and slow-consumer errors
// ([Stats]).
//
// # JetStream
//
// With [WithStream], each replica's bundles are kept in a stream of its
// own, [StreamName] (CONVERGE_<set>_<replica>), capturing its broadcast
// subject; a Transport creates or updates its replica's stream, and
// reads each peer's through a durable consumer named after its own
// replica, acknowledging each bundle once Receive has taken it — on a
// replica made by merge.Open, once it is on the replica's store. Core
// NATS then carries only the direct subjects.
//
// A replica that stops and starts again, from its store, resumes each
// consumer where it left off and replays what its peers sent it
// meanwhile: every bundle holds a message for every peer, reachable or
// not, so that a stream holds everything its replica sent a peer that
// was down, as deltas, as long as the stream keeps it
// (TestStreamReplaysWhatAReplicaMissed restarts a replica whose peers
// have stopped too, and it catches up from the streams alone). While it
// replays, the acknowledgements it would send for each bundle are left
// out but for the last, which covers them all; and the restarted
// replica's first Sync, which greets its peers, waits until the replay
// reaches the end of the streams (at most 3 s), so that its greeting
// acknowledges what it replayed and no peer sends it a full state
// (TestStreamReplayCostsTheMissedDeltas: 30 missed deltas of 9,654 bytes
// in all caught up with 11,574 bytes, 1.20×, none of it a full state).
//
// The stream keeps what the replica publishes, retransmissions included:
// a peer that is down does not acknowledge, so the replica sends the
// deltas it has not acknowledged again after each retransmission timeout
// (merge.WithRetransmitTimeout, doubling up to 64 times while the peer
// stays silent), and the replay brings each of those again. With writes
// at a steady rate and the default timeout of 1 s, that adds about the
// missed deltas once over an outage of a minute (2.1× in all, measured
// with one retransmission in the outage) and about 2.3 times over five
// minutes; a longer timeout makes it less, at the price of a slower
// repair of what core NATS loses while connected. Bundles a stopped
// Transport had pulled and not taken come back to the next consumer
// after the ack wait (5 s); a bundle refused because the replica's store
// is closed is handed back at once.
//
// Beyond the stream's retention ([Stream].MaxAge, MaxMsgs, MaxBytes) the
// bundles are gone, and merge's anti-entropy takes over: the restarted
// replica greets its peers with its new incarnation, they take it for a
// restart and exchange digests, and a peer that holds more answers with
// its full state (TestStreamRetentionFallsBackToAntiEntropy). A
// consumer is made on first use to start at its stream's end, since a
// replica that never ran gets everything in one full state that way, and
// is deleted by the server once inactive for the stream's MaxAge, when
// it would have nothing left to replay.
//
// The stream is written by core publishes: a bundle lost on its way to
// the stream is resent by the Replica's retransmission, like any lost
// message. A stream lives in one cluster ([Stream].Placement); in a
// supercluster, put each replica's in its own region, so that its writes
// are kept while the region is cut off, and its peers read them across
// the gateways once it is back.
//
// # Metrics
//
// A Transport is a prometheus.Collector ([Transport.Describe],
// [Transport.Collect]); [NewCollector] exports a node carried
// by another transport, without the Transport's own metrics. Every
// metric has the constant labels set and replica. The module's
// README.md has the table with types and meanings; alerts.yml has
// alerting rules, ConvergeReplicationLag on
// converge_peer_oldest_unacked_seconds first.
//
// Per peer (label peer), from the node's Lag:
//
//   - converge_peer_unacked_deltas
//   - converge_peer_oldest_unacked_seconds
//   - converge_peer_needs_full_state
//   - converge_peer_messages_sent_total
//   - converge_peer_messages_received_total
//   - converge_peer_bytes_sent_total
//   - converge_peer_bytes_received_total
//   - converge_peer_full_states_sent_total
//   - converge_peer_full_states_received_total
//   - converge_peer_refused_total{reason}
//   - converge_peer_acks_ignored_total
//   - converge_peer_repairs_total
//   - converge_peer_states_deferred_total
//   - converge_peer_partial_total
//   - converge_peer_overruled_total
//   - converge_peer_last_received_timestamp_seconds
//   - converge_peer_agreed_timestamp_seconds
//
// Of the replica, from its Stats and its clock (a keyspace's
// KeyspaceStats.Stats):
//
//   - converge_replica_deltas_total
//   - converge_replica_buffered_deltas
//   - converge_replica_buffered_bytes
//   - converge_replica_overflowed_total
//   - converge_replica_refused_total
//   - converge_replica_renewals_total
//   - converge_clock_rejected_total
//   - converge_clock_max_remote_offset_seconds
//   - converge_clock_logical_overflows_total
//   - converge_clock_jumps_total{direction}
//
// Of a keyspace, from merge.Keyspace.Stats:
//
//   - converge_keyspace_keys
//   - converge_keyspace_catch_ups_total
//   - converge_keyspace_tree_passes_total
//   - converge_keyspace_states_sent_total
//   - converge_keyspace_nodes_sent_total
//
// Of the Transport ([Stats]):
//
//   - converge_natsync_published_total{kind}
//   - converge_natsync_published_bytes_total
//   - converge_natsync_received_total
//   - converge_natsync_received_bytes_total
//   - converge_natsync_stream_received_total
//   - converge_natsync_reconnects_total
//   - converge_natsync_disconnects_total
//   - converge_natsync_slow_consumers_total
//   - converge_natsync_dropped_total
//   - converge_natsync_refused_total
//   - converge_natsync_malformed_total
//   - converge_natsync_errors_total{op}
package natsync
