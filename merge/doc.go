// Package merge keeps replicas of a CRDT in step: delta anti-entropy
// between replicas that the caller connects by any transport, digests to
// tell equal replicas apart cheaply, and durable replicas that survive
// restarts.
//
// A [Replica] holds one state of any type with the crdt contract (see
// crdt.State). [Replica.Update] applies a local change and keeps its delta;
// [Replica.Sync] returns the bytes to send a peer; [Replica.Receive] takes
// a peer's bytes and returns the reply. The Replica never touches the
// network, starts no goroutine and sets no timer: the caller moves the
// bytes, and time comes from the Replica's [hlc.Clock], so a simulator
// that sets the clock's physical time controls it completely.
//
// # Algorithm
//
// The protocol is algorithm 2 of Almeida, Shoker and Baquero, "Delta State
// Replicated Data Types" (2018), with the changes described below. A
// replica numbers the deltas its updates return 0, 1, 2, ... and keeps
// them in a buffer. For each peer it remembers the peer's acknowledgement
// n: the peer has every delta numbered below n. To sync with a peer it
// sends one delta-group, the join of the deltas from the peer's
// acknowledgement to the latest, tagged with that interval [n, c); the
// peer merges it and acknowledges c. Deltas every peer has acknowledged
// are dropped from the buffer (garbage-collected). If the buffer no longer
// holds delta n — it overflowed while the peer was unreachable — the
// replica sends its full state instead, which includes every delta.
//
// Merging is idempotent, commutative and associative, so a duplicated,
// reordered or stale message does no harm: it merges what the state
// already has. A lost message is covered by the next one sent from the
// acknowledgement. Two refinements keep the bytes down: Sync sends only
// the deltas the peer has not been sent yet, resending from its
// acknowledgement only when the retransmission timeout passes without
// progress ([WithRetransmitTimeout]; the timeout doubles while the peer
// stays silent, up to 8 times, so that a partitioned peer is not sent
// full state after full state); and a receiver that gets an interval
// beyond what it has, because an earlier message is late, merges it and
// remembers it, so that one acknowledgement covers both once the late
// message arrives. (Negative acknowledgements were rejected: a receiver
// cannot tell a lost message from a late one, so a gap would trigger
// retransmissions that reordering alone makes useless.)
//
// # Restarts and writers
//
// A replica that must come back from a restart with what it wrote and
// what it received is opened from a [Store] with [Open] (package
// boltstore keeps one on disk; [MemoryStore] one in memory, for tests).
// Open merges the store's snapshot and every record after it, raises the
// clock to the floor the store kept — so that no timestamp goes back,
// even on a machine whose clock did — and starts a new incarnation.
// From then on [Replica.Update] and [Replica.Receive] return only once
// what they merged is on the store: the records of the callers waiting
// at the same time go in one Append, one fsync (group commit). An Append
// that fails stops the replica: that call and every later one fail with
// [ErrClosed], changing nothing, and the replica is opened again.
// [Replica.Compact], called in the background as the records grow, folds
// them into a new snapshot without holding the replica's lock.
//
// Every incarnation, of a replica made by Open or by [New], draws a
// 64-bit incarnation number — the clock's milliseconds when it starts,
// then 22 random bits, after every earlier incarnation Open knows of —
// and writes under a writer ID of its own derived from it, its ID and a suffix (us-east~0f8k2m4n6p8qr, see
// [Replica.Writer] and [WriterNode]): [Replica.Update] passes it to the
// callback, which hands it to the crdt mutators. A restarted replica
// does not know which events its previous incarnation issued — the last
// of them may never have reached the store, or the store may be an old
// backup — and with a writer of its own it cannot issue any of them
// again, so it may write at once. (Update panics on a delta written
// under the bare ID.) The price is one entry per incarnation in the
// causal contexts and counters that an incarnation wrote to, until it is
// retired (see Retiring).
//
// What the store lacks, the peers hold. A new incarnation numbers its
// deltas from 0. Until a peer shows it knows the new incarnation, Sync
// greets it; a peer that knew an earlier one takes the new one for a
// restart: it forgets what the old one acknowledged, sends it what it
// lacks — from what the new incarnation acknowledges, or, if it
// acknowledges nothing within a retransmission timeout, the full state
// when the buffer no longer starts at 0 (a replica that replayed a log of
// a peer's deltas as it restarted acknowledges them all, and gets no full
// state) — and a digest exchange follows with the restarted replica and
// with every other peer, so that what the gone incarnation sent some
// peers and not others reaches every replica. A late or replayed message
// of the earlier incarnation, older than what the new one sent, is
// refused ([ErrStaleIncarnation]).
//
// A replica made by New lives in memory. To restore a state persisted
// some other way, merge it in with an Update that returns it as the
// delta, so that peers which missed part of it get it:
//
//	r.Update(func(_ vclock.ReplicaID, s T) T { s.Merge(saved); return saved })
//
// # Retiring
//
// [Replica.Retire] retires writers for good, so that the causal contexts
// follow the live writers rather than every incarnation that ever ran:
// Retire(id) of this replica, or of a peer whose current incarnation it
// has heard, retires the node's earlier incarnations — one range of
// writer IDs, since incarnation numbers grow with time — and Retire of a
// node that is gone retires all of its writers. The retirement is a
// delta (crdt's Retire methods, see "Retiring writers" there): stored and
// sent like an update's, and merged by every peer, whose contexts then
// drop the retired writers' entries as well. Messages from a retired
// writer are refused from then on ([ErrRetired], counted in
// PeerLag.RetiredRefused), and so is a payload that would retire this
// replica's writer or a peer's current one ([ErrRetireLive]): those
// writers' next events would count as seen, and vanish.
//
// Retire only once every event of the writers retired has reached this
// replica: a node that is gone has delivered its last messages (its peers'
// digests equal this replica's says so), and an earlier incarnation
// whose store this one opened has nothing left in flight. An event that
// had not arrived is lost, quietly: the replicas that learn of the
// retirement take it for removed, and drop it where they hold it; they
// still converge. Counters and last-writer-wins types keep a total or a
// write per writer and cannot retire ([ErrNotRetirable]).
//
// # Full mesh
//
// Algorithm 2 also forwards the deltas a replica receives, after checking
// that they inflate its state (d ⋢ X), so that updates reach replicas that
// are not neighbours. That check costs O(state) on converge's types. A
// Replica forwards nothing: it sends only its own deltas, plus its full
// state as a fallback. Every replica must therefore add every other as a
// peer ([Replica.AddPeer]) — a full mesh, as in Akka Distributed Data's
// delta propagation — which is the shape of a multi-region deployment,
// with a handful of regions. (Replicas that are not peers converge only
// through the full states and digest exchanges their common peers happen
// to send, which carry everything: keep the mesh full.)
//
// # Buffer and fallback
//
// One buffer serves all peers — each delta is kept once, whatever the
// number of peers, rather than in a buffer per peer — and a delta stays
// until every peer has acknowledged it. The buffer is bounded by a number of deltas
// ([WithMaxDeltas], default [DefaultMaxDeltas]) and by their encoded size
// ([WithMaxBufferBytes], default [DefaultMaxBufferBytes]); beyond either,
// the oldest delta is dropped, and a peer that still needed it gets the
// full state at its next Sync. [PeerLag].FullStatesSent counts those. A
// replica with no peers keeps no deltas; a peer added later gets the full
// state. WithMaxDeltas(0) turns the protocol into plain state-based
// anti-entropy, which BenchmarkSyncBytes compares with delta sync: for
// 10,000 single-element adds over three regions, delta sync sends about
// 1% of the bytes.
//
// # Digests
//
// A [Digest] is the SHA-256 of a state's canonical encoding: equal states,
// equal digests. [Replica.SyncDigest] sends one to a peer; a peer with the
// same digest answers with its own digest and nothing more, so equal
// replicas exchange only digests (88 bytes each way for region names of 7
// bytes). A peer whose digest differs answers with its full state, marked
// so that the asker answers with its own full state if it still holds
// something the peer lacks — unless deltas to the asker are still in
// flight, and the buffer covers them: they may be all the difference, and
// cost less, and the asker asks again once it has them. A state goes to a
// peer in answer to its digests at most once per retransmission timeout.
// That is how a new or restarted replica catches up at once, and how any
// replica can check, from time to time, that nothing was missed: call
// SyncDigest periodically, as a replica forwards nothing (see Full mesh)
// and a peer that sends some replicas what it sends not others leaves
// them differing until a digest exchange.
//
// # Messages and wire format
//
// A message is a msgpack array in converge's wire style, [version, kind,
// fields...], that ends with a checksum. Four kinds exist:
//
//	delta   [1, 32, sender, recipient, incarnation, time, ackIncarnation, ack, from, to, payload, checksum]
//	state   [1, 33, sender, recipient, incarnation, time, ackIncarnation, ack, to, push, payload, checksum]
//	ack     [1, 34, sender, recipient, incarnation, time, ackIncarnation, ack, checksum]
//	digest  [1, 35, sender, recipient, incarnation, time, ackIncarnation, ack, reply, digest, checksum]
//
// sender and recipient are ReplicaIDs (str); incarnation is the sender's
// (uint, not 0); time is the sender's hybrid logical clock reading (uint),
// which the receiver takes in with hlc.Clock.Update, refusing the message
// if it is beyond the max offset ahead. ack says that the sender has the
// recipient's deltas numbered below it, in the recipient's incarnation
// ackIncarnation (both 0 before the sender has heard from the recipient).
// A delta carries the join of the sender's deltas [from, to), from < to; a
// state carries the sender's whole state, which includes its deltas below
// to, and push asks the recipient to answer with its own state if it
// holds more. The payload is a msgpack bin holding the state's canonical
// encoding, as its AppendBinary writes it — a bin rather than the value
// nested raw, so that the receiver bounds it in O(1) instead of walking it
// twice, and so that a state type may use any canonical encoding, msgpack
// or not. A digest message carries a
// digest (bin, 32 bytes); reply marks the answer of an equal replica.
// The checksum is a bin of 4 bytes, the big-endian CRC-32C (Castagnoli)
// of every byte before it. Integers take their shortest form; a decoder
// accepts only that, and nothing after the checksum.
//
// The checksum catches corruption: a merged CRDT state cannot be
// unmerged, so a flipped bit would otherwise live forever. It is no
// defence against forgery; authenticate peers in the transport (mTLS),
// and use [Replica.ReceiveFrom] to bind each message to the peer the
// transport authenticated. docs/wire-format.md lays out every field and
// check.
//
// Receive checks the checksum and the envelope, then the sender — a
// known peer — before it decodes the payload, within [crdt.DecodeOptions]
// bounds, so that a hostile length claim, or a stranger's large payload,
// allocates nothing. It then checks the message against the replica
// before it changes anything: the incarnation, what the payload claims
// (its timestamps and its events of this replica's writer; see Claims),
// the state type's ValidateMerge, and the clock offset. An
// acknowledgement of deltas never sent is ignored, not refused. A refused message returns a [*MessageError] and
// leaves the state as it was.
//
// # Claims
//
// A payload says what it holds, and what its causal context claims to
// have seen: for each writer, events up to a counter (the state's
// Version), and the timestamps of its writes (MaxTimestamp). A replica
// takes only claims it can stand behind, because a claim it accepts it
// passes on, and a context claiming events of a writer that it never
// issued swallows those events when they come: the receiver takes them
// for removed.
//
//   - The replica's own current writer: no peer can have seen more of its
//     events than it issued. A payload claiming more is refused
//     ([*ClaimError], matching [ErrUnissued]), and the replica renews its
//     incarnation, and so its writer, because the claim may have reached
//     other peers and would swallow its next writes there. Peers get its
//     full state; [Stats].Renewals counts renewals.
//   - Another peer's writers: events of them come from that peer. What a
//     payload relays beyond the largest counter of the writer that the
//     writer's own replica has shown this one is dropped (the state
//     type's Clamp), the rest merged, and the message not acknowledged:
//     either the claim is forged, or the writer's message is still on its
//     way, and the sender sends its payload again, to be checked afresh.
//     [PeerLag].Partial counts such messages; the writer's replica is
//     asked for a digest exchange, in case the events are of its past and
//     it never sends them on its own.
//   - The sender's own writers, this replica's earlier ones (which nobody
//     can vouch for better; learning some, it passes them on with digest
//     exchanges) and writers of replicas that are not peers are taken as
//     they are.
//   - Timestamps: none later than the message's time, which the sender's
//     clock passed after every timestamp it holds ([ErrFutureTimestamp]).
//     Update moves the clock up to a timestamp the delta carries, should
//     the application stamp writes with another clock.
//
// Two replicas that disagree on one event's data — a bug, or a liar —
// defer to the event's source, the replica whose writer issued it. A
// payload from that replica overrules the receiver's copy: the receiver
// drops it, and the writer's later events (Clamp), merges the payload,
// and a digest exchange with the sender brings back what the drop took
// ([PeerLag].Overruled counts such events). A payload holding another
// copy of an event of the receiver's own writers is refused
// (crdt.ErrInconsistent), and the sender gets the receiver's full state,
// which overrules its copy; any other disagreement is refused, and a
// digest exchange with the writer's replica settles it. The LWW types
// cannot drop one write, so their disagreements — the same writer and
// timestamp, two values — stay refused.
//
// What this cannot stop: a peer that lies in its own name can write, and
// remove, what any peer may (a payload claiming events it never held
// removes them — but only events their writer has shown); it can forge
// events of incarnations that are gone, which some replicas never
// received, and no replica can check; and a message forged in another
// peer's name passes for that peer's. Authenticate peers.
//
// # Repairs
//
// Whatever a peer sends, once it behaves the replicas converge within a
// bounded number of Sync rounds: every refusal is harmless, or schedules
// a repair that Sync sends, at most once per retransmission timeout and
// peer, so that no peer — nor whoever forges its messages — can make a
// replica send more.
//
//   - An acknowledgement of more deltas than were sent to the peer (a
//     forged interval made it count them) is ignored ([PeerLag].AcksIgnored)
//     and the full state goes to the peer: the newest message from the
//     replica, it resets the peer's count.
//   - An acknowledgement, in a peer's newest message, of fewer deltas than
//     it acknowledged before means it lost count: deltas go again from
//     there.
//   - A stale incarnation's message gets an acknowledgement back, whose
//     time moves a peer's clock past its old one if the "stale" message was
//     a restart whose clock went back.
//   - Refusals in a row (three), a restarted peer, and relayed
//     claims dropped make a digest exchange due; a digest is sent again
//     until answered, and answered with a state at most once per timeout
//     ([PeerLag].StatesDeferred), or not while deltas still in flight to
//     the asker, and covered by the buffer, may be all the difference.
//   - A state pushed in answer to a digest that holds less than the
//     receiver gets the receiver's state back, under a delta number of
//     its own (an empty delta), and again until the pusher acknowledges
//     that number: the pusher does not know the state is due. The other
//     peers do not wait for the number; it goes to each with its next
//     delta.
//
// An operator sees each kind of refusal counted in [Replica.Lag], and
// repairs in Repairs; a count that keeps rising names the peer to look
// at.
//
// # Lag figures
//
// [Replica.Lag] returns, for each peer, the figures an operator graphs
// and alerts on ([PeerLag]): the last acknowledgement and the deltas not
// yet acknowledged, the age by the hybrid logical clock of the oldest of
// them (the figure to alert on: it grows with a partition or a dead peer,
// whatever the write rate), whether the peer needs a full state, messages
// and bytes sent and received, full states sent and received, messages
// refused — with the stale, clock and claim refusals apart — and the
// repairs of the section above. [Replica.Stats] has the replica's own
// counters, writer renewals among them.
//
// # Concurrency
//
// A Replica is safe for concurrent use. One mutex guards it; Receive
// decodes the message and its payload before taking it, so that the
// critical section holds only checks, a merge and the encoding of a small
// reply. Sync joins and encodes a delta-group under the lock, once for
// all peers that need the same group. Update and Read call their function
// under the lock: it must not call the Replica. The hlc.Clock is
// lock-free and may be shared with the rest of the process.
//
// # Resolvers
//
// The siblings a crdt.MVRegister keeps of concurrent writes are resolved
// where the register is: crdt.Stamped, crdt.LastWriterWins and the
// register's Resolve, Siblings and Settle methods. A Replica of such a
// register settles a conflict in Update, as the Replica's Update example
// shows.
//
// # Keyspaces
//
// A [Keyspace] is one replica of a dataset of many keys — a million
// carts — each holding a state of one type, with a Replica's shape and
// rules: the same options, incarnations and writer IDs (every key's
// events are written as [Keyspace.Writer], so a new incarnation reuses
// no dot in any key), Sync and Receive moving bytes the caller carries;
// peers form a full mesh or a partial one that forwards (see
// Topologies). Keys are strings or integers ([Key]), whose
// canonical encodings the wire and the tree use. Anti-entropy costs what
// differs, not what is held:
//
//   - While connected, deltas. Update numbers the delta of each change, of
//     any key, 0, 1, 2, ..., in one buffer for all peers, bounded as a
//     Replica's ([WithMaxDeltas], [WithMaxBufferBytes]); Sync sends a
//     peer the deltas from where it stands, joined per key, many keys to
//     a message — at most 1024 keys, and no more keys once 256 KiB of
//     states are in, so that a backlog takes several messages (call Sync
//     until it returns nil) — tagged with their interval [from, to) and
//     acknowledged as a Replica's, but not at once: Receive returns no
//     reply to deltas, and the next Sync to their sender carries the
//     acknowledgement in the envelope of what it sends, or alone if
//     nothing else is due. A link busy both ways then carries no bare
//     acknowledgements at all; call Sync for every peer from time to
//     time (well within the retransmission timeout), as the transport
//     of a Replica does.
//   - A peer that stays silent after a retransmission — down, cut off —
//     is sent nothing new, only probes at the backed-off retransmission
//     timeout: the first 16 keys of what it has not acknowledged, or one
//     request of a pass of at most 16 keys, until a message comes from
//     it; then the rest follows.
//   - A peer that fell behind the buffer gets a catch-up: each key
//     remembers the number of its last delta in the buffer (a local
//     update, or a payload forwarded, see Topologies), so the keys
//     changed since the peer's acknowledgement are found by one scan of
//     the keys,
//     and their current states — each includes the key's deltas — go in
//     messages of the same bounds, each answered — twice, at once and at
//     the next Sync, as an answer is small and its loss would cost the
//     request's states again. Once every one is, a
//     closing message, an empty delta-group [0, mark), tells the peer it
//     has every delta below mark, the number of the next delta when the
//     catch-up began; deltas from mark on flow meanwhile as usual. If
//     the buffer outruns a catch-up under way (the peer is down longer
//     than the buffer lasts, or the catch-up is slower than the writes),
//     the next takes over the keys the first has not had answered and,
//     of the others, only those written since the first began: each
//     state goes once. Bytes: the states of the keys written, about 1.2
//     times the missed deltas for sets of one or two items
//     (BENCHMARKS.md).
//   - A tree pass, for what no delta brings: after a peer's restart (with
//     that peer and every other, as a Replica's digest exchanges), three
//     refusals in a row, or [Keyspace.SyncDigest]. Every key hashes, by its
//     encoding, into one of 2^16 leaf buckets and contributes a 64-bit
//     hash of its encoding and its state's; a node's hash is the sum of
//     the contributions below it, in a tree of fanout 16 and five levels
//     kept up to date by every change in O(1) (five additions), and by
//     one encoding and hash of the changed key's state. The pass starts
//     with the root: an equal peer says so, and the check ends in two
//     messages (about 130 bytes for IDs of 7 bytes, whatever the number of
//     keys). Otherwise the peer answers with the 16 child hashes of each
//     node that differs, the keyspace asks about the children that differ
//     in turn (up to 256 nodes a request, 8 requests in flight), and at
//     the leaves sends the states of the keys of each differing bucket,
//     asking the peer to answer with what it holds more there. Each
//     request not answered within the retransmission timeout is sent
//     again; the pass closes as a catch-up does. Bytes: about 128 per
//     differing node per level, so a pass costs more than the missed
//     deltas when they are many and small — about 3.5 times for 10,000
//     of 100,000 keys (BENCHMARKS.md) — which is why a peer that merely
//     fell behind gets a catch-up instead.
//
// A keyspace keeps each key's state encoded, not as a T: a one-item set
// takes about 40 bytes so, and 300 as a decoded ORSet with its own causal
// context, and the collector has a byte slice to skip instead of five
// objects to trace. Update, Read, All and Receive decode the states they
// touch (about 0.5 µs for a small set), and the encoding they keep is the
// one the tree hashes and a catch-up or tree pass sends. A state handed
// to Read, All or Update's callback is therefore a copy: changing it in
// Read or All changes nothing, and Update keeps the state its callback
// leaves. A million keys of one-item sets take about 200 bytes a key,
// slot, tree and delta buffer included: 1.15 times the same sets in one
// crdt.ORMap (BENCHMARKS.md). The delta buffer keeps its deltas encoded
// too, about 150 bytes of memory each for a one-item set's: a message
// sends a key's one delta as its bytes, and decodes only the deltas of a
// key that has several to join. A catch-up sends its keys in the order
// of their key hashes, so that the same exchange goes the same way.
//
// Receive checks a keyspace message as a Replica's: the checksum and the
// envelope, every field (keys ascending, in range, node and bucket
// numbers in range), the recipient and sender before any payload is
// decoded, each payload within the decoding bounds, then, for each key,
// the payload's timestamps against the message's time, its claims of the
// keyspace's writer against what that key's state holds, and the state
// type's ValidateMerge against the key's state, before any key changes.
// Not done in this release: the Replica's checks of relayed claims
// (Clamp) and overruling by an event's source, the renewal of the writer
// after a claim of unissued events (the message is refused, nothing
// more), and the full state that resets a peer's wrong count of this
// keyspace's deltas.
// docs/wire-format.md specifies the four messages, kinds 40 to 43, and
// the tree's hashes.
//
// # Topologies
//
// Keyspaces added with no [PeerOption] form a full mesh: each sends its
// peers the deltas of its own writes, and a write reaches every keyspace
// in one hop. With n keyspaces that is n−1 peers each, and each write
// crosses a region boundary once per keyspace in another region — 75
// times for 4 regions of 25. A partial mesh forwards instead, with the
// two refinements of Enes et al. ("Efficient Synchronization of
// State-based CRDTs", ICDE 2019): a keyspace buffers a payload it
// receives for its forwarding peers only if it changed a key's state
// (what was already known goes no further), and never sends it back to
// the peer it came from. [Forward] makes a peer such a neighbour; a
// forwarded payload takes a number in the keyspace's delta buffer like a
// local write, so it is joined with other deltas of its key, batched,
// acknowledged, retransmitted, and, if the buffer overflows, covered by a
// catch-up, as a write is. The rules:
//
//   - The peers must form a connected graph in which every link is
//     forwarding at both ends, or, where a link is not, the keyspaces are
//     also joined through forwarding ones: a write reaches every keyspace
//     along the forwarding links. A keyspace forwards to a peer added
//     without options only its own writes.
//   - Each forwarding hop adds a message's delay and, per peer, the
//     payloads its neighbours sent it first: in a ring of n, a write takes
//     up to n/2 hops; in a mesh of degree d, it is sent up to d times to
//     each keyspace, once by each neighbour that got it before learning
//     the keyspace had it. Fewer peers cost more hops; more peers, more
//     copies.
//   - Across regions, [Remote] splits the horizon: a keyspace forwards a
//     remote peer what it writes and what its own region's peers send,
//     but not what another remote peer sent, and forwards what a remote
//     peer sends only to its own region. With one relay per region — a
//     keyspace whose remote peers are the other regions' relays — each
//     write crosses each region boundary once: about (regions−1) times
//     its delta, plus envelopes and acknowledgements (1.27 × 3 for 4
//     regions in TestRelaysCrossEachBoundaryOnce). A relay that is down
//     cuts its region off until it is back, or until the operator adds
//     another keyspace's remote peers; the regions' tree passes after its
//     restart repair what it missed.
//   - Tree passes and catch-ups run between peers, as in a full mesh; a
//     state they bring that changes a key is forwarded like a delta, so a
//     repair reaches the keyspaces beyond the peer too.
//   - A forwarding keyspace buffers every write that reaches it, not only
//     its own: its delta buffer fills at the rate of the writes of the
//     whole mesh, and a peer cut off for longer than the buffer holds
//     gets a catch-up (each key's state rather than its deltas). Size
//     [WithMaxDeltas] and [WithMaxBufferBytes] for the outage a link
//     should ride out on deltas alone.
//
// Trust does not grow with the hops. A keyspace checks a forwarded
// payload as it checks any payload of the peer that sent it (timestamps,
// claims of its own writer, ValidateMerge), but it cannot tell a third
// writer's real events from ones a relay forged, since the Replica's
// clamping of relayed claims is not in keyspaces yet (see above): a
// partial mesh should join only peers trusted as much as each other.
//
// Over a broker that fans messages out itself, such as NATS with
// natsync, where one published bundle already crosses each region
// boundary once, keyspaces need no relays: they stay a full mesh.
//
// [OpenKeyspace] makes a durable keyspace, as [Open] a durable Replica:
// restored from a [Store], it starts a new incarnation after every one
// that wrote there, its Update and Receive return once what they merged
// is on the store (one record per call, group commit), [Keyspace.Compact]
// folds the records into a snapshot of every key without holding the
// lock, and each peer it adds starts with a tree pass, which gives each
// side the keys the other lacks.
//
// A Keyspace costs, per key, the state, a map entry and a slot (64 bytes
// with string keys), plus 1 MiB for the tree and the bucket lists once
// it holds a key: about 400 bytes a key for sets of one item, 2.3 times
// what one ORMap of the same sets takes, mostly because each state carries a
// causal context of its own (BENCHMARKS.md). Update costs O(size of the
// key's state), whatever the number of keys; a catch-up, one scan of the
// keys when it starts.
package merge
