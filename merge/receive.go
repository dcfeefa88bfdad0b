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
// A message whose payload claims events of another peer's writer that
// this peer has not shown yet is held, not refused: Receive returns no
// reply and no error, and merges the message as soon as the writer's own
// replica shows those events; the acknowledgement then goes out with the
// next Sync to the sender. [PeerLag].Held counts such messages.
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

// maxHeld bounds the messages held per sender; beyond it the oldest is
// dropped, which only delays what it carried until the sender
// retransmits it.
const maxHeld = 4

// A held message waits for a writer's replica to show the events its
// payload claims.
type held[T any] struct {
	m       message // payload copied: the caller owns the input
	size    int
	value   T
	claims  *vclock.Clock
	waitFor vclock.ReplicaID // the writer
	since   hlc.Timestamp    // when it was held, by this replica's clock
}

// errHold is what checkClaims returns for a payload to hold.
var errHold = errors.New("merge: held")

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
	err = r.admit(p, &m, payload, claims)
	if err != nil && !errors.Is(err, errHold) {
		return nil, r.refuse(m.sender, err)
	}
	now, cerr := r.clock.Update(m.time)
	if cerr != nil {
		if errors.Is(cerr, hlc.ErrClockOffset) {
			r.stats.ClockRejected++
			p.lag.ClockRejected++
		}
		return nil, r.refuse(m.sender, cerr)
	}
	r.noteShown(m.sender, m.time, claims)
	if err != nil {
		r.hold(p, &m, len(msg), payload, claims)
		r.release(now)
		return nil, nil
	}
	reply, err := r.accept(p, &m, len(msg), payload, claims, now, true)
	r.release(now)
	return reply, err
}

// known reports whether id is a peer.
func (r *Replica[T]) known(id vclock.ReplicaID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.peers[id]
	return ok
}

// admit checks m, from p, against the replica before anything changes,
// and returns why it is refused, if it is, or errHold. It only counts and
// marks repairs due.
func (r *Replica[T]) admit(p *peer, m *message, payload T, claims *vclock.Clock) error {
	if m.inc != p.inc && m.time <= p.lag.LastReceived && slices.Contains(p.left, m.inc) {
		// A late or replayed message of an incarnation the peer has
		// left, older than what its current one sent. (A message of a
		// left incarnation newer than that means the peer went back to
		// it: accepted. An incarnation never seen is taken as a restart,
		// whatever its clock says.)
		p.lag.StaleRefused++
		return fmt.Errorf("%w: %s incarnation %d at %v, after incarnation %d at %v", ErrStaleIncarnation, m.sender, m.inc, m.time, p.inc, p.lag.LastReceived)
	}
	if m.ackInc == r.inc && m.ack > p.maxSent {
		// The peer counts more of our deltas than we sent it: a forged
		// or corrupted message made it believe so. The full state, the
		// newest message it has from us, resets its count.
		p.resync = true
		return fmt.Errorf("%w: %s acknowledges %d deltas, %s sent it %d", ErrMalformed, m.sender, m.ack, r.id, p.maxSent)
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
	if claims != nil {
		return r.checkClaims(p, m.sender, m.time, claims)
	}
	return nil
}

// checkClaims checks what a payload from sender claims of each writer
// (see Claims in the package documentation). It returns errHold for a
// payload that claims more of another peer's writer than that peer has
// shown.
func (r *Replica[T]) checkClaims(p *peer, sender vclock.ReplicaID, at hlc.Timestamp, claims *vclock.Clock) error {
	for w, n := range claims.All() {
		if w == r.writer {
			if n <= r.issued {
				continue
			}
			p.lag.ClaimsRefused++
			r.renewForClaim()
			return &ClaimError{Writer: w, Claimed: n, Known: r.issued}
		}
		if r.unconfirmed(sender, w, n, at) {
			return errHold
		}
	}
	return nil
}

// unconfirmed reports whether a claim of n events of writer w, in a
// message sender sent at time at, must wait: w is a writer of another
// peer, which had shown fewer in messages sent before at.
func (r *Replica[T]) unconfirmed(sender, w vclock.ReplicaID, n uint64, at hlc.Timestamp) bool {
	node, _, ok := parseWriter(w)
	if !ok || node == sender || node == r.id {
		return false // not a peer's writer, the sender's own, or ours of an earlier incarnation
	}
	_, peer := r.peers[node]
	return peer && n > r.shown[w].before(at)
}

// waitingFor returns a writer whose confirmation a payload with these
// claims, sent by sender at time at, waits for, or "" if none.
func (r *Replica[T]) waitingFor(sender vclock.ReplicaID, at hlc.Timestamp, claims *vclock.Clock) vclock.ReplicaID {
	for w, n := range claims.All() {
		if w != r.writer && r.unconfirmed(sender, w, n, at) {
			return w
		}
	}
	return ""
}

// noteShown records what a checked payload from sender claims of sender's
// own writers: its replica has shown those events, whether or not the
// message is merged now.
func (r *Replica[T]) noteShown(sender vclock.ReplicaID, at hlc.Timestamp, claims *vclock.Clock) {
	if claims == nil {
		return
	}
	for w, n := range claims.All() {
		if node, _, ok := parseWriter(w); ok && node == sender {
			r.shown[w] = r.shown[w].add(at, n)
		}
	}
}

// hold keeps a checked message until the writer it waits for is
// confirmed, and asks that writer's replica for a digest exchange, in
// case it never shows the events on its own (they are of its past).
func (r *Replica[T]) hold(p *peer, m *message, size int, payload T, claims *vclock.Clock) {
	w := r.waitingFor(m.sender, m.time, claims)
	node, _, _ := parseWriter(w)
	if wp, ok := r.peers[node]; ok {
		wp.wantDigest = true
	}
	h := held[T]{m: *m, size: size, value: payload, claims: claims, waitFor: w, since: r.clock.Last()}
	h.m.payload = slices.Clone(m.payload)
	hs := append(r.held[m.sender], h)
	if len(hs) > maxHeld {
		hs = slices.Delete(hs, 0, len(hs)-maxHeld)
	}
	r.held[m.sender] = hs
	p.lag.Held++
}

// holdFor is how long a message is held at most: long enough for the
// writer's own message, sent before it, to arrive; after that the
// sender's retransmission, sent after, is checked afresh.
func (r *Replica[T]) holdFor() time.Duration { return max(2*r.cfg.rto, time.Second) }

// release merges the held messages whose claims are now confirmed; their
// acknowledgements go out with the next Sync to their senders. A held
// message of an incarnation its sender has left, that now contradicts the
// state, or that waited holdFor, is dropped.
func (r *Replica[T]) release(now hlc.Timestamp) {
	for sender, hs := range r.held {
		p := r.peers[sender]
		keep := hs[:0]
		for _, h := range hs {
			switch {
			case p == nil || h.m.inc != p.inc || elapsed(h.since, now) > r.holdFor():
				continue
			case r.waitingFor(sender, h.m.time, h.claims) != "":
				keep = append(keep, h)
				continue
			}
			if v, ok := any(r.state).(validator[T]); ok && v.ValidateMerge(h.value) != nil {
				continue
			}
			_, _ = r.accept(p, &h.m, h.size, h.value, h.claims, now, false)
		}
		clear(hs[len(keep):])
		if len(keep) == 0 {
			delete(r.held, sender)
		} else {
			r.held[sender] = keep
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
	// from 0: start the numbering over, and send each the full state.
	r.dropTo(r.next, now)
	r.next, r.base = 0, 0
	for _, q := range r.peers {
		q.acked, q.sent, q.maxSent, q.timer = 0, 0, 0, 0
		q.behind = now
	}
	r.joined.to, r.joined.groups = 0, nil
}

// accept applies m, from p, checked and with the clock updated to now.
// With answer false (a held message released) it returns no reply, and
// an acknowledgement is due at the next Sync instead.
func (r *Replica[T]) accept(p *peer, m *message, size int, payload T, claims *vclock.Clock, now hlc.Timestamp, answer bool) ([]byte, error) {
	newest := m.time > p.lag.LastReceived
	p.refusedRun = 0
	p.lag.MessagesReceived++
	p.lag.BytesReceived += uint64(size)
	p.lag.LastReceived = max(p.lag.LastReceived, m.time)
	p.rto = r.cfg.rto // the peer is reachable: stop backing off
	if m.inc != p.inc {
		r.restarted(p, m.inc, now)
	}
	if m.ackInc == r.inc && m.ack > p.acked {
		p.acked = m.ack
		p.sent = max(p.sent, p.acked)
		p.timer = now
		if p.acked >= r.base {
			p.behind = 0
		}
		r.gc(now)
	}
	switch m.kind {
	case kindAck:
		return nil, nil
	case kindDigest:
		return r.answerDigest(p, m, now)
	}
	r.state.Merge(payload)
	r.digestOK = false
	if m.kind == kindState {
		p.lag.FullStatesReceived++
		if newest {
			// The peer's newest word on its deltas: [0, to) is all it
			// has issued, whatever an earlier (perhaps forged) message
			// made us count.
			p.have = m.to
			p.pending = slices.DeleteFunc(p.pending, func(iv interval) bool { return iv.from <= m.to })
		}
		p.received(0, m.to)
		if m.flag && answer {
			d, err := r.digestLocked()
			if err != nil {
				return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
			}
			if d != sha256.Sum256(m.payload) && mayRepair(p.answered, r.cfg.rto, now) { // we hold more than the peer
				p.answered = now
				return r.replyState(m.sender, p, false, r.clock.Now())
			}
		}
	} else {
		p.received(m.from, m.to)
	}
	if !answer {
		p.notice = true
		return nil, nil
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
const maxLeft = 8

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
	// It may have restarted from an old state, or none: a digest
	// exchange gives it back what it lost of others' writes too, which
	// the delta protocol never sends again.
	p.wantDigest = true
}
