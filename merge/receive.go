package merge

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/converge-go/converge/crdt"
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
// earlier incarnation of its sender, what the payload claims (its
// timestamps and its events of this replica's writer; see Claims in the
// package documentation), the state type's ValidateMerge, and the clock
// offset. An acknowledgement of deltas never sent is ignored, and the
// rest of the message taken. A refused
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
//
// On a replica made by [Open], Receive returns once the payload it merged
// is on the store. (The peers of a restarted replica forget what its
// earlier incarnation acknowledged, so an acknowledgement that went out
// before a crash, in another message, loses nothing.) As for Update, a failed Append fails it
// with [ErrClosed], and every later call.
func (r *Replica[T]) Receive(msg []byte) (reply []byte, err error) {
	return r.receiveDurably("", msg)
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
	return r.receiveDurably(from, msg)
}

// receiveDurably is receive, then, for a durable replica, the wait for
// what it merged to be on the store.
func (r *Replica[T]) receiveDurably(from vclock.ReplicaID, msg []byte) ([]byte, error) {
	reply, seq, err := r.receive(from, msg)
	if seq != 0 {
		if werr := r.commit.wait(seq); werr != nil {
			return reply, errors.Join(err, fmt.Errorf("merge: %s storing a payload: %w", r.id, werr))
		}
	}
	return reply, err
}

// clamper is a state that can drop the events of a replica beyond a
// counter (crdt's Clamp).
type clamper interface {
	Clamp(id vclock.ReplicaID, n uint64)
}

func (r *Replica[T]) receive(from vclock.ReplicaID, msg []byte) ([]byte, uint64, error) {
	r.mustInit()
	m, payload, err := r.open(from, msg)
	sender := m.sender // "" if the envelope is bad
	r.mu.Lock()
	defer r.mu.Unlock()
	if cerr := r.commit.usable(); cerr != nil {
		return nil, 0, fmt.Errorf("merge: %s Receive: %w", r.id, cerr)
	}
	if err != nil {
		return nil, 0, r.refuse(sender, err)
	}
	p, ok := r.peers[m.sender]
	if !ok { // removed while the payload was decoded
		return nil, 0, r.refuse(m.sender, fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender))
	}
	var claims *vclock.Clock
	if m.payload != nil {
		if v, ok := any(payload).(versioner); ok {
			claims = v.Version()
		}
	}
	overruled, n, err := r.admit(p, &m, payload, claims)
	if err != nil {
		if errors.Is(err, ErrUnissued) {
			// Events of our writer we never issued: whoever holds this
			// context would swallow our next events as removed.
			r.renewForClaim()
		}
		return nil, 0, r.refuse(m.sender, err)
	}
	now, err := r.clock.Update(m.time)
	if err != nil {
		if errors.Is(err, hlc.ErrClockOffset) {
			r.stats.ClockRejected++
			p.lag.ClockRejected++
		}
		return nil, 0, r.refuse(m.sender, err)
	}
	if overruled != nil {
		r.state = *overruled
		r.digestOK = false
		p.lag.Overruled += uint64(n)
		p.wantDigest = true
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

// open decodes msg, from from ("" if the transport does not say), checks
// its addresses and sender, and decodes its payload, if any, outside the
// lock.
func (r *Replica[T]) open(from vclock.ReplicaID, msg []byte) (m message, payload T, err error) {
	m, err = decodeMessage(msg, wire.Limits(r.cfg.decode))
	if err == nil {
		err = m.addressed(from, r.id)
	}
	switch {
	case err != nil:
		return m, payload, err
	case !r.known(m.sender):
		return m, payload, fmt.Errorf("%w: %s", ErrUnknownPeer, m.sender)
	}
	if m.payload != nil {
		payload = r.newState()
		err = r.unmarshal(payload, m.payload)
	}
	return m, payload, err
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
// marks repairs due. If the sender overrules events of the state (see
// validate), it returns the state to put in place, and their number.
func (r *Replica[T]) admit(p *peer, m *message, payload T, claims *vclock.Clock) (overruled *T, n int, err error) {
	if w := writerOf(m.sender, m.inc); r.retiredWriter(w) {
		p.lag.RetiredRefused++
		return nil, 0, fmt.Errorf("%w: %s", ErrRetired, w)
	}
	if p.inc != 0 && m.inc != p.inc && m.time <= p.lag.LastReceived {
		// A message of another incarnation than the current one, and
		// older than what the current one sent: a late or replayed
		// message of an incarnation the peer has left. (A newer one is
		// a restart.) If it is in fact a restart whose clock went back,
		// the acknowledgement due carries this replica's clock, which
		// moves the peer's past its old one.
		p.notice = true
		p.lag.StaleRefused++
		return nil, 0, fmt.Errorf("%w: %s incarnation %d at %v, after incarnation %d at %v", ErrStaleIncarnation, m.sender, m.inc, m.time, p.inc, p.lag.LastReceived)
	}
	if m.payload == nil {
		return nil, 0, nil
	}
	if s, ok := any(payload).(stamper); ok {
		if ts := s.MaxTimestamp(); ts > m.time {
			p.lag.ClaimsRefused++
			return nil, 0, fmt.Errorf("%w: the payload carries timestamp %v, the message was sent at %v", ErrFutureTimestamp, ts, m.time)
		}
	}
	if claims != nil && claims.Get(r.writer) > r.issued {
		p.lag.ClaimsRefused++
		return nil, 0, &ClaimError{Writer: r.writer, Claimed: claims.Get(r.writer), Known: r.issued}
	}
	if rt, ok := any(payload).(retirer[T]); ok {
		if err := r.liveCovered(rt.Retired()); err != nil {
			p.lag.ClaimsRefused++
			return nil, 0, err
		}
	}
	return r.validate(p, m.sender, payload)
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
	r.inc = newIncarnation(r.cfg.random, now, r.inc)
	r.writer = writerOf(r.id, r.inc)
	r.issued = 0
	// Peers take the new incarnation for a restart and number its deltas
	// from 0. Start the numbering over at 1, as if delta 0 had been the
	// whole state and was dropped from the buffer: each peer gets the full
	// state, sent again until it acknowledges it.
	r.dropTo(r.next, now)
	r.next, r.base, r.hole, r.marks, r.real = 1, 1, 1, 0, 1
	for _, q := range r.peers {
		q.acked, q.sent, q.maxSent, q.timer, q.stateTo = 0, 0, 0, 0, 0
		q.behind, q.hello = now, true
	}
	r.joined.to, r.joined.groups = 0, nil
}

// accept applies m, from p, checked and with the clock updated to now.
// A partial payload (see clampRelayed) is merged but not acknowledged:
// what it lacks is the sender's too — its removal of events this replica
// has not seen yet — so the sender must send it again once they are.
func (r *Replica[T]) accept(p *peer, m *message, size int, payload T, partial bool, now hlc.Timestamp) ([]byte, uint64, error) {
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
	r.takeAck(p, m, newest, now)
	if (m.kind == kindState || m.kind == kindDigest) && m.flag {
		p.awaiting = false // the peer answered a digest: equal, or with its state
	}
	switch m.kind {
	case kindAck:
		return nil, 0, nil
	case kindDigest:
		reply, err := r.answerDigest(p, m, now)
		return reply, 0, err
	}
	r.state.Merge(payload)
	r.takeRetired(payload)
	r.digestOK = false
	var seq uint64
	if r.commit != nil {
		seq = r.commit.queue(slices.Clone(m.payload), r.clock.Last())
	}
	p.took(m, partial, newest)
	if m.kind == kindState && m.flag {
		// A state pushed in answer to our digest: send ours back if it
		// holds more — partial or not, or what we hold and the peer
		// lacks would wait for another exchange that nothing starts —
		// and again until the peer acknowledges it (sendStateBack): the
		// pusher does not know it is due, and would not ask again. Not
		// if a state went to the peer within the timeout: our answer to
		// its digest, which it asks for again until it comes, or a state
		// back, sent again until acknowledged. Either holds all we held
		// before this payload, and the peer holds the payload.
		d, err := r.digestLocked()
		if err != nil {
			return nil, seq, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
		}
		if d != sha256.Sum256(m.payload) && mayRepair(p.answered, r.cfg.rto, now) {
			reply, err := r.sendStateBack(m.sender, p, r.clock.Now())
			return reply, seq, err
		}
	}
	return r.reply(p, appendAck(r.envelope(m.sender, p, r.clock.Now()))), seq, nil
}

// takeAck takes in the acknowledgement of m, from p; newest says m is
// the newest message from p.
func (r *Replica[T]) takeAck(p *peer, m *message, newest bool, now hlc.Timestamp) {
	switch {
	case m.ackInc != r.inc:
	case m.ack > p.acked:
		p.acked = m.ack
		p.sent = max(p.sent, p.acked)
		p.timer = now
		p.deferred = false
		if p.acked >= r.hole {
			p.behind = 0
		}
		r.gc(now)
	case m.ack < p.acked && newest:
		// The peer's newest word is that it has fewer of our deltas than
		// it acknowledged: it lost count (a forged message made it take
		// us for restarted). Send again from there.
		p.acked, p.sent, p.timer = m.ack, m.ack, 0
		if p.acked < r.hole && p.behind == 0 {
			p.behind = now
		}
	}
}

// took records that p's payload, of m, was merged: which of p's deltas
// the replica now has. A partial one counts for none.
func (p *peer) took(m *message, partial, newest bool) {
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
	default:
		p.received(m.from, m.to)
	}
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
	case p.acked < r.wanted(p) && p.acked >= r.hole && !p.deferred:
		// Deltas to the peer are in flight, and the buffer covers them:
		// they may be all the difference, and cost less than the state.
		// The peer asks again if its digest still differs once it has
		// them. Once: if it asks again before acknowledging more, the
		// deltas are not enough — it merges them in part, for want of
		// what it asks the digest for — and the answer must not be held
		// back for good.
		p.deferred = true
		p.lag.StatesDeferred++
		return nil, nil
	case !mayRepair(p.answered, r.cfg.rto, now):
		p.lag.StatesDeferred++
		return nil, nil
	}
	p.answered, p.deferred = now, false
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

// maxOverrule bounds the events validate drops for one payload.
const maxOverrule = 16

// validate checks payload, from sender (p), against the state. An event
// whose data differs in the two was forged, or relayed altered, on one
// side, and its writer's replica is where it comes from: that replica
// decides. A payload of the writer's own replica (any incarnation)
// overrules the state: validate returns a copy of the state without that
// event and the writer's later ones (Clamp), which passes the check, for
// the caller to put in place once the message is accepted; a digest
// exchange with the sender brings back the events that were right. (The
// copy costs O(state): at most one per retransmission timeout per peer;
// a message refused for it is sent again.) An event of this replica's
// own writers is this replica's to decide: the payload is refused, and
// the sender gets the full state, which overrules its copy. For any
// other writer the payload is refused and a digest exchange with the
// writer's replica is due, whose state overrules whichever side is
// wrong; after it this sender's payload passes. So a forged event costs
// rounds, never a link.
func (r *Replica[T]) validate(p *peer, sender vclock.ReplicaID, payload T) (overruled *T, n int, err error) {
	err = r.state.ValidateMerge(payload)
	var copied T
	for n = 0; err != nil; n++ {
		var ve *crdt.ValidationError
		if !errors.As(err, &ve) || ve.Writer == "" {
			return nil, 0, err
		}
		node, _, isWriter := parseWriter(ve.Writer)
		switch {
		case !isWriter:
			return nil, 0, err
		case node == r.id:
			p.resync = true
			return nil, 0, err
		case node != sender || ve.Counter == 0 || n == maxOverrule:
			if q, ok := r.peers[node]; ok && node != sender {
				q.wantDigest = true
			}
			return nil, 0, err
		}
		if n == 0 {
			if !mayRepair(p.overruled, r.cfg.rto, r.clock.Last()) {
				return nil, 0, err
			}
			copied = r.state.Clone()
		}
		c, clamps := any(copied).(clamper)
		if !clamps {
			return nil, 0, err
		}
		c.Clamp(ve.Writer, ve.Counter-1)
		err = copied.ValidateMerge(payload)
	}
	if n == 0 {
		return nil, 0, nil
	}
	p.overruled = r.clock.Last()
	return &copied, n, nil
}

// maxLeft bounds the incarnations remembered per peer as left.
const maxLeft = 32

// leftIncarnation returns left, the incarnations a peer has left, with
// old added as it moves to inc: the newest maxLeft, so that late messages
// of those are refused.
func leftIncarnation(left []uint64, old, inc uint64) []uint64 {
	left = append(slices.DeleteFunc(left, func(i uint64) bool { return i == inc || i == old }), old)
	if len(left) > maxLeft {
		left = slices.Delete(left, 0, len(left)-maxLeft)
	}
	return left
}

// restarted starts over with a peer whose incarnation changed: it
// restarted and may have lost what it had of ours, and numbers its deltas
// afresh. On first contact there is nothing to forget on our side. The
// incarnation it left is remembered, so that its late messages are
// refused.
func (r *Replica[T]) restarted(p *peer, inc uint64, now hlc.Timestamp) {
	first := p.inc == 0
	if !first {
		p.left = leftIncarnation(p.left, p.inc, inc)
	}
	p.inc, p.have, p.pending = inc, 0, nil
	p.stateTo = 0 // the digest exchange below replaces a state back in flight
	if first {
		return
	}
	// What it holds of our deltas is unknown until its new incarnation
	// acknowledges: its first messages may be a greeting, which
	// acknowledges nothing, ahead of an acknowledgement of all it has
	// (a replica that replayed our deltas from a log as it restarted).
	// So our deltas count as sent and unacknowledged, and the fallback
	// from nothing — the full state when the buffer no longer starts at
	// 0 — waits one retransmission timeout for that acknowledgement.
	p.acked, p.sent, p.timer, p.behind = 0, r.next, now, 0
	if r.hole > 0 {
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
