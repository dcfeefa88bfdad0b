package merge

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// Receive takes a message from a peer, merges what it carries and returns
// the reply to send back to that peer, or nil if none is due: an
// acknowledgement for deltas and states, the answer to a digest. Receive
// checks the whole message before it changes anything, in this order:
// the checksum and the envelope; the recipient and the sender, a known
// peer, before the payload is decoded; the payload, decoded within
// [crdt.DecodeOptions] bounds; then the message against the replica — an
// earlier incarnation of its sender, an acknowledgement of deltas never
// sent, the clock offset, the state type's ValidateMerge, and what the
// payload claims (see Claims in the package documentation). A refused
// message returns a [*MessageError], is counted, and leaves the state as
// it was; a refusal that needs a repair schedules it for the next Sync
// (see Repairs). Duplicated, reordered and stale messages of the current
// incarnation are accepted and harmless.
//
// A payload that relays events of another peer's writer which that peer
// has not shown this replica yet is merged only in part: without those
// events (see Claims in the package documentation), and without being
// acknowledged, so that the sender sends it again, to be checked afresh.
// [PeerLag].Partial counts such messages.
//
// Once a message is accepted, Receive fails only if the reply cannot be
// encoded (the state's AppendBinary fails); the message is merged all the
// same. Decoding costs O(message) and runs before the lock is taken;
// merging costs what the state's Merge costs.
func (r *Replica[T]) Receive(msg []byte) (reply []byte, err error) {
	return r.receive("", msg)
}

// ReceiveFrom is Receive for a message that the transport has
// authenticated as coming from peer from (mTLS, a signed channel): a
// message naming another sender is refused with [ErrMisaddressed]. With
// authenticated peers, a peer can speak only for itself, which the checks
// on claims rely on (see Claims in the package documentation).
func (r *Replica[T]) ReceiveFrom(from vclock.ReplicaID, msg []byte) (reply []byte, err error) {
	if from == "" {
		return nil, fmt.Errorf("merge: ReceiveFrom with an empty sender")
	}
	return r.receive(from, msg)
}

// clamper is a state that can drop the events of a replica beyond a
// counter (crdt's Clamp).
type clamper interface {
	Clamp(id vclock.ReplicaID, n uint64)
}

func (r *Replica[T]) receive(from vclock.ReplicaID, msg []byte) ([]byte, error) {
	r.mustInit()
	m, err := decodeMessage(msg, wire.Limits(r.cfg.decode))
	if err == nil {
		switch {
		case from != "" && m.sender != from:
			err = fmt.Errorf("%w: a message from %s names %s as its sender", ErrMisaddressed, from, m.sender)
		case string(m.recipient) != string(r.id):
			err = fmt.Errorf("%w: %s is not %s", ErrMisaddressed, m.recipient, r.id)
		}
	}
	sender := m.sender // "" if the envelope is bad
	if err == nil && !r.known(m.sender) {
		err = fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender)
	}
	var payload T
	if err == nil && m.payload != nil {
		payload = r.newState()
		err = r.unmarshal(payload, m.payload)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		return nil, r.refuse(sender, err)
	}
	p, ok := r.peers[m.sender]
	if !ok { // removed while the payload was decoded
		return nil, r.refuse(m.sender, fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender))
	}
	var claims *vclock.Clock
	if m.payload != nil {
		if v, ok := any(payload).(versioner); ok {
			claims = v.Version()
		}
	}
	if err := r.admit(p, &m, payload, claims); err != nil {
		if errors.Is(err, ErrUnissued) {
			// Events of our writer we never issued: whoever holds this
			// context would swallow our next events as removed.
			r.renewForClaim()
		}
		return nil, r.refuse(m.sender, err)
	}
	now, err := r.clock.Update(m.time)
	if err != nil {
		if errors.Is(err, hlc.ErrClockOffset) {
			r.stats.ClockRejected++
			p.lag.ClockRejected++
		}
		return nil, r.refuse(m.sender, err)
	}
	if m.ackInc == r.inc && m.ack > p.maxSent {
		// The peer counts more of our deltas than we sent it: a forged
		// or corrupted message made it believe so. The acknowledgement is
		// ignored, and the rest of the message taken (refusing it would
		// refuse the peer's repairs too, which carry the same count); the
		// full state, the newest message it has from us, resets its
		// count.
		p.resync = true
		p.lag.AcksIgnored++
		m.ackInc, m.ack = 0, 0
	}
	r.noteShown(m.sender, claims)
	partial := claims != nil && r.clampRelayed(p, m.sender, payload, claims)
	return r.accept(p, &m, len(msg), payload, partial, now)
}

// known reports whether id is a peer.
func (r *Replica[T]) known(id vclock.ReplicaID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.peers[id]
	return ok
}

// admit checks m, from p, against the replica before anything changes,
// and returns why it is refused, if it is. It only counts refusals and
// marks an acknowledgement due.
func (r *Replica[T]) admit(p *peer, m *message, payload T, claims *vclock.Clock) error {
	if p.inc != 0 && m.inc != p.inc && m.time <= p.lag.LastReceived {
		// A message of another incarnation than the current one, and
		// older than what the current one sent: a late or replayed
		// message of an incarnation the peer has left. (A newer one is
		// a restart.) If it is in fact a restart whose clock went back,
		// the acknowledgement due carries this replica's clock, which
		// moves the peer's past its old one.
		p.notice = true
		p.lag.StaleRefused++
		return fmt.Errorf("%w: %s incarnation %d at %v, after incarnation %d at %v", ErrStaleIncarnation, m.sender, m.inc, m.time, p.inc, p.lag.LastReceived)
	}
	if m.payload == nil {
		return nil
	}
	if v, ok := any(r.state).(validator[T]); ok {
		if err := v.ValidateMerge(payload); err != nil {
			return err
		}
	}
	if s, ok := any(payload).(stamper); ok {
		if ts := s.MaxTimestamp(); ts > m.time {
			p.lag.ClaimsRefused++
			return fmt.Errorf("%w: the payload carries timestamp %v, the message was sent at %v", ErrFutureTimestamp, ts, m.time)
		}
	}
	if claims != nil && claims.Get(r.writer) > r.issued {
		p.lag.ClaimsRefused++
		return &ClaimError{Writer: r.writer, Claimed: claims.Get(r.writer), Known: r.issued}
	}
	return nil
}

// clampRelayed drops from a payload from sender the events of other
// peers' writers beyond those the writers have issued, as far as this
// replica knows — the largest counter each writer's own replica has
// shown it (see Claims in the package documentation) — and reports
// whether it dropped any. Such events may be forged, and would swallow
// the writer's next events; or the writer's message carrying them is
// still on its way. Either way, what the writer issued comes from the
// writer, and the sender sends its payload again: it is not
// acknowledged. Each such writer's replica is asked for a digest
// exchange, in case it never shows the events on its own (they are of
// its past).
//
// Claims of the sender's own writers, and of replicas that are not peers
// (one removed for good, say), are taken as they are, and so are claims
// of this replica's earlier writers, which nobody can vouch for better:
// learning events of those, the replica passes them on with a digest
// exchange with every other peer.
func (r *Replica[T]) clampRelayed(p *peer, sender vclock.ReplicaID, payload T, claims *vclock.Clock) bool {
	c, ok := any(payload).(clamper)
	if !ok {
		return false
	}
	partial := false
	for w, n := range claims.All() {
		node, _, isWriter := parseWriter(w)
		switch {
		case !isWriter || node == sender || w == r.writer:
		case node == r.id:
			if n > r.seen[w] {
				r.seen[w] = n
				r.digestOthers(p)
			}
		default:
			if wp, peer := r.peers[node]; peer && n > r.seen[w] {
				c.Clamp(w, r.seen[w])
				wp.wantDigest = true
				partial = true
			}
		}
	}
	return partial
}

// noteShown records what a payload from sender claims of sender's own
// writers: its replica has shown those events.
func (r *Replica[T]) noteShown(sender vclock.ReplicaID, claims *vclock.Clock) {
	if claims == nil {
		return
	}
	for w, n := range claims.All() {
		if node, _, ok := parseWriter(w); ok && node == sender && n > r.seen[w] {
			r.seen[w] = n
		}
	}
}

// renewForClaim starts a new incarnation, and so a new writer, after a
// peer claimed events of the current writer that were never issued: the
// peer holds a context that would swallow the writer's next events, and
// may have passed it on. At most one renewal per retransmission timeout.
func (r *Replica[T]) renewForClaim() {
	now := r.clock.Now()
	if r.renewed != 0 && elapsed(r.renewed, now) < max(r.cfg.rto, time.Millisecond) {
		return
	}
	r.renewed = now
	r.stats.Renewals++
	r.inc = newIncarnation(r.cfg.random)
	r.writer = writerOf(r.id, r.inc)
	r.issued = 0
	// Peers take the new incarnation for a restart and number its deltas
	// from 0. Start the numbering over at 1, as if delta 0 had been the
	// whole state and was dropped from the buffer: each peer gets the full
	// state, sent again until it acknowledges it.
	r.dropTo(r.next, now)
	r.next, r.base = 1, 1
	for _, q := range r.peers {
		q.acked, q.sent, q.maxSent, q.timer = 0, 0, 0, 0
		q.behind, q.hello = now, true
	}
	r.joined.to, r.joined.groups = 0, nil
}

// accept applies m, from p, checked and with the clock updated to now.
// A partial payload (see clampRelayed) is merged but not acknowledged:
// what it lacks is the sender's too — its removal of events this replica
// has not seen yet — so the sender must send it again once they are.
func (r *Replica[T]) accept(p *peer, m *message, size int, payload T, partial bool, now hlc.Timestamp) ([]byte, error) {
	newest := m.time > p.lag.LastReceived
	p.refusedRun = 0
	p.lag.MessagesReceived++
	p.lag.BytesReceived += uint64(size)
	p.lag.LastReceived = max(p.lag.LastReceived, m.time)
	p.rto = r.cfg.rto // the peer is reachable: stop backing off
	if m.inc != p.inc {
		r.restarted(p, m.inc, now)
	}
	if m.ackInc == r.inc {
		p.hello = false // it knows this incarnation
	} else if m.kind == kindAck && m.ackInc == 0 {
		p.notice = true // a greeting, or an ack from a peer that knows us not: tell it
	}
	switch {
	case m.ackInc != r.inc:
	case m.ack > p.acked:
		p.acked = m.ack
		p.sent = max(p.sent, p.acked)
		p.timer = now
		if p.acked >= r.base {
			p.behind = 0
		}
		r.gc(now)
	case m.ack < p.acked && newest:
		// The peer's newest word is that it has fewer of our deltas than
		// it acknowledged: it lost count (a forged message made it take
		// us for restarted). Send again from there.
		p.acked, p.sent, p.timer = m.ack, m.ack, 0
		if p.acked < r.base && p.behind == 0 {
			p.behind = now
		}
	}
	if (m.kind == kindState || m.kind == kindDigest) && m.flag {
		p.awaiting = false // the peer answered a digest: equal, or with its state
	}
	switch m.kind {
	case kindAck:
		return nil, nil
	case kindDigest:
		return r.answerDigest(p, m, now)
	}
	r.state.Merge(payload)
	r.digestOK = false
	switch {
	case partial:
		p.lag.Partial++
	case m.kind == kindState:
		p.lag.FullStatesReceived++
		if newest {
			// The peer's newest word on its deltas: [0, to) is all it
			// has issued, whatever an earlier (perhaps forged) message
			// made us count.
			p.have = m.to
			p.pending = slices.DeleteFunc(p.pending, func(iv interval) bool { return iv.from <= m.to })
		}
		p.received(0, m.to)
		if m.flag {
			d, err := r.digestLocked()
			if err != nil {
				return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
			}
			if d != sha256.Sum256(m.payload) && mayRepair(p.answered, r.cfg.rto, now) { // we hold more than the peer
				p.answered = now
				return r.replyState(m.sender, p, false, r.clock.Now())
			}
		}
	default:
		p.received(m.from, m.to)
	}
	return r.reply(p, appendAck(r.envelope(m.sender, p, r.clock.Now()))), nil
}

// answerDigest answers a digest message from p.
func (r *Replica[T]) answerDigest(p *peer, m *message, now hlc.Timestamp) ([]byte, error) {
	d, err := r.digestLocked()
	if err != nil {
		return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
	}
	if d == m.digest {
		p.lag.Agreed = now
	}
	switch {
	case m.flag: // an answer: nothing more to say
		return nil, nil
	case d == m.digest:
		return r.reply(p, appendDigest(r.envelope(m.sender, p, r.clock.Now()), true, d)), nil
	case p.acked < r.next && p.acked >= r.base:
		// Deltas to the peer are in flight, and the buffer covers them:
		// they may be all the difference, and cost less than the state.
		// The peer asks again if its digest still differs once it has
		// them.
		p.lag.StatesDeferred++
		return nil, nil
	case !mayRepair(p.answered, r.cfg.rto, now):
		p.lag.StatesDeferred++
		return nil, nil
	}
	p.answered = now
	return r.replyState(m.sender, p, true, r.clock.Now())
}

// refuse counts a refused message and wraps its reason. Refusals in a row
// from one peer make a digest exchange with it due (see Repairs).
func (r *Replica[T]) refuse(from vclock.ReplicaID, err error) error {
	r.stats.Rejected++
	if p, ok := r.peers[from]; ok {
		p.lag.Rejected++
		if p.refusedRun++; p.refusedRun >= repairAfter {
			p.refusedRun = 0
			p.wantDigest = true
		}
	}
	return &MessageError{From: from, Err: err}
}

// maxLeft bounds the incarnations remembered per peer as left.
const maxLeft = 32

// restarted starts over with a peer whose incarnation changed: it
// restarted and may have lost what it had of ours, and numbers its deltas
// afresh. On first contact there is nothing to forget on our side. The
// incarnation it left is remembered, so that its late messages are
// refused.
func (r *Replica[T]) restarted(p *peer, inc uint64, now hlc.Timestamp) {
	first := p.inc == 0
	if !first {
		p.left = append(slices.DeleteFunc(p.left, func(i uint64) bool { return i == inc || i == p.inc }), p.inc)
		if len(p.left) > maxLeft {
			p.left = slices.Delete(p.left, 0, len(p.left)-maxLeft)
		}
	}
	p.inc, p.have, p.pending = inc, 0, nil
	if first {
		return
	}
	p.acked, p.sent, p.timer, p.behind = 0, 0, 0, 0
	if r.base > 0 {
		p.behind = now
	}
	// It may have restarted from an old state, or none, and its writer of
	// before is gone: what that writer sent some peers and not others, or
	// what others sent it, only digest exchanges pass on. One with each
	// peer, the restarted one included.
	p.wantDigest = true
	r.digestOthers(p)
}

// digestOthers makes a digest exchange due with every peer but p.
func (r *Replica[T]) digestOthers(p *peer) {
	for _, q := range r.peers {
		if q != p {
			q.wantDigest = true
		}
	}
}
