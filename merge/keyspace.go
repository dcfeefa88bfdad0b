package merge

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// A Keyspace is one replica of a dataset of many keys — a million carts —
// each holding a state of type T, kept in step with its peers as a
// [Replica] keeps one state: deltas per key while connected, batched
// many keys to a message, and a hash tree over the keys to find what
// differs after a restart or on suspicion (see Keyspaces in the package
// documentation). It has the Replica's transport-free shape:
// [Keyspace.Sync] returns the bytes to send a peer, [Keyspace.Receive]
// takes a peer's bytes and returns the reply.
//
// A key holds the empty state (newState()) until a change reaches it; a
// key whose state is the empty state again is dropped, so two keyspaces
// are equal when they hold the same keys with equal states. K is a string
// or integer kind ([Key]): the wire and the tree need its canonical
// encoding. States are kept encoded and decoded where used (see
// Keyspaces in the package documentation), so T's AppendBinary and
// UnmarshalBinary must agree, as crdt.State requires.
//
// A Keyspace is safe for concurrent use: one mutex guards it, and the
// decoding of a message and its payloads runs before the lock is taken.
// It must not be copied. Make one with [NewKeyspace]; the zero Keyspace
// is not usable.
type Keyspace[K Key, T crdt.State[T]] struct {
	id       vclock.ReplicaID
	clock    *hlc.Clock
	newState func() T
	cfg      config
	codec    keyCodec[K]
	nilable  bool
	empty    []byte // the encoding of newState()

	mu      sync.Mutex
	inc     uint64
	writer  vclock.ReplicaID
	keys    map[K]*kslot[K, T]
	heads   []*kslot[K, T] // the first slot of each leaf bucket; nil until the first key
	tree    tree
	next    uint64           // deltas issued: the sequence number of the next
	base    uint64           // sequence number of buf[0]
	buf     fifo[ksEntry[K]] // the deltas some peer may still need
	bufSize int
	peers   map[vclock.ReplicaID]*kpeer[K]
	fwd     int    // peers that are forwarded what others send
	reqID   uint64 // the last request number a pass used
	scratch []byte
	arena   []byte // the chunk the buffered deltas' bytes are cut from (keepBytes)
	written ksLog[K, T]
	stats   KeyspaceStats

	// A durable keyspace's (OpenKeyspace): its committer, whether it
	// restored anything, and the number of the last record queued by the
	// call under way (0 if none).
	commit   *committer
	restored bool
	queued   uint64
}

// A kslot is one key: its state, the hash of its key and its contribution
// to the tree, and its place in its bucket's list.
type kslot[K Key, T any] struct {
	key     K
	enc     []byte // the canonical encoding of its state; empty: the slot is not in the keyspace
	kh      uint64 // keyHash of the key's encoding
	contrib uint64 // contribution of the key and its state
	lseq    uint64 // 1 + the number of its last delta buffered, written or from a peer not remote; 0 if none
	rseq    uint64 // the same for its last delta from a remote peer
	next    *kslot[K, T]
}

// A ksEntry is one buffered delta, kept encoded as a key's state is: data
// holds the key's encoding (its first kn bytes) and the delta's; at is
// when it was buffered, and via the peer it came from, for a delta
// received and forwarded (nil for the keyspace's own). A message sends a
// key's one delta as these bytes, and decodes only the deltas of a key
// that has several to join.
type ksEntry[K Key] struct {
	key  K
	data []byte
	kn   int
	at   hlc.Timestamp
	via  *kpeer[K]
}

// size returns the encoded size of e: the key's and the delta's.
func (e *ksEntry[K]) size() int { return len(e.data) }

// KeyspaceStats are a [Keyspace]'s own counters: those of a Replica
// ([Stats]: Deltas, Buffered, BufferedBytes, Overflowed, Rejected,
// ClockRejected, Clock; Renewals stays 0, see Keyspaces in the package
// documentation) and the keyspace's.
type KeyspaceStats struct {
	Stats
	// Keys is the number of keys holding a state other than the empty one.
	Keys int
	// CatchUps counts the catch-ups started: a peer fell behind the
	// buffer and was sent the current states of the keys written since
	// its acknowledgement. TreePasses counts the tree comparisons started
	// (restarts, refusals in a row, [Keyspace.SyncDigest]).
	CatchUps, TreePasses uint64
	// StatesSent counts the key states sent by catch-ups and tree passes
	// and in answer to them; NodesSent the tree node hashes sent.
	StatesSent, NodesSent uint64
	// Forwarded counts the payloads received that changed a key's state
	// and were buffered for the peers added with [Forward] or [Remote].
	Forwarded uint64
}

// NewKeyspace returns a keyspace named id whose keys start as newState(),
// with no keys and no peers. newState must return a new, empty state each
// time, and be safe for concurrent use (see [New]). The options are the
// Replica's: the clock, the delta buffer's bounds (in deltas of any key
// and in bytes), the retransmission timeout, the decoding bounds of
// Receive and the source of incarnation numbers.
//
// Like New, NewKeyspace draws a random incarnation number, and the
// keyspace writes under the writer ID derived from it, so that no event
// it issues, in any key, can be one an earlier incarnation issued. It
// panics if id is empty, newState is nil or returns the same value
// twice, or the empty state cannot be encoded.
func NewKeyspace[K Key, T crdt.State[T]](id vclock.ReplicaID, newState func() T, opts ...Option) *Keyspace[K, T] {
	if id == "" {
		panic("merge: NewKeyspace with an empty ReplicaID")
	}
	if newState == nil {
		panic("merge: NewKeyspace with a nil newState")
	}
	cfg := newConfig(opts)
	ks := &Keyspace[K, T]{
		id:       id,
		clock:    cfg.clock,
		newState: newState,
		cfg:      cfg,
		codec:    newKeyCodec[K](),
		nilable:  reflect.TypeFor[T]().Kind() == reflect.Pointer,
		keys:     make(map[K]*kslot[K, T]),
		peers:    make(map[vclock.ReplicaID]*kpeer[K]),
	}
	s := newState()
	if ks.nilable && any(newState()) == any(s) {
		panic("merge: NewKeyspace: newState returned the same value twice; it must return a new state on each call")
	}
	empty, err := s.AppendBinary(nil)
	if err != nil {
		panic("merge: NewKeyspace: encoding the empty state: " + err.Error())
	}
	ks.empty = empty
	ks.inc = newIncarnation(cfg.random, ks.clock.Peek(), 0)
	ks.writer = writerOf(id, ks.inc)
	return ks
}

func (ks *Keyspace[K, T]) mustInit() {
	if ks.keys == nil {
		panic("merge: the zero Keyspace is not usable: make one with merge.NewKeyspace")
	}
}

// ID returns the keyspace's ID, which its peers address it by.
func (ks *Keyspace[K, T]) ID() vclock.ReplicaID { return ks.id }

// Writer returns the ID the keyspace writes under, in every key: its ID,
// a tilde and its incarnation number (see [Replica.Writer]).
func (ks *Keyspace[K, T]) Writer() vclock.ReplicaID {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.writer
}

// Clock returns the keyspace's hybrid logical clock.
func (ks *Keyspace[K, T]) Clock() *hlc.Clock { return ks.clock }

// Update applies a local change to key k: it calls f with the writer ID
// to write as and k's state (the empty state if k holds none), under the
// lock, and buffers the delta f returns for every peer. The rules for f
// are Replica.Update's: change the state through mutators writing as w,
// return their delta (or the join of several), keep neither, do not call
// the Keyspace; a nil delta means nothing changed. Update panics where
// Replica.Update does: a callback that made more changes than its delta
// records, a delta written under the bare ID.
//
// The state f gets is decoded for the call and kept, encoded, when f
// returns: keeping it beyond the call keeps a copy.
//
// Update costs one decoding of k's state, f, one encoding of the delta
// (for the buffer's bound), one encoding and hash of k's new state (for
// the tree and to keep it) and O(1) tree work: O(size of k's state),
// whatever the number of keys. If k's new state cannot be encoded,
// Update keeps the state it had, sends nothing and returns the error; if
// only the delta cannot be, the change stays in the state and Update
// returns the error.
func (ks *Keyspace[K, T]) Update(k K, f func(w vclock.ReplicaID, state T) (delta T)) error {
	ks.mustInit()
	seq, err := ks.update(k, f)
	return errors.Join(err, ks.waitStored(seq))
}

// update is Update under the lock; it returns the number of the record
// to wait for, for a durable keyspace, or 0.
func (ks *Keyspace[K, T]) update(k K, f func(w vclock.ReplicaID, state T) (delta T)) (seq uint64, err error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err := ks.commit.usable(); err != nil {
		return 0, fmt.Errorf("merge: %s Update: %w", ks.id, err)
	}
	ks.queued = 0
	defer func() { seq = ks.queued }()
	s := ks.keys[k]
	if s == nil {
		s = &kslot[K, T]{key: k}
		s.kh = keyHash(ks.codec.append(ks.scratch[:0], k))
	}
	state, err := ks.load(s)
	if err != nil {
		return 0, err
	}
	delta, none := ks.call(state, f)
	if err := ks.rehash(s, state); err != nil {
		return 0, err
	}
	if none {
		return 0, nil
	}
	ks.noteOwn(delta)
	if st, ok := any(delta).(stamper); ok {
		if ts := st.MaxTimestamp(); ts > ks.clock.Last() {
			if _, e := ks.clock.Update(ts); e != nil {
				err = fmt.Errorf("merge: %s: the delta carries timestamp %v, which its clock cannot reach: %w", ks.id, ts, e)
			}
		}
	}
	ks.next++
	s.lseq = ks.next
	at := ks.clock.Now()
	ks.noteWritten(s)
	if len(ks.peers) == 0 && ks.commit == nil {
		ks.base = ks.next // nobody to keep it for
		return 0, err
	}
	kb := ks.codec.append(ks.scratch[:0], k)
	n := len(kb)
	b, encErr := delta.AppendBinary(kb)
	if encErr != nil {
		ks.dropTo(ks.next, at)
		return 0, fmt.Errorf("merge: %s encoding the delta of key %v: %w", ks.id, k, encErr)
	}
	if cap(b) <= 64<<10 {
		ks.scratch = b[:0]
	}
	ks.store([]ksOut{{key: b[:n], payload: b[n:]}})
	if len(ks.peers) == 0 {
		ks.base = ks.next
		return 0, err
	}
	ks.buffer(ksEntry[K]{key: k, data: ks.keepBytes(b), kn: n, at: at})
	return 0, err
}

// arenaChunk is the size of the chunks buffered deltas' bytes are cut
// from.
const arenaChunk = 16 << 10

// keepBytes returns a copy of b for a buffered entry, cut from a chunk
// shared with the entries buffered before and after it: one allocation
// per chunk, not per delta, and one object fewer per delta for the
// collector. Nothing writes to a chunk's bytes once cut, and a chunk goes
// when the last entry cut from it leaves the buffer, which drops its
// oldest first: at most the chunks at its two ends are partly dead. A b
// of more than a quarter chunk gets its own copy.
func (ks *Keyspace[K, T]) keepBytes(b []byte) []byte {
	if len(b) > arenaChunk/4 {
		return slices.Clone(b)
	}
	if len(b) > cap(ks.arena)-len(ks.arena) {
		ks.arena = make([]byte, 0, arenaChunk)
	}
	n := len(ks.arena)
	ks.arena = append(ks.arena, b...)
	return ks.arena[n:len(ks.arena):len(ks.arena)]
}

// buffer keeps e, the delta numbered ks.next−1, for the peers, dropping
// the oldest deltas beyond the buffer's bounds.
func (ks *Keyspace[K, T]) buffer(e ksEntry[K]) {
	ks.buf.push(e)
	ks.bufSize += e.size()
	ks.trim(e.at)
}

// call runs Update's callback on a key's state and checks its delta as Replica.update
// does; none reports a nil delta.
func (ks *Keyspace[K, T]) call(state T, f func(w vclock.ReplicaID, state T) T) (delta T, none bool) {
	e, counts := any(state).(editor)
	var before uint64
	if counts {
		before = e.Edits()
	}
	delta = f(ks.writer, state)
	if ks.nilable {
		var zero T
		none = any(delta) == any(zero)
	}
	if counts {
		var got uint64
		if !none {
			got = any(delta).(editor).Edits()
		}
		if made := e.Edits() - before; got != made {
			panic(fmt.Sprintf("merge: %s: Update's callback made %d changes and returned a delta recording %d; return the delta of each change, joined with Merge, so that peers get them all", ks.id, made, got))
		}
	}
	return delta, none
}

// noteOwn panics on a delta holding events written under the bare ID.
func (ks *Keyspace[K, T]) noteOwn(delta T) {
	if n, _ := versionOf(delta, ks.id); n != 0 {
		panic(fmt.Sprintf("merge: %s: Update's delta holds events written as %q, the keyspace's own ID; write as %s (Keyspace.Writer), so that a restarted keyspace never reuses an event", ks.id, ks.id, ks.writer))
	}
}

// load returns the state of s, decoded from its encoding, or a new empty
// state for a slot not yet holding one.
func (ks *Keyspace[K, T]) load(s *kslot[K, T]) (T, error) {
	state := ks.newState()
	if len(s.enc) == 0 {
		return state, nil
	}
	if err := unmarshalStored(ks.cfg.decode, state, s.enc); err != nil {
		var zero T
		return zero, fmt.Errorf("merge: %s: the state of key %v does not decode from its own encoding (%d bytes; the type's AppendBinary writes what its UnmarshalBinary refuses): %w", ks.id, s.key, len(s.enc), err)
	}
	return state, nil
}

// rehash keeps state as s's, encoded, and brings s's contribution to the
// tree up to date with it, inserting s if it is new and dropping it if
// state is the empty one.
func (ks *Keyspace[K, T]) rehash(s *kslot[K, T], state T) error {
	b, err := state.AppendBinary(ks.scratch[:0])
	if err != nil {
		return fmt.Errorf("merge: %s encoding the state of key %v: %w", ks.id, s.key, err)
	}
	if cap(b) <= 64<<10 {
		ks.scratch = b[:0]
	}
	present := len(s.enc) != 0
	if bytes.Equal(b, ks.empty) {
		if present {
			ks.tree.add(bucketOf(s.kh), -s.contrib)
			ks.unlink(s)
			delete(ks.keys, s.key)
			s.enc = nil
		}
		return nil
	}
	c := contribution(s.kh, b)
	s.enc = append(s.enc[:0], b...)
	if !present {
		ks.link(s)
		ks.keys[s.key] = s
		s.contrib = 0
	}
	ks.tree.add(bucketOf(s.kh), c-s.contrib)
	s.contrib = c
	return nil
}

// link puts s at the head of its bucket's list.
func (ks *Keyspace[K, T]) link(s *kslot[K, T]) {
	if ks.heads == nil {
		ks.heads = make([]*kslot[K, T], treeLeaves)
	}
	b := bucketOf(s.kh)
	s.next = ks.heads[b]
	ks.heads[b] = s
}

// unlink takes s out of its bucket's list, of a few keys.
func (ks *Keyspace[K, T]) unlink(s *kslot[K, T]) {
	for p := &ks.heads[bucketOf(s.kh)]; *p != nil; p = &(*p).next {
		if *p == s {
			*p = s.next
			s.next = nil
			return
		}
	}
}

// bucket returns the keys of leaf bucket b.
func (ks *Keyspace[K, T]) bucket(b uint32) iter.Seq[*kslot[K, T]] {
	return func(yield func(*kslot[K, T]) bool) {
		if ks.heads == nil {
			return
		}
		for s := ks.heads[b]; s != nil; s = s.next {
			if !yield(s) {
				return
			}
		}
	}
}

// Read calls f with k's state under the lock, or with a new empty state
// if k holds none. The state is decoded for the call: changing it changes
// nothing in the keyspace, and keeping it keeps a copy. f must not call
// the Keyspace. Read panics if the state does not decode from its own
// encoding, which only a type breaking crdt.State's contract can cause.
func (ks *Keyspace[K, T]) Read(k K, f func(state T)) {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if s := ks.keys[k]; s != nil {
		f(ks.mustLoad(s))
		return
	}
	f(ks.newState())
}

// mustLoad is load for the reads, which return no error.
func (ks *Keyspace[K, T]) mustLoad(s *kslot[K, T]) T {
	state, err := ks.load(s)
	if err != nil {
		panic(err)
	}
	return state
}

// Len returns the number of keys holding a state other than the empty one.
func (ks *Keyspace[K, T]) Len() int {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return len(ks.keys)
}

// All returns the keys and their states, in no particular order. It holds
// the lock while the loop runs: the loop's body must not call the
// Keyspace. Each state is decoded for the loop, as [Keyspace.Read]'s is:
// changing one changes nothing in the keyspace.
func (ks *Keyspace[K, T]) All() iter.Seq2[K, T] {
	ks.mustInit()
	return func(yield func(K, T) bool) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		for k, s := range ks.keys {
			if !yield(k, ks.mustLoad(s)) {
				return
			}
		}
	}
}

// Root returns the root hash of the keyspace's tree: the sum, modulo
// 2^64, of a 64-bit hash of each key and its state's encoding (see
// Keyspaces in the package documentation). Equal keyspaces have equal
// roots; different ones, equal roots by a chance of about 2^-64. An empty
// keyspace's root is 0. It costs O(1): the tree is kept up to date by
// every change.
func (ks *Keyspace[K, T]) Root() uint64 {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.tree.root()
}

// trim drops the oldest deltas until the buffer is within its bounds.
func (ks *Keyspace[K, T]) trim(now hlc.Timestamp) {
	k := max(ks.buf.len()-ks.cfg.maxDeltas, 0)
	size := ks.bufSize
	for _, e := range ks.buf.live()[:k] {
		size -= e.size()
	}
	for k < ks.buf.len() && size > ks.cfg.maxBytes {
		size -= ks.buf.live()[k].size()
		k++
	}
	ks.dropTo(ks.base+uint64(k), now)
}

// gc drops the deltas every peer has acknowledged.
func (ks *Keyspace[K, T]) gc(now hlc.Timestamp) {
	low := ks.next
	for _, p := range ks.peers {
		low = min(low, p.acked)
	}
	ks.dropTo(low, now)
}

// dropTo drops the deltas numbered below to. A peer that has not
// acknowledged one of them now needs a catch-up.
func (ks *Keyspace[K, T]) dropTo(to uint64, now hlc.Timestamp) {
	if to <= ks.base {
		return
	}
	k := int(min(to-ks.base, uint64(ks.buf.len())))
	low := to
	for _, p := range ks.peers {
		low = min(low, p.acked)
		if p.acked < to && p.behind == 0 {
			p.behind = now
		}
	}
	if low < to {
		ks.stats.Overflowed += to - max(low, ks.base)
	}
	for _, e := range ks.buf.live()[:k] {
		ks.bufSize -= e.size()
	}
	ks.buf.drop(k)
	ks.base = to
}

// Stats returns the keyspace's counters.
func (ks *Keyspace[K, T]) Stats() KeyspaceStats {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	s := ks.stats
	s.Deltas = ks.next - s.Forwarded
	s.Buffered = ks.buf.len()
	s.BufferedBytes = ks.bufSize
	s.Clock = ks.clock.Stats()
	s.Keys = len(ks.keys)
	return s
}

// Peers returns the peers in ascending ID order.
func (ks *Keyspace[K, T]) Peers() []vclock.ReplicaID {
	ks.mustInit()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ids := make([]vclock.ReplicaID, 0, len(ks.peers))
	for id := range ks.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
