package merge

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// versioner is a state that reports the largest event counter it holds of
// each writer.
type versioner interface{ Version() *vclock.Clock }

// versionOf returns x's largest event counter of id and whether x counts
// events at all, through VersionOf, which builds no clock, if x has it.
func versionOf(x any, id vclock.ReplicaID) (uint64, bool) {
	if v, ok := x.(interface{ VersionOf(vclock.ReplicaID) uint64 }); ok {
		return v.VersionOf(id), true
	}
	if v, ok := x.(versioner); ok {
		return v.Version().Get(id), true
	}
	return 0, false
}

// stamper is a state that reports the latest timestamp it carries.
type stamper interface{ MaxTimestamp() hlc.Timestamp }

// editor is a state that counts the changes made through its mutators,
// and a delta the mutator calls it joins.
type editor interface{ Edits() uint64 }

// A Replica is one replica of a state of type T, kept in step with its
// peers by delta anti-entropy (see the package documentation). It is
// transport-free: [Replica.Sync] returns the bytes to send to a peer and
// [Replica.Receive] takes the bytes a peer sent, returning the reply to
// send back; the caller moves the bytes, when and how it likes. It starts
// no goroutine and sets no timer: time is read from its [hlc.Clock], so a
// simulator that sets the clock's physical time drives it completely.
//
// A Replica is safe for concurrent use: one mutex guards it, and the
// costly part of Receive — decoding the message and its payload — runs
// before the lock is taken. It must not be copied. Make one with [New];
// the zero Replica is not usable, and its methods panic saying so.
//
// T is the state's pointer type, such as *crdt.ORSet[string]: any
// [crdt.State], converge's types or yours. A payload is merged only once
// the state's ValidateMerge accepts it, and, where T has the optional
// methods crdt.State lists, once its claimed events (Version) and
// timestamps (MaxTimestamp) pass the checks of the package
// documentation; Clamp lets a payload relaying too much be taken in part,
// and Edits lets [Replica.Update] check that its delta records every
// change the callback made.
type Replica[T crdt.State[T]] struct {
	id       vclock.ReplicaID
	clock    *hlc.Clock
	newState func() T
	cfg      config
	nilable  bool // T is a pointer type, so Update's f may return nil

	mu sync.Mutex
	// inc is the incarnation, random; writer the identity the state is
	// written under, derived from it; issued the largest event counter of
	// writer in a delta Update buffered. A peer that claims more of the
	// writer than issued makes the replica renew all three (see renew).
	inc     uint64
	writer  vclock.ReplicaID
	issued  uint64
	renewed hlc.Timestamp // when the last renewal for a claim happened
	state   T
	next    uint64         // deltas issued: the sequence number of the next
	base    uint64         // sequence number of buf[0]; base+len(buf) == next
	buf     fifo[entry[T]] // the deltas some peer may still need
	bufSize int            // their encoded size
	peers   map[vclock.ReplicaID]*peer
	// seen holds, for each writer, the largest event counter of it that
	// its own replica has shown this one (in the payloads it sent), or
	// that this replica holds of its own earlier writers. A payload
	// relayed by another peer is taken only as far (see clampRelayed).
	seen map[vclock.ReplicaID]uint64
	// joined caches the delta-groups [from, to) built for the current to,
	// so that peers behind by different amounts share the work: a group
	// starting earlier extends the nearest later one with the deltas in
	// between, instead of joining its whole range again.
	joined struct {
		to     uint64
		groups map[uint64]group[T] // by from
	}
	marks uint64 // the sequence numbers mark issued, of next
	real  uint64 // 1 + the number of the last delta that is not a mark; 0 if none
	// hole: the deltas [hole, base), dropped from the buffer, are all
	// marks, which a peer lacking them needs nothing of; hole <= base.
	hole     uint64
	digest   Digest
	digestOK bool
	scratch  []byte
	stats    Stats
	// commit appends to the store of a replica made by Open; nil for New.
	commit *committer
	// restored: Open found a state on the store.
	restored bool
}

type entry[T any] struct {
	delta T
	at    hlc.Timestamp // when it was issued
	size  int           // encoded size
}

// peer is what a Replica knows of one peer. Sequence numbers on the
// sending side number this replica's deltas, on the receiving side the
// peer's.
type peer struct {
	// Sending side.
	acked   uint64        // the peer has our deltas [0, acked)
	sent    uint64        // we sent [0, sent) since the last retransmission
	maxSent uint64        // the most we ever sent it: it can acknowledge no more
	timer   hlc.Timestamp // when the retransmission timer started
	rto     time.Duration // the current timeout: backs off while the peer is silent
	behind  hlc.Timestamp // since when the peer needs a full state, if it does
	// Receiving side.
	inc     uint64     // the peer's incarnation; 0 before its first message
	left    []uint64   // incarnations it left, the latest last
	have    uint64     // we have the peer's deltas [0, have)
	pending []interval // merged intervals beyond have, sorted by from
	// Repairs due at the next Sync (see Repairs in the package doc).
	resync     bool          // send the full state: the peer's count of ours is wrong
	wantDigest bool          // send a digest
	awaiting   bool          // a digest went out, and the peer has not answered yet
	notice     bool          // send an acknowledgement even if nothing else is due
	hello      bool          // greet the peer: it has not shown it knows our incarnation
	repaired   hlc.Timestamp // when the last repair went out
	answered   hlc.Timestamp // when the last state answering the peer went out
	refusedRun int           // messages refused in a row
	stateTo    uint64        // a state went with our deltas [0, stateTo): retransmitting below it sends the state
	deferred   bool          // a digest answer was deferred, and no ack came since
	overruled  hlc.Timestamp // when a payload last overruled the state
	lag        PeerLag
}

type interval struct{ from, to uint64 }

// maxBackoff bounds the retransmission timeout, as a multiple of the
// configured one. It is also how long a replica may wait, after a
// partition heals, before it resends what the other side missed: 8 keeps
// that under 10 s with the default timeout while sparing a partitioned
// peer most retransmissions (32 made examples/splitbrain converge 22 s
// after its heal). A caller that knows the link is back can call
// SyncDigest at once.
const maxBackoff = 8

// maxPending bounds the out-of-order intervals remembered per peer;
// forgetting one only delays an acknowledgement.
const maxPending = 16

// repairAfter is the number of messages refused in a row after which a
// Replica asks the peer for a digest exchange.
const repairAfter = 3

// New returns a replica named id whose state starts as newState(), with no
// peers. newState must return a new, empty state each time: Receive calls
// it, outside the lock, to decode payloads into, so it must also be safe
// for concurrent use, as func() *crdt.ORSet[string] { return
// new(crdt.ORSet[string]) } is.
//
// New draws a random incarnation number; the replica writes under the
// writer ID it derives ([Replica.Writer]), so that no event it issues
// can be an event a previous incarnation issued, whatever state it
// restarts from. To restore a persisted state, merge it in with Update
// (see Restarts in the package documentation). New panics if id is
// empty or newState is nil or returns the same value twice.
func New[T crdt.State[T]](id vclock.ReplicaID, newState func() T, opts ...Option) *Replica[T] {
	if id == "" {
		panic("merge: New with an empty ReplicaID")
	}
	if newState == nil {
		panic("merge: New with a nil newState")
	}
	cfg := newConfig(opts)
	r := &Replica[T]{
		id:       id,
		clock:    cfg.clock,
		newState: newState,
		cfg:      cfg,
		nilable:  reflect.TypeFor[T]().Kind() == reflect.Pointer,
		state:    newState(),
		peers:    make(map[vclock.ReplicaID]*peer),
		seen:     make(map[vclock.ReplicaID]uint64),
	}
	if r.nilable && any(newState()) == any(r.state) {
		panic("merge: New: newState returned the same value twice; it must return a new state on each call")
	}
	r.inc = newIncarnation(cfg.random, r.clock.Peek(), 0)
	r.writer = writerOf(id, r.inc)
	return r
}

// mustInit panics on a zero Replica, whose maps are nil.
func (r *Replica[T]) mustInit() {
	if r.peers == nil {
		panic("merge: the zero Replica is not usable: make one with merge.New")
	}
}

// ID returns the replica's ID, which its peers address it by.
func (r *Replica[T]) ID() vclock.ReplicaID { return r.id }

// Writer returns the ID the replica writes under now: its ID, a tilde
// and its incarnation number, such as us-east~0f8k2m4n6p8qr. Update
// passes it to its callback, which writes as it (s.Add(w, e)). It changes
// with each incarnation — each New, and the rare renewal after a peer
// claims events of it that were never issued. [WriterNode] maps a writer
// ID back to the replica's ID.
func (r *Replica[T]) Writer() vclock.ReplicaID {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writer
}

// Clock returns the replica's hybrid logical clock, to stamp writes with
// (crdt.LWWRegister.Set, [Stamp]).
func (r *Replica[T]) Clock() *hlc.Clock { return r.clock }

// Update applies a local change: it calls f with the writer ID to write
// as ([Replica.Writer]) and the state, under the lock, and buffers the
// delta f returns for every peer. f must change the state through
// mutators that return a delta (ORSet.Add, PNCounter.Inc, ...), writing
// as w, and return that delta, or the join of several (d1.Merge(d2)); it
// must not keep the state or the delta, nor call the Replica. A nil delta
// (for a pointer T) means nothing changed and buffers nothing.
//
// Update panics if the callback made more changes than the delta it
// returns records (for a state type that counts them, as the crdt types
// do: see Edits there) — a delta dropped, or the state itself returned —
// because peers that sync by deltas would never see those changes; and if
// the delta holds events written under the replica's bare ID rather than
// w: a restarted replica would reuse them. If the delta carries a
// timestamp ahead of the clock (a write stamped by another clock), the
// clock moves up to it, so that the messages carrying it are not refused
// for it; if that is beyond the max offset, Update returns an error and
// peers will refuse the delta until the clock gets there: stamp writes
// with the Replica's Clock.
//
// Update costs f, one clock reading and one encoding of the delta, to
// measure it for the buffer's byte bound. If the delta cannot be encoded,
// the change stays in the state, Update returns the error, and peers get
// the change with the next full state.
//
// On a replica made by [Open], Update returns once the delta is on the
// store, sharing one Append with the Updates and Receives waiting at the
// same time. If that Append fails, the change stays in the state (and
// may reach peers) but not on the store: Update returns the error,
// matching [ErrClosed], and so does every later call, which changes
// nothing.
func (r *Replica[T]) Update(f func(w vclock.ReplicaID, state T) (delta T)) error {
	r.mustInit()
	seq, err := r.update(f)
	if seq != 0 {
		if werr := r.commit.wait(seq); werr != nil {
			return errors.Join(err, fmt.Errorf("merge: %s storing a delta: %w", r.id, werr))
		}
	}
	return err
}

// update is Update under the lock; it returns the sequence number of the
// record to wait for, for a durable replica, or 0.
func (r *Replica[T]) update(f func(w vclock.ReplicaID, state T) (delta T)) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.commit.usable(); err != nil {
		return 0, fmt.Errorf("merge: %s Update: %w", r.id, err)
	}
	e, counts := any(r.state).(editor)
	var before uint64
	if counts {
		before = e.Edits()
	}
	delta := f(r.writer, r.state)
	r.digestOK = false
	none := false
	if r.nilable {
		var zero T
		none = any(delta) == any(zero)
	}
	if counts {
		var got uint64
		if !none {
			got = any(delta).(editor).Edits()
		}
		if made := e.Edits() - before; got != made {
			panic(fmt.Sprintf("merge: %s: Update's callback made %d changes and returned a delta recording %d; return the delta of each change, joined with Merge, so that peers get them all", r.id, made, got))
		}
	}
	if none {
		return 0, nil
	}
	return r.buffer(delta)
}

// buffer takes in delta, a change of this replica's own: it notes the
// events and the timestamps it holds, numbers it, queues it for the
// store and keeps it for the peers. It returns the store record's
// sequence number to wait for, or 0.
func (r *Replica[T]) buffer(delta T) (uint64, error) {
	var err error
	if v, ok := any(delta).(versioner); ok {
		r.noteOwn(v.Version())
	}
	if s, ok := any(delta).(stamper); ok {
		if ts := s.MaxTimestamp(); ts > r.clock.Last() {
			if _, e := r.clock.Update(ts); e != nil {
				err = fmt.Errorf("merge: %s: the delta carries timestamp %v, which its clock cannot reach: %w", r.id, ts, e)
			}
		}
	}
	r.next++
	r.real = r.next
	at := r.clock.Now()
	if len(r.peers) == 0 && r.commit == nil {
		r.base, r.hole = r.next, r.next // nobody to keep it for
		return 0, err
	}
	b, encErr := delta.AppendBinary(r.scratch[:0])
	if encErr != nil {
		r.dropTo(r.next, at)
		return 0, fmt.Errorf("merge: encoding delta %d: %w", r.next-1, encErr)
	}
	if cap(b) <= 64<<10 {
		r.scratch = b
	}
	var seq uint64
	if r.commit != nil {
		seq = r.commit.queue(slices.Clone(b), r.clock.Last())
	}
	if len(r.peers) == 0 {
		r.base, r.hole = r.next, r.next
		return seq, err
	}
	r.buf.push(entry[T]{delta: delta, at: at, size: len(b)})
	r.bufSize += len(b)
	r.trim(at)
	return seq, err
}

// noteOwn takes in the claims of a delta of this replica's own: the
// events it issued as its writer, and those of other writers it holds (a
// restored state), which it now vouches for.
func (r *Replica[T]) noteOwn(v *vclock.Clock) {
	for w, n := range v.All() {
		switch {
		case w == r.id:
			panic(fmt.Sprintf("merge: %s: Update's delta holds events written as %q, the replica's own ID; write as %s (Replica.Writer), so that a restarted replica never reuses an event", r.id, w, r.writer))
		case w == r.writer:
			r.issued = max(r.issued, n)
		case n > r.seen[w]:
			r.seen[w] = n
		}
	}
}

// Read calls f with the state under the lock. f must not change the
// state, keep it, or call the Replica.
func (r *Replica[T]) Read(f func(state T)) {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.state)
}

// State returns a copy of the state, made with Clone under the lock.
func (r *Replica[T]) State() T {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Clone()
}

// Digest returns the digest of the state. It is cached until the state
// changes; computing it costs one encoding of the state.
func (r *Replica[T]) Digest() (Digest, error) {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.digestLocked()
}

func (r *Replica[T]) digestLocked() (Digest, error) {
	if !r.digestOK {
		d, err := DigestOf(r.state)
		if err != nil {
			return Digest{}, err
		}
		r.digest, r.digestOK = d, true
	}
	return r.digest, nil
}

// AddPeer adds a replica to send deltas to and accept messages from. Peers
// form a full mesh: each replica must add every other (see the package
// documentation). Adding a peer already added does nothing. The new peer
// is sent every buffered delta, or the full state if the buffer no longer
// holds them all. AddPeer fails if id is empty or the replica's own.
func (r *Replica[T]) AddPeer(id vclock.ReplicaID) error {
	r.mustInit()
	if id == "" || id == r.id {
		return fmt.Errorf("merge: %s cannot add %q as a peer", r.id, id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.peers[id]; ok {
		return nil
	}
	// Until the peer shows it knows this incarnation, Sync greets it
	// (see hello): a peer that knew an earlier one then takes this one
	// for a restart, and a digest exchange follows (see restarted), so
	// that a replica restarted from an old state, or none, catches up
	// even if it has nothing to send.
	p := &peer{hello: true}
	p.lag.Peer = id
	if r.hole > 0 {
		p.behind = r.clock.Now()
	}
	// A state restored by Open holds what earlier incarnations wrote and
	// received, which no delta of this one carries: a peer that never
	// heard of them gets them by a digest exchange.
	p.wantDigest = r.restored
	r.peers[id] = p
	return nil
}

// RemovePeer forgets a peer: its messages are refused from then on, and
// deltas kept only for it are dropped. Removing an unknown peer does
// nothing. Claims of a removed peer's writers are no longer checked
// against what it has shown (see Claims in the package documentation):
// remove a replica that is gone for good.
func (r *Replica[T]) RemovePeer(id vclock.ReplicaID) {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.peers, id)
	r.gc(0)
}

// Peers returns the peers in ascending ID order.
func (r *Replica[T]) Peers() []vclock.ReplicaID {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]vclock.ReplicaID, 0, len(r.peers))
	for id := range r.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Sync returns the message to send to peer id now, or nil if there is
// nothing to send: the join of this replica's deltas the peer has not been
// sent (one delta-group), or, once the retransmission timeout has passed
// without an acknowledgement, of all those it has not acknowledged; or the
// full state, if the buffer no longer holds a delta the peer needs. Sync
// sends only this replica's own deltas, never those it received (see Full
// mesh in the package documentation). Call it for each peer after updates
// and from time to time; a message lost on the way is sent again after the
// timeout.
//
// Sync also sends the repairs Receive found due (see Repairs in the
// package documentation): the full state to a peer whose count of this
// replica's deltas is wrong, a digest to a peer whose messages keep being
// refused or that may hold what another peer's claims need, an
// acknowledgement to a peer whose message was refused as stale or that
// greeted this replica, and a greeting to a peer that has not shown it
// knows this incarnation. Each costs at most one message per
// retransmission timeout and peer.
//
// A delta-group costs the join and one encoding of the deltas in it, done
// once for all peers that need the same group; a full state costs one
// encoding of the state.
func (r *Replica[T]) Sync(id vclock.ReplicaID) ([]byte, error) {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.peers[id]
	if !ok {
		return nil, fmt.Errorf("merge: %s syncing with %s: %w", r.id, id, ErrUnknownPeer)
	}
	now := r.clock.Now()
	if p.resync && mayRepair(p.repaired, r.cfg.rto, now) {
		return r.repair(id, p, now)
	}
	msg, err := r.syncDeltas(id, p, now)
	switch {
	case msg != nil || err != nil:
	case (p.wantDigest || p.awaiting) && p.acked >= r.wanted(p) && mayRepair(p.repaired, r.cfg.rto, now):
		// A digest is sent again while unanswered, once per timeout.
		// Only once the peer has all our deltas: a digest that differs
		// for want of deltas in flight would cost a full state.
		return r.repair(id, p, now)
	case p.notice:
		msg = r.reply(p, appendAck(r.envelope(id, p, now)))
	case p.hello && mayRepair(p.repaired, r.cfg.rto, now):
		// A greeting: an acknowledgement of no incarnation, which asks
		// for an acknowledgement in return (see accept), until one comes
		// that knows this incarnation.
		p.repaired = now
		e := r.envelope(id, p, now)
		e.ackInc, e.ack = 0, 0
		msg = r.reply(p, appendAck(e))
	}
	if msg != nil {
		p.notice = false // every message acknowledges
	}
	return msg, err
}

// syncDeltas returns what the delta protocol has for p, or nil.
func (r *Replica[T]) syncDeltas(id vclock.ReplicaID, p *peer, now hlc.Timestamp) ([]byte, error) {
	if p.acked >= r.wanted(p) {
		return nil, nil
	}
	from := p.sent
	if p.rto == 0 {
		p.rto = r.cfg.rto
	}
	if p.sent <= p.acked || r.cfg.rto <= 0 || elapsed(p.timer, now) >= p.rto {
		if p.sent > p.acked { // a retransmission: back off
			p.rto = min(2*p.rto, maxBackoff*r.cfg.rto)
		}
		from = p.acked
		p.timer = now
	} else if from >= r.wanted(p) {
		return nil, nil // all sent; waiting for the acknowledgement
	}
	var msg []byte
	if from < r.hole || from < p.stateTo {
		b, err := r.state.AppendBinary(nil)
		if err != nil {
			return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
		}
		msg = appendState(r.envelope(id, p, now), r.next, false, b)
		p.lag.FullStatesSent++
	} else {
		// Deltas [from, base), if any, are dropped marks: nothing.
		b, err := r.join(max(from, r.base), r.next)
		if err != nil {
			return nil, err
		}
		msg = appendDelta(r.envelope(id, p, now), from, r.next, b)
	}
	p.sent = r.next
	p.maxSent = max(p.maxSent, r.next)
	r.sent(p, msg)
	return msg, nil
}

// sendStateBack returns the state to p, which pushed one holding less
// (see accept). It goes as the delta protocol's message of a sequence
// number of its own (mark): the peer acknowledges it as it does deltas,
// and until it has, a retransmission to it sends the full state again
// (syncDeltas), so that a state lost on the way is sent again as a lost
// delta is.
func (r *Replica[T]) sendStateBack(id vclock.ReplicaID, p *peer, now hlc.Timestamp) ([]byte, error) {
	p.answered = now
	r.mark(now)
	p.stateTo = r.next
	return r.replyState(id, p, false, now)
}

// mark issues a sequence number whose delta is empty, for a state back.
// The other peers do not wait for it: it goes to each with the next
// delta it needs (wanted), in the same message.
func (r *Replica[T]) mark(now hlc.Timestamp) {
	d := r.newState()
	b, err := d.AppendBinary(r.scratch[:0])
	if err != nil { // an empty state encodes; counted as no bytes if not
		b = nil
	}
	r.next++
	r.marks++
	r.buf.push(entry[T]{delta: d, at: now, size: len(b)})
	r.bufSize += len(b)
	r.trim(now)
}

// wanted returns the number of our deltas p is to acknowledge: all those
// issued if a state back to it is not acknowledged yet, else up to the
// last delta that is not a mark — p gets the marks after it with the next
// delta.
func (r *Replica[T]) wanted(p *peer) uint64 {
	if p.stateTo > p.acked {
		return r.next
	}
	return r.real
}

// mayRepair reports whether a repair, or a state answering a digest, may
// go to a peer now, the last having gone at last: at most one of each per
// retransmission timeout, so that a peer, or whoever forges its messages,
// cannot make this replica send more.
func mayRepair(last hlc.Timestamp, rto time.Duration, now hlc.Timestamp) bool {
	return last == 0 || elapsed(last, now) >= max(rto, time.Millisecond)
}

// repair returns the repair due to p: the full state if its count of our
// deltas is wrong, else a digest.
func (r *Replica[T]) repair(id vclock.ReplicaID, p *peer, now hlc.Timestamp) ([]byte, error) {
	p.repaired = now
	p.lag.Repairs++
	if p.resync {
		p.resync = false
		return r.replyState(id, p, false, now)
	}
	p.wantDigest, p.awaiting = false, true
	d, err := r.digestLocked()
	if err != nil {
		return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
	}
	return r.reply(p, appendDigest(r.envelope(id, p, now), false, d)), nil
}

// SyncDigest returns a digest message for peer id: it carries the digest of
// this replica's state. A peer whose state has the same digest answers
// with its own digest message and nothing more, so equal replicas exchange
// only digests. A peer whose state differs answers with its full state,
// asking for this replica's in return if the two still differ once it is
// merged — at most once per retransmission timeout, so that digests
// cannot make it send states faster than that. A new or restarted replica
// calls SyncDigest for each peer to catch up at once; any replica may call
// it from time to time to check that its peers agree. It costs one
// encoding of the state, unless the digest is cached.
func (r *Replica[T]) SyncDigest(id vclock.ReplicaID) ([]byte, error) {
	r.mustInit()
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.peers[id]
	if !ok {
		return nil, fmt.Errorf("merge: %s sending a digest to %s: %w", r.id, id, ErrUnknownPeer)
	}
	d, err := r.digestLocked()
	if err != nil {
		return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
	}
	msg := appendDigest(r.envelope(id, p, r.clock.Now()), false, d)
	r.sent(p, msg)
	return msg, nil
}

// unmarshal decodes a payload into v, within the configured bounds when v
// is a crdt type.
func (r *Replica[T]) unmarshal(v T, b []byte) error {
	if u, ok := any(v).(crdt.Unmarshaler); ok {
		return r.cfg.decode.Unmarshal(b, u)
	}
	return v.UnmarshalBinary(b)
}

// replyState returns a state message for p, stamped now.
func (r *Replica[T]) replyState(id vclock.ReplicaID, p *peer, push bool, now hlc.Timestamp) ([]byte, error) {
	b, err := r.state.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("merge: %s encoding its state: %w", r.id, err)
	}
	msg := appendState(r.envelope(id, p, now), r.next, push, b)
	p.lag.FullStatesSent++
	if p.sent <= p.acked { // nothing was in flight: time this
		p.timer = now
	}
	p.sent = max(p.sent, r.next)
	p.maxSent = max(p.maxSent, r.next)
	return r.reply(p, msg), nil
}

func (r *Replica[T]) reply(p *peer, msg []byte) []byte {
	r.sent(p, msg)
	return msg
}

// sent counts a message to p.
func (r *Replica[T]) sent(p *peer, msg []byte) {
	p.lag.MessagesSent++
	p.lag.BytesSent += uint64(len(msg))
}

func (r *Replica[T]) envelope(id vclock.ReplicaID, p *peer, now hlc.Timestamp) *envelope {
	return &envelope{sender: r.id, recipient: id, inc: r.inc, time: now, ackInc: p.inc, ack: p.have}
}

// received notes that the peer's deltas [from, to) are merged.
func (p *peer) received(from, to uint64) {
	if from > p.have {
		i, _ := slices.BinarySearchFunc(p.pending, from, func(x interval, f uint64) int { return cmpU(x.from, f) })
		switch {
		case i > 0 && p.pending[i-1].to >= from:
			i-- // extends the interval before it
			p.pending[i].to = max(p.pending[i].to, to)
		case i < len(p.pending) && p.pending[i].from <= to:
			p.pending[i].from = from // extends the interval after it
			p.pending[i].to = max(p.pending[i].to, to)
		case len(p.pending) < maxPending:
			p.pending = slices.Insert(p.pending, i, interval{from, to})
		default:
			return
		}
		// Join the intervals it now reaches.
		j := i + 1
		for ; j < len(p.pending) && p.pending[j].from <= p.pending[i].to; j++ {
			p.pending[i].to = max(p.pending[i].to, p.pending[j].to)
		}
		p.pending = slices.Delete(p.pending, i+1, j)
		return
	}
	p.have = max(p.have, to)
	i := 0
	for ; i < len(p.pending) && p.pending[i].from <= p.have; i++ {
		p.have = max(p.have, p.pending[i].to)
	}
	p.pending = p.pending[:copy(p.pending, p.pending[i:])]
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// A group is a joined delta-group and its encoding.
type group[T any] struct {
	delta   T
	payload []byte
}

// join returns the encoding of the join of deltas [from, to), all
// buffered; to is always r.next. Groups built for the same to are kept
// (see joined), so each buffered delta is merged at most once per to.
func (r *Replica[T]) join(from, to uint64) ([]byte, error) {
	if from == to { // only dropped marks: an empty delta
		b, err := r.newState().AppendBinary(nil)
		if err != nil {
			return nil, fmt.Errorf("merge: %s encoding an empty delta: %w", r.id, err)
		}
		return b, nil
	}
	j := &r.joined
	if j.to != to || j.groups == nil {
		j.to = to
		clear(j.groups)
		if j.groups == nil {
			j.groups = make(map[uint64]group[T])
		}
	}
	if g, ok := j.groups[from]; ok {
		return g.payload, nil
	}
	// Extend the nearest cached group that starts after from, if any.
	end, found := to, false
	for f := range j.groups {
		if f > from && (!found || f < end) {
			end, found = f, true
		}
	}
	var d T
	if found {
		d = j.groups[end].delta.Clone()
		for s := from; s < end; s++ {
			d.Merge(r.buf.live()[s-r.base].delta)
		}
	} else {
		// Cached groups are never merged into, so a group of one delta
		// may share the buffered delta itself.
		d = r.buf.live()[from-r.base].delta
		if to-from > 1 {
			d = d.Clone()
			for s := from + 1; s < to; s++ {
				d.Merge(r.buf.live()[s-r.base].delta)
			}
		}
	}
	b, err := d.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("merge: %s encoding deltas [%d, %d): %w", r.id, from, to, err)
	}
	j.groups[from] = group[T]{d, b}
	return b, nil
}

// gc drops the deltas every peer has acknowledged, and the marks after
// the last of them that no peer waits for (see wanted).
func (r *Replica[T]) gc(now hlc.Timestamp) {
	low := r.next
	for _, p := range r.peers {
		if p.acked < r.wanted(p) {
			low = min(low, p.acked)
		}
	}
	r.dropTo(low, now)
}

// trim drops the oldest deltas until the buffer is within its bounds.
func (r *Replica[T]) trim(now hlc.Timestamp) {
	k := max(r.buf.len()-r.cfg.maxDeltas, 0)
	size := r.bufSize
	for _, e := range r.buf.live()[:k] {
		size -= e.size
	}
	for k < r.buf.len() && size > r.cfg.maxBytes {
		size -= r.buf.live()[k].size
		k++
	}
	r.dropTo(r.base+uint64(k), now)
}

// dropTo drops the deltas numbered below to. A peer that has not
// acknowledged one of them, but for marks, now needs a full state: it is
// behind since that delta was issued.
func (r *Replica[T]) dropTo(to uint64, now hlc.Timestamp) {
	if to <= r.base {
		return
	}
	k := int(min(to-r.base, uint64(r.buf.len())))
	hole := r.hole // unless a delta that is not a mark goes (below)
	switch {
	case r.base < r.real && to > r.real:
		hole = r.real // [real, to) are marks
	case r.base < r.real:
		hole = to
	}
	low := to
	for _, p := range r.peers {
		if p.acked >= hole {
			continue // lacks none of them but marks
		}
		low = min(low, p.acked)
		if p.behind == 0 {
			if p.acked >= r.base && p.acked-r.base < uint64(k) {
				p.behind = r.buf.live()[p.acked-r.base].at
			} else {
				p.behind = now
			}
		}
	}
	if low < hole && hole > r.base {
		r.stats.Overflowed += hole - max(low, r.base)
	}
	for _, e := range r.buf.live()[:k] {
		r.bufSize -= e.size
	}
	r.buf.drop(k)
	r.base, r.hole = to, hole
}

// elapsed returns the time from then to now by the clock's physical part.
func elapsed(then, now hlc.Timestamp) time.Duration {
	if now <= then {
		return 0
	}
	return time.Duration(now.Physical()-then.Physical()) * time.Millisecond
}
