package merge

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// Bounds of what a Keyspace sends in one message (see Keyspaces in the
// package documentation): at most ksMaxKeys keys, and no more keys once
// ksMaxBytes of payload are in (a single key's state larger than that
// goes alone). ksWindow bounds the requests of a pass awaiting a reply.
const (
	ksMaxKeys  = 1024
	ksProbe    = 16 // keys a message to a silent peer holds at most
	ksMaxBytes = 256 << 10
	ksWindow   = 8
)

// kpeer is what a Keyspace knows of one peer: the Replica's bookkeeping,
// and the pass under way with it, if any.
type kpeer[K Key] struct {
	peer
	kpeerConfig
	pass     *ksPass[K]
	wantTree bool       // a tree pass is due
	marks    []sentMark // the messages of deltas sent and not acknowledged (see syncDeltas)
	again    []uint64   // catch-up requests of the peer's answered once, to answer again (see answerStates)
}

// A ksPass brings a peer up to this keyspace's state without the delta
// buffer: a catch-up (the states of the keys written since the peer's
// acknowledgement) or a tree pass (the states of the keys in the buckets
// where the two trees differ). Once every request is answered, the peer
// holds every delta below mark, which the closing message tells it.
type ksPass[K Key] struct {
	tree     bool
	mark     uint64   // the keyspace's next delta when the pass began
	keys     []K      // catch-up: keys whose states are still to send
	queue    []uint32 // tree: inner nodes to ask the peer about
	leaves   []uint32 // tree: buckets found differing, whose states are still to send
	out      map[uint64]ksRequest[K]
	progress hlc.Timestamp // when a request last went out to an idle peer, or a reply came
	differed bool          // a tree pass found a node that differs
	closed   hlc.Timestamp // when the closing message last went
}

// A ksRequest is what one request of a pass asked for, to ask again if
// its reply does not come.
type ksRequest[K Key] struct {
	keys   []K
	nodes  []uint32
	leaves []uint32
}

func (pp *ksPass[K]) resolved() bool {
	return len(pp.out) == 0 && len(pp.keys) == 0 && len(pp.queue) == 0 && len(pp.leaves) == 0
}

// requeue puts every outstanding request back to be sent again.
// They go in the order they were first sent, whatever the map's order.
func (pp *ksPass[K]) requeue() {
	for _, id := range slices.Sorted(maps.Keys(pp.out)) {
		q := pp.out[id]
		pp.keys = append(pp.keys, q.keys...)
		pp.queue = append(pp.queue, q.nodes...)
		pp.leaves = append(pp.leaves, q.leaves...)
	}
	clear(pp.out)
}

// AddPeer adds a keyspace to send deltas to and accept messages from.
// Without options, peers form a full mesh, as a Replica's do: each is
// sent the deltas of this keyspace's own writes. [Forward] and [Remote]
// make the keyspace forward the peer what it receives from others, for a
// partial mesh (see Topologies in the package documentation). Adding a
// peer already added does nothing, whatever the options. The new peer is
// sent every buffered delta, or, if the buffer no longer holds them all,
// a catch-up: the states of the keys this incarnation buffered a delta
// for. AddPeer fails if id is empty or the keyspace's own.
func (ks *Keyspace[K, T]) AddPeer(id vclock.ReplicaID, opts ...PeerOption) error {
	ks.mustInit()
	if id == "" || id == ks.id {
		return fmt.Errorf("merge: %s cannot add %q as a peer", ks.id, id)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, ok := ks.peers[id]; ok {
		return nil
	}
	p := &kpeer[K]{}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&p.kpeerConfig)
		}
	}
	if p.forward {
		ks.fwd++
	}
	p.hello = true
	p.wantTree = ks.restored // compare notes after a restart
	p.lag.Peer = id
	if ks.base > 0 {
		p.behind = ks.clock.Now()
	}
	ks.peers[id] = p
	return nil
}

// RemovePeer forgets a peer: its messages are refused from then on, and
// deltas kept only for it are dropped. Removing an unknown peer does
// nothing.
func (ks *Keyspace[K, T]) RemovePeer(id vclock.ReplicaID) {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if p, ok := ks.peers[id]; ok && p.forward {
		ks.fwd--
	}
	delete(ks.peers, id)
	ks.gc(0)
}

// Sync returns the next message to send to peer id now, or nil if there
// is nothing to send. Call it until it returns nil: a message holds at
// most 1024 keys (and, past 256 KiB of states, no further key), so the
// deltas of many keys, or a catch-up, take several. In order, Sync sends:
//
//   - what a pass under way with the peer has due (see Keyspaces in the
//     package documentation): a catch-up's states, a tree pass's node
//     hashes and leaf states, its requests again once the retransmission
//     timeout passes without a reply, and the closing message;
//   - the peer's buffered deltas, joined per key, as a Replica sends its
//     own: this keyspace's, and, to a peer added with [Forward] or
//     [Remote], those it received from others that it forwards; a peer that
//     fell behind the buffer gets a catch-up instead, and a tree pass if
//     it restarted or its messages keep being refused;
//   - an acknowledgement or a greeting, as a Replica does.
//
// A message of deltas costs the join of the deltas of each key in it and
// one encoding per key; a catch-up costs one scan of the keys, when it
// starts, and one encoding per key state sent.
func (ks *Keyspace[K, T]) Sync(id vclock.ReplicaID) ([]byte, error) {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	p, ok := ks.peers[id]
	if !ok {
		return nil, fmt.Errorf("merge: %s syncing with %s: %w", ks.id, id, ErrUnknownPeer)
	}
	now := ks.clock.Now()
	ks.startPass(p, now)
	msg, err := ks.syncPass(id, p, now)
	if msg == nil && err == nil {
		msg, err = ks.syncDeltas(id, p, now)
	}
	switch {
	case msg != nil || err != nil:
	case len(p.again) > 0:
		msg = ks.sent(p, appendKSStates(ks.envelope(id, p, now), p.again[0], false, true, nil, nil))
		p.again = p.again[1:]
	case p.notice:
		msg = ks.sent(p, appendKSAck(ks.envelope(id, p, now)))
	case p.hello && mayRepair(p.repaired, ks.cfg.rto, now):
		p.repaired = now
		e := ks.envelope(id, p, now)
		e.ackInc, e.ack = 0, 0
		msg = ks.sent(p, appendKSAck(e))
	}
	if msg != nil {
		p.notice = false // every message acknowledges
	}
	return msg, err
}

// SyncDigest starts a tree pass with peer id, unless one is under way, and
// returns its first message: the root hash of the tree — the keyspace's
// digest, as [Replica.SyncDigest] is a replica's. A peer with the
// same root answers that it is equal, and the exchange ends there — about
// 150 bytes both ways for IDs of 7 bytes, whatever the number of keys.
// Otherwise the two descend the tree, exchanging the child hashes of the
// nodes that differ, then the states of the keys in the leaf buckets that
// differ, in later calls to Sync and Receive. Call it from time to time
// to check that a peer agrees ([PeerLag].Agreed tells when one last did),
// and to repair what a peer missed that no delta will bring (a third
// keyspace's writes relayed to one peer and not another). It returns nil
// if a pass is under way.
func (ks *Keyspace[K, T]) SyncDigest(id vclock.ReplicaID) ([]byte, error) {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	p, ok := ks.peers[id]
	if !ok {
		return nil, fmt.Errorf("merge: %s sending a tree to %s: %w", ks.id, id, ErrUnknownPeer)
	}
	if p.pass != nil {
		return nil, nil
	}
	now := ks.clock.Now()
	ks.beginPass(p, true, now)
	return ks.syncPass(id, p, now)
}

// startPass starts the pass p needs, if any: a tree pass if one is due
// (once the peer has every delta, or has fallen behind the buffer: a
// tree that differs for deltas in flight costs states), a catch-up if
// the peer fell behind the buffer.
func (ks *Keyspace[K, T]) startPass(p *kpeer[K], now hlc.Timestamp) {
	low := p.acked
	if p.pass != nil {
		low = max(low, p.pass.mark)
	}
	behind := low < ks.base
	switch {
	case p.wantTree && (behind || p.acked >= ks.next) && mayRepair(p.repaired, ks.cfg.rto, now):
		p.repaired = now
		ks.beginPass(p, true, now)
	case behind:
		ks.beginPass(p, false, now)
	}
}

// beginPass starts a pass with p, replacing any under way.
func (ks *Keyspace[K, T]) beginPass(p *kpeer[K], treePass bool, now hlc.Timestamp) {
	pp := &ksPass[K]{tree: treePass, mark: ks.next, out: make(map[uint64]ksRequest[K])}
	if treePass {
		p.wantTree = false
		pp.queue = []uint32{0}
		ks.stats.TreePasses++
	} else {
		pp.keys = ks.writtenSince(p, p.pass)
		ks.stats.CatchUps++
	}
	p.pass = pp
	p.lag.FullStatesSent++
	p.sent = max(p.sent, pp.mark)
	p.timer = now
}

// writtenSince returns the keys a catch-up sends p: those with a delta
// buffered after p's acknowledgement — but, to a remote peer, not those
// whose only such delta came from another remote peer. A catch-up old
// that the buffer outran is replaced by one that takes over the keys old
// has not had answered, and, of the others, only those written since
// old began: the peer holds the states old sent it, each newer than
// old's mark, so a peer that falls behind again while a catch-up is under
// way — a long outage, a catch-up slower than the writes — is sent each
// state once, not every state again. The keys are in the order of their
// key hashes, so that a catch-up goes the same way every time (a
// simulation's run repeats), whatever the map's order.
func (ks *Keyspace[K, T]) writtenSince(p *kpeer[K], old *ksPass[K]) []K {
	low, carried := p.acked, map[K]bool(nil)
	if old != nil && !old.tree {
		low = max(low, old.mark)
		carried = make(map[K]bool, len(old.keys))
		for _, k := range old.keys {
			carried[k] = true
		}
		for _, q := range old.out {
			for _, k := range q.keys {
				carried[k] = true
			}
		}
	}
	slots := ks.written.since(low, p.remote, carried)
	if slots == nil {
		slots = ks.scanSince(low, p.remote, carried)
	} else {
		for k := range carried {
			if s := ks.keys[k]; s != nil {
				slots = append(slots, s)
			}
		}
	}
	slices.SortFunc(slots, func(x, y *kslot[K, T]) int {
		if c := cmp.Compare(x.kh, y.kh); c != 0 {
			return c
		}
		return bytes.Compare(ks.codec.append(nil, x.key), ks.codec.append(nil, y.key))
	})
	keys := make([]K, len(slots))
	for i, s := range slots {
		keys[i] = s.key
	}
	return keys
}

// scanSince is what writtenSince takes when the log of writes does not
// reach back to low: every key is looked at.
func (ks *Keyspace[K, T]) scanSince(low uint64, remote bool, carried map[K]bool) []*kslot[K, T] {
	slots := []*kslot[K, T]{}
	for _, s := range ks.keys {
		if s.lseq > low || !remote && s.rseq > low || carried[s.key] {
			slots = append(slots, s)
		}
	}
	return slots
}

// maxKeys returns the keys a message to p may hold: a silent peer gets
// probes of a few keys, not the window.
func (ks *Keyspace[K, T]) maxKeys(p *kpeer[K]) int {
	if ks.silent(p) {
		return ksProbe
	}
	return ksMaxKeys
}

// silent reports that p's retransmission timeout backed off: a
// retransmission went out and nothing came from p since. A silent peer —
// down, cut off, or far behind — is sent no new deltas, and one pass
// request at a time, each at its timeout and of at most ksProbe keys,
// until it is heard from.
func (ks *Keyspace[K, T]) silent(p *kpeer[K]) bool { return p.rto > ks.rto() }

// rto returns the retransmission timeout. Unlike a Replica's, it is at
// least a millisecond: Sync is called until it returns nil, so resending
// on every call would never end.
func (ks *Keyspace[K, T]) rto() time.Duration { return max(ks.cfg.rto, time.Millisecond) }

// syncPass returns what the pass with p has due, or nil.
func (ks *Keyspace[K, T]) syncPass(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) ([]byte, error) {
	pp := p.pass
	if pp == nil {
		return nil, nil
	}
	if p.rto == 0 {
		p.rto = ks.rto()
	}
	if len(pp.out) > 0 && elapsed(pp.progress, now) >= p.rto {
		pp.requeue() // no reply within the timeout: ask again
		p.rto = min(2*p.rto, maxBackoff*ks.rto())
	}
	window := ksWindow
	if ks.silent(p) {
		window = 1 // probe a silent peer with one request at a time
	}
	if len(pp.out) < window {
		if len(pp.out) == 0 {
			pp.progress = now
		}
		switch {
		case len(pp.queue) > 0:
			return ks.sendNodes(id, p, now), nil
		case len(pp.leaves) > 0:
			return ks.sendLeaves(id, p, now)
		case len(pp.keys) > 0:
			return ks.sendKeys(id, p, now)
		}
	}
	if !pp.resolved() {
		return nil, nil
	}
	if p.acked >= pp.mark {
		ks.endPass(p, now)
		return nil, nil
	}
	if !mayRepair(pp.closed, ks.cfg.rto, now) {
		return nil, nil
	}
	// The closing message: an empty delta-group [0, mark), which the
	// peer takes as having every delta below mark, and acknowledges.
	pp.closed = now
	p.maxSent = max(p.maxSent, pp.mark)
	return ks.sent(p, appendKSDelta(ks.envelope(id, p, now), 0, pp.mark, nil)), nil
}

// endPass ends the pass with p, all of it acknowledged.
func (ks *Keyspace[K, T]) endPass(p *kpeer[K], now hlc.Timestamp) {
	if p.pass.tree && !p.pass.differed {
		p.lag.Agreed = now
	}
	p.pass = nil
}

// request registers a request of the pass with p and returns its number.
func (ks *Keyspace[K, T]) request(p *kpeer[K], q ksRequest[K]) uint64 {
	ks.reqID++
	p.pass.out[ks.reqID] = q
	return ks.reqID
}

// sendNodes sends a tree request: up to ksMaxRequestNodes nodes of the
// queue, with their hashes.
func (ks *Keyspace[K, T]) sendNodes(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) []byte {
	pp := p.pass
	n := min(len(pp.queue), ksMaxRequestNodes)
	nodes := slices.Clone(pp.queue[:n])
	pp.queue = pp.queue[n:]
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	hashes := make([]byte, 0, ksHashLen*len(nodes))
	for _, nd := range nodes {
		hashes = binary.BigEndian.AppendUint64(hashes, ks.tree.hash(int(nd)))
	}
	ks.stats.NodesSent += uint64(len(nodes))
	r := ks.request(p, ksRequest[K]{nodes: nodes})
	return ks.sent(p, appendKSTree(ks.envelope(id, p, now), r, false, nodes, hashes))
}

// sendLeaves sends the states of every key in leaf buckets of the queue,
// asking the peer to push back what it holds more in them.
func (ks *Keyspace[K, T]) sendLeaves(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) ([]byte, error) {
	pp := p.pass
	var es []ksOut
	size, n := 0, 0
	for limit := ks.maxKeys(p); n < len(pp.leaves) && len(es) < limit && size < ksMaxBytes; n++ {
		for s := range ks.bucket(pp.leaves[n]) {
			e := ks.stateEntry(s)
			es = append(es, e)
			size += len(e.key) + len(e.payload)
		}
	}
	leaves := slices.Clone(pp.leaves[:n])
	pp.leaves = pp.leaves[n:]
	slices.Sort(leaves)
	leaves = slices.Compact(leaves)
	ks.stats.StatesSent += uint64(len(es))
	r := ks.request(p, ksRequest[K]{leaves: leaves})
	return ks.sent(p, appendKSStates(ks.envelope(id, p, now), r, true, false, leaves, es)), nil
}

// sendKeys sends the next states of a catch-up.
func (ks *Keyspace[K, T]) sendKeys(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) ([]byte, error) {
	pp := p.pass
	var es []ksOut
	size, n := 0, 0
	for limit := ks.maxKeys(p); n < len(pp.keys) && len(es) < limit && size < ksMaxBytes; n++ {
		s := ks.keys[pp.keys[n]]
		if s == nil {
			continue // back to the empty state: nothing to send
		}
		e := ks.stateEntry(s)
		es = append(es, e)
		size += len(e.key) + len(e.payload)
	}
	keys := slices.Clone(pp.keys[:n])
	pp.keys = pp.keys[n:]
	ks.stats.StatesSent += uint64(len(es))
	r := ks.request(p, ksRequest[K]{keys: keys})
	return ks.sent(p, appendKSStates(ks.envelope(id, p, now), r, false, false, nil, es)), nil
}

// stateEntry returns the entry of s's key and state. Its payload is s's
// encoding, not a copy: it must be sent before the key next changes.
func (ks *Keyspace[K, T]) stateEntry(s *kslot[K, T]) ksOut {
	return ksOut{key: ks.codec.append(nil, s.key), payload: s.enc}
}

// syncDeltas returns the next message of deltas for p, or nil: the join,
// per key, of the deltas from where the peer stands up to the first
// ksMaxKeys keys or ksMaxBytes. Each message has its own retransmission
// timer, with no selective acknowledgement: when the first message the
// peer has not acknowledged went out a timeout ago, it is sent again,
// alone, and the timeout backs off until a message comes from the peer.
// Once the peer has it, its acknowledgement covers what it received
// beyond, which is not sent again; the next hole, if any, waits for its
// own timer.
func (ks *Keyspace[K, T]) syncDeltas(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) ([]byte, error) {
	low := p.acked
	if p.pass != nil {
		low = max(low, p.pass.mark)
	}
	if low >= ks.next || low < ks.base {
		return nil, nil // nothing due, or a pass covers it
	}
	if p.rto == 0 {
		p.rto = ks.rto()
	}
	for len(p.marks) > 0 && p.marks[0].to <= low {
		p.marks = p.marks[1:]
	}
	from, until := max(p.sent, low), uint64(0) // until: the end of a retransmission
	limit := ks.maxKeys(p)                     // before a retransmission backs off: the first is whole
	switch {
	case p.sent <= low:
		from, p.timer, p.marks = low, now, p.marks[:0]
	case p.due(now):
		p.rto = min(2*p.rto, maxBackoff*ks.rto())
		from, until, p.timer = low, p.markAfter(low), now
		if len(p.marks) > 0 {
			p.marks[0].at = now
		}
	case ks.silent(p):
		return nil, nil // a silent peer gets the retransmissions alone
	case from >= ks.next:
		return nil, nil
	}
	to, es, err := ks.joinFrom(from, until, limit, p)
	if err != nil {
		return nil, err
	}
	if until == 0 {
		p.sent = to
		if len(p.marks) == ksMaxMarks {
			p.marks = p.marks[1:]
		}
		p.marks = append(p.marks, sentMark{to: to, at: now})
	}
	p.maxSent = max(p.maxSent, to)
	return ks.sent(p, appendKSDelta(ks.envelope(id, p, now), from, to, es)), nil
}

// ksMaxMarks bounds the messages a peer's bookkeeping remembers; past it,
// a retransmission covers the older ones at once.
const ksMaxMarks = 1024

// A sentMark is a message of deltas sent to a peer and not acknowledged:
// where it ended, and when it last went.
type sentMark struct {
	to uint64
	at hlc.Timestamp
}

// markAfter returns the end of the first message sent to p that is not
// acknowledged, or where the deltas sent end if none is remembered.
func (p *kpeer[K]) markAfter(low uint64) uint64 {
	if len(p.marks) > 0 {
		return p.marks[0].to
	}
	return max(p.sent, low+1)
}

// due reports whether the first message to p that is not acknowledged
// went a timeout ago (with none remembered, the last of them).
func (p *kpeer[K]) due(now hlc.Timestamp) bool {
	at := p.timer
	if len(p.marks) > 0 {
		at = p.marks[0].at
	}
	return elapsed(at, now) >= p.rto
}

// joinFrom joins, per key, the buffered deltas from from on that go to p,
// up to until (if not 0), limit keys and ksMaxBytes, and returns where
// it stopped and the entries. The deltas that do not go to p are in the
// interval all the same: p has them, or is not to have them from this
// keyspace.
func (ks *Keyspace[K, T]) joinFrom(from, until uint64, limit int, p *kpeer[K]) (uint64, []ksOut, error) {
	// A key's group is its first delta's bytes, until a second one of the
	// key comes: then d, the join of the deltas decoded.
	type group struct {
		first *ksEntry[K]
		d     T
		many  bool
	}
	joined := make(map[K]*group)
	var order []K
	size, to := 0, from
	for ; to < ks.next && (until == 0 || to < until); to++ {
		e := &ks.buf.live()[to-ks.base]
		if !e.forwards(p) {
			continue
		}
		g, ok := joined[e.key]
		if !ok && (len(order) == limit || size >= ksMaxBytes) {
			break
		}
		size += e.size()
		if !ok {
			joined[e.key] = &group{first: e}
			order = append(order, e.key)
			continue
		}
		if !g.many {
			d, err := ks.decodeBuffered(g.first)
			if err != nil {
				return 0, nil, err
			}
			g.d, g.many = d, true
		}
		d, err := ks.decodeBuffered(e)
		if err != nil {
			return 0, nil, err
		}
		g.d.Merge(d)
	}
	es := make([]ksOut, 0, len(order))
	for _, k := range order {
		g := joined[k]
		kb := g.first.data[:g.first.kn]
		if !g.many {
			es = append(es, ksOut{key: kb, payload: g.first.data[g.first.kn:]})
			continue
		}
		b, err := g.d.AppendBinary(nil)
		if err != nil {
			return 0, nil, fmt.Errorf("merge: %s encoding the deltas of key %v: %w", ks.id, k, err)
		}
		es = append(es, ksOut{key: kb, payload: b})
	}
	return to, es, nil
}

// decodeBuffered decodes the delta of a buffered entry.
func (ks *Keyspace[K, T]) decodeBuffered(e *ksEntry[K]) (T, error) {
	d := ks.newState()
	if err := unmarshalStored(ks.cfg.decode, d, e.data[e.kn:]); err != nil {
		var zero T
		return zero, fmt.Errorf("merge: %s: a buffered delta of key %v does not decode from its own encoding: %w", ks.id, e.key, err)
	}
	return d, nil
}

func (ks *Keyspace[K, T]) envelope(id vclock.ReplicaID, p *kpeer[K], now hlc.Timestamp) *envelope {
	return &envelope{sender: ks.id, recipient: id, inc: ks.inc, time: now, ackInc: p.inc, ack: p.have}
}

// sent counts a message to p and returns it.
func (ks *Keyspace[K, T]) sent(p *kpeer[K], msg []byte) []byte {
	p.lag.MessagesSent++
	p.lag.BytesSent += uint64(len(msg))
	return msg
}

// Lag returns the lag figures of every peer, in ascending ID order, as
// [Replica.Lag] does. NeedsFullState reports that the peer fell behind
// the buffer and needs a catch-up (under way or not); FullStatesSent
// counts the passes started with the peer, catch-ups and tree passes;
// FullStatesReceived those the peer closed towards this keyspace (and
// the rare first interval of a forwarding peer whose deltas all came
// from this keyspace, which reads the same on the wire); Agreed
// is when a tree pass last found the peer's tree equal at the root.
func (ks *Keyspace[K, T]) Lag() []PeerLag {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.clock.Now()
	out := make([]PeerLag, 0, len(ks.peers))
	for _, p := range ks.peers {
		l := p.lag
		l.Acked = p.acked
		l.Unacked = ks.next - p.acked
		l.NeedsFullState = p.acked < ks.base
		var oldest hlc.Timestamp
		switch {
		case p.acked >= ks.next:
		case p.acked < ks.base:
			oldest = p.behind
		default:
			oldest = ks.buf.live()[p.acked-ks.base].at
		}
		if oldest != 0 {
			l.OldestUnacked = elapsed(oldest, now)
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b PeerLag) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	return out
}
