package merge

import (
	"errors"
	"fmt"
	"slices"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// Receive takes a message from a peer, merges what it carries and returns
// the reply to send back to that peer, or nil if none is due: tree
// requests and pushes are answered at once; deltas are acknowledged by
// the next Sync to their sender (see Keyspaces in the package
// documentation). It checks
// the whole message before it changes anything, in the Replica's order:
// the checksum and the envelope, and every field (keys in ascending order
// of their encodings, within the range of K; node and bucket numbers in
// range and ascending); the recipient and the sender, a known peer,
// before any payload is decoded; each payload, decoded within
// [crdt.DecodeOptions] bounds; then each key's payload against that
// key's state — its timestamps no later than the message's time
// ([ErrFutureTimestamp]), its claims of this keyspace's writer no more
// than the key's state holds ([ErrUnissued]), and the state type's
// ValidateMerge — and the clock offset. A refused message returns a
// [*MessageError], is counted, and leaves every key as it was; three
// refusals in a row make a tree pass with the peer due. Duplicated,
// reordered and stale messages are harmless.
//
// Decoding costs O(message) and runs before the lock is taken; merging
// costs, per key, the state's Merge and one encoding of the merged state
// (for the tree). Answering a tree request costs O(nodes asked).
func (ks *Keyspace[K, T]) Receive(msg []byte) ([]byte, error) {
	return ks.receive("", msg)
}

// ReceiveFrom is Receive for a message that the transport has
// authenticated as coming from peer from (mTLS, a signed channel), as
// [Replica.ReceiveFrom] is: a message naming another sender is refused
// with [ErrMisaddressed].
func (ks *Keyspace[K, T]) ReceiveFrom(from vclock.ReplicaID, msg []byte) ([]byte, error) {
	if from == "" {
		return nil, fmt.Errorf("merge: ReceiveFrom with an empty sender")
	}
	return ks.receive(from, msg)
}

// receive is Receive of a message from peer from, or from whoever it
// names when from is empty.
func (ks *Keyspace[K, T]) receive(from vclock.ReplicaID, msg []byte) ([]byte, error) {
	ks.mustInit()
	reply, seq, err := ks.receiveLocked(from, msg)
	return reply, errors.Join(err, ks.waitStored(seq))
}

// receiveLocked is receive up to the wait for the store: it decodes msg,
// takes the lock and applies it, and returns the number of the record to
// wait for, for a durable keyspace, or 0.
func (ks *Keyspace[K, T]) receiveLocked(from vclock.ReplicaID, msg []byte) (reply []byte, seq uint64, err error) {
	m, err := decodeKSMessage(msg, wire.Limits(ks.cfg.decode), ks.codec)
	if err == nil {
		err = m.addressed(from, ks.id)
	}
	sender := m.sender
	if err == nil && !ks.known(m.sender) {
		err = fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender)
	}
	var payloads []T
	if err == nil {
		payloads, err = ks.decodePayloads(m.entries)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		return nil, 0, ks.refuse(sender, err)
	}
	if err := ks.commit.usable(); err != nil {
		return nil, 0, fmt.Errorf("merge: %s Receive: %w", ks.id, err)
	}
	ks.queued = 0
	defer func() { seq = ks.queued }()
	p, ok := ks.peers[m.sender]
	if !ok {
		return nil, 0, ks.refuse(m.sender, fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender))
	}
	locals, err := ks.admit(p, &m, payloads)
	if err != nil {
		return nil, 0, ks.refuse(m.sender, err)
	}
	now, err := ks.clock.Update(m.time)
	if err != nil {
		if errors.Is(err, hlc.ErrClockOffset) {
			ks.stats.ClockRejected++
			p.lag.ClockRejected++
		}
		return nil, 0, ks.refuse(m.sender, err)
	}
	ks.acceptEnvelope(p, &m.message, len(msg), now)
	reply, err = ks.acceptBody(p, &m, payloads, locals, now)
	return reply, 0, err
}

func (ks *Keyspace[K, T]) known(id vclock.ReplicaID) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	_, ok := ks.peers[id]
	return ok
}

// decodePayloads decodes the payload of every entry, within the
// configured bounds.
func (ks *Keyspace[K, T]) decodePayloads(es []ksWire[K]) ([]T, error) {
	if len(es) == 0 {
		return nil, nil
	}
	out := make([]T, len(es))
	for i, e := range es {
		v := ks.newState()
		var err error
		if u, ok := any(v).(crdt.Unmarshaler); ok {
			err = ks.cfg.decode.Unmarshal(e.payload, u)
		} else {
			err = v.UnmarshalBinary(e.payload)
		}
		if err != nil {
			return nil, fmt.Errorf("key %v: %w", e.key, err)
		}
		out[i] = v
	}
	return out, nil
}

// admit checks m, from p, against the keyspace before anything changes,
// and returns why it is refused, if it is. It returns the state of each
// key of m's entries, decoded, for mergeEntries (the zero T for a key
// holding none).
func (ks *Keyspace[K, T]) admit(p *kpeer[K], m *ksMessage[K], payloads []T) (locals []T, err error) {
	if p.inc != 0 && m.inc != p.inc && m.time <= p.lag.LastReceived {
		p.notice = true
		p.lag.StaleRefused++
		return nil, fmt.Errorf("%w: %s incarnation %d at %v, after incarnation %d at %v", ErrStaleIncarnation, m.sender, m.inc, m.time, p.inc, p.lag.LastReceived)
	}
	if len(m.entries) > 0 {
		locals = make([]T, len(m.entries))
	}
	for i, e := range m.entries {
		slot := ks.keys[e.key]
		if slot != nil {
			if locals[i], err = ks.load(slot); err != nil {
				return nil, err
			}
		}
		if err := ks.admitEntry(p, m.time, slot != nil, locals[i], payloads[i]); err != nil {
			return nil, fmt.Errorf("key %v: %w", e.key, err)
		}
	}
	return locals, nil
}

// admitEntry checks the payload of a key against its state, local, if
// held.
func (ks *Keyspace[K, T]) admitEntry(p *kpeer[K], at hlc.Timestamp, held bool, local, payload T) error {
	if s, ok := any(payload).(stamper); ok {
		if ts := s.MaxTimestamp(); ts > at {
			p.lag.ClaimsRefused++
			return fmt.Errorf("%w: the payload carries timestamp %v, the message was sent at %v", ErrFutureTimestamp, ts, at)
		}
	}
	if claimed, ok := versionOf(payload, ks.writer); ok {
		var known uint64
		if held {
			known, _ = versionOf(local, ks.writer)
		}
		if claimed > known {
			p.lag.ClaimsRefused++
			return &ClaimError{Writer: ks.writer, Claimed: claimed, Known: known}
		}
	}
	if !held {
		return nil
	}
	return local.ValidateMerge(payload)
}

// refuse counts a refused message and wraps its reason. Refusals in a row
// from one peer make a tree pass with it due.
func (ks *Keyspace[K, T]) refuse(from vclock.ReplicaID, err error) error {
	ks.stats.Rejected++
	if p, ok := ks.peers[from]; ok {
		p.lag.Rejected++
		if p.refusedRun++; p.refusedRun >= repairAfter {
			p.refusedRun = 0
			p.wantTree = true
		}
	}
	return &MessageError{From: from, Err: err}
}

// acceptEnvelope takes in what the envelope of m, from p, says: the
// sender's incarnation and its acknowledgement of this keyspace's deltas.
func (ks *Keyspace[K, T]) acceptEnvelope(p *kpeer[K], m *message, size int, now hlc.Timestamp) {
	p.refusedRun = 0
	p.lag.MessagesReceived++
	p.lag.BytesReceived += uint64(size)
	p.lag.LastReceived = max(p.lag.LastReceived, m.time)
	p.rto = ks.rto()
	if m.inc != p.inc {
		ks.restarted(p, m.inc, now)
	}
	if m.ackInc == ks.inc {
		p.hello = false
	} else if m.kind == kindKeyspaceAck && m.ackInc == 0 {
		p.notice = true // a greeting: answer it
	}
	switch {
	case m.ackInc != ks.inc:
	case m.ack > p.maxSent:
		// More than was ever sent: a forged or corrupted count. Ignored.
		p.lag.AcksIgnored++
	case m.ack > p.acked:
		p.acked = m.ack
		p.sent = max(p.sent, p.acked)
		p.timer = now
		if p.acked >= ks.base {
			p.behind = 0
		}
		ks.gc(now)
	}
}

// restarted starts over with a peer whose incarnation changed, as a
// Replica does: what it had of ours may be lost, so a tree pass with it
// is due, and one with every other peer, so that what its earlier
// incarnation sent some peers and not others reaches every keyspace.
func (ks *Keyspace[K, T]) restarted(p *kpeer[K], inc uint64, now hlc.Timestamp) {
	first := p.inc == 0
	if !first {
		p.left = leftIncarnation(p.left, p.inc, inc)
	}
	p.inc, p.have, p.pending, p.again = inc, 0, nil, nil
	if first {
		return
	}
	p.acked, p.sent, p.maxSent, p.timer, p.behind = 0, 0, 0, 0, 0
	p.marks = nil
	if ks.base > 0 {
		p.behind = now
	}
	p.pass = nil
	p.wantTree = true
	for _, q := range ks.peers {
		if q != p {
			q.wantTree = true
		}
	}
}

// acceptBody applies the body of m, checked, and returns the reply.
func (ks *Keyspace[K, T]) acceptBody(p *kpeer[K], m *ksMessage[K], payloads, locals []T, now hlc.Timestamp) ([]byte, error) {
	switch {
	case m.kind == kindKeyspaceAck:
		return nil, nil
	case m.kind == kindKeyspaceTree && m.reply:
		ks.treeReply(p, m)
		return nil, nil
	case m.kind == kindKeyspaceTree:
		return ks.answerTree(p, m, now), nil
	}
	if err := ks.mergeEntries(p, m.entries, payloads, locals, now); err != nil {
		return nil, err
	}
	switch {
	case m.kind == kindKeyspaceDelta:
		p.received(m.from, m.to)
		if m.from == 0 && len(m.entries) == 0 {
			p.lag.FullStatesReceived++ // a pass's closing message
		}
		// The acknowledgement waits for the next Sync, in the envelope of
		// whatever it sends p: a tick's deltas carry it, and only a peer
		// with nothing else due gets a message of its own.
		p.notice = true
		return nil, nil
	case m.reply:
		if pp := p.pass; pp != nil {
			if _, ok := pp.out[m.request]; ok {
				delete(pp.out, m.request)
				pp.progress = now
			}
		}
		return nil, nil
	}
	return ks.answerStates(p, m)
}

// mergeEntries merges each payload, from p, into its key's state (of
// locals, which admit decoded; a new one where it holds the zero T), queues
// them for the store of a durable keyspace, and buffers those that
// changed a state for the peers that are forwarded what others send.
func (ks *Keyspace[K, T]) mergeEntries(p *kpeer[K], es []ksWire[K], payloads, locals []T, now hlc.Timestamp) error {
	var errs []error
	if ks.commit != nil {
		rec := make([]ksOut, len(es))
		for i, e := range es {
			rec[i] = ksOut{key: e.enc, payload: e.payload}
		}
		ks.store(rec)
	}
	for i, e := range es {
		s := ks.keys[e.key]
		held := s != nil
		state := locals[i]
		if !held {
			s = &kslot[K, T]{key: e.key, kh: keyHash(e.enc)}
			state = ks.newState()
		}
		before := s.contrib
		state.Merge(payloads[i])
		if err := ks.rehash(s, state); err != nil {
			errs = append(errs, err)
			continue
		}
		after := len(s.enc) != 0
		if ks.fwd > 0 && (held != after || after && s.contrib != before) {
			ks.relay(p, s, e, now)
		}
	}
	return errors.Join(errs...)
}

// answerTree answers a tree request from p: the child hashes of every
// node asked about whose hash differs from the one the request carries.
func (ks *Keyspace[K, T]) answerTree(p *kpeer[K], m *ksMessage[K], now hlc.Timestamp) []byte {
	var parents []uint32
	var hashes []byte
	for i, n := range m.nodes {
		if ks.tree.hash(int(n)) == beUint64(m.hashes[ksHashLen*i:]) {
			continue
		}
		parents = append(parents, n)
		hashes = ks.tree.childHashes(hashes, int(n))
	}
	if len(parents) == 0 && len(m.nodes) == 1 && m.nodes[0] == 0 {
		p.lag.Agreed = now
	}
	ks.stats.NodesSent += uint64(treeFanout * len(parents))
	return ks.sent(p, appendKSTree(ks.envelope(m.sender, p, ks.clock.Now()), m.request, true, parents, hashes))
}

// treeReply takes in the answer to a tree request of the pass with p:
// children that differ go on the queue, or, leaves, to the buckets whose
// states are to send. An answer to no outstanding request is ignored, and
// so are parents the request did not ask about.
func (ks *Keyspace[K, T]) treeReply(p *kpeer[K], m *ksMessage[K]) {
	pp := p.pass
	if pp == nil {
		return
	}
	q, ok := pp.out[m.request]
	if !ok {
		return
	}
	delete(pp.out, m.request)
	pp.progress = ks.clock.Last()
	for i, n := range m.nodes {
		if _, asked := slices.BinarySearch(q.nodes, n); !asked {
			continue
		}
		pp.differed = true
		for j := range treeFanout {
			c := treeFanout*int(n) + 1 + j
			if ks.tree.hash(c) == beUint64(m.hashes[(i*treeFanout+j)*ksHashLen:]) {
				continue
			}
			if c >= treeInner {
				pp.leaves = append(pp.leaves, uint32(c-treeInner))
			} else {
				pp.queue = append(pp.queue, uint32(c))
			}
		}
	}
}

// answerStates answers a states message from p, merged: with nothing but
// the request number for a catch-up, and for a push, with the states of
// the keys of the buckets it covers that this keyspace holds and the
// sender lacks, or holds more of — up to the bounds of a message; the
// rest waits for another pass.
func (ks *Keyspace[K, T]) answerStates(p *kpeer[K], m *ksMessage[K]) ([]byte, error) {
	var es []ksOut
	size := 0
	for _, b := range m.buckets {
		for s := range ks.bucket(b) {
			if len(es) >= ksMaxKeys || size >= ksMaxBytes {
				break
			}
			enc := ks.codec.append(nil, s.key)
			i, found := slices.BinarySearchFunc(m.entries, enc, func(e ksWire[K], k []byte) int { return compareBytes(e.enc, k) })
			if found && s.contrib == contribution(s.kh, m.entries[i].payload) {
				continue // the sender's state is ours
			}
			e := ks.stateEntry(s)
			es = append(es, e)
			size += len(e.key) + len(e.payload)
		}
	}
	ks.stats.StatesSent += uint64(len(es))
	if len(m.buckets) == 0 {
		// A catch-up's request: the answer holds no state, and its loss
		// would cost the peer the request's states again (up to
		// ksMaxBytes), so the next Sync answers it once more.
		if len(p.again) == ksWindow {
			p.again = p.again[1:]
		}
		p.again = append(p.again, m.request)
	}
	return ks.sent(p, appendKSStates(ks.envelope(m.sender, p, ks.clock.Now()), m.request, false, true, nil, es)), nil
}
