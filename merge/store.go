package merge

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// A Store keeps what a [Replica] needs to come back after a restart: a
// snapshot of its state, the records appended since — the encodings of
// the deltas its Updates made and of the payloads it merged — and the
// floor of its clock. [Open] loads it; [Replica.Update] and
// [Replica.Receive] append to it and return once the records are
// durable; [Replica.Compact] folds the records into a new snapshot.
// Package boltstore has one on go.etcd.io/bbolt.
//
// A Store is called by one Replica. Append is never called while another
// Append runs; Load and Compact may run at the same time as Append, and
// must see and keep what each committed Append wrote. Records are opaque
// bytes; sequence numbers count them from 0 over the store's life.
type Store interface {
	// Load returns what the store holds.
	Load() (Stored, error)
	// Append appends records, in order, with the clock floor, and returns
	// once they are on stable storage: after a crash, Load returns them,
	// or it returns an error.
	Append(records [][]byte, floor hlc.Timestamp) error
	// Compact replaces the snapshot with snapshot, which holds every
	// record numbered below through, and drops those records. It fails,
	// changing nothing, if through is below the first record it holds
	// (the snapshot is older than its own) or beyond the last; match
	// [ErrCompactRange] then.
	Compact(snapshot []byte, through uint64) error
	// Close releases the store.
	Close() error
}

// Stored is what a [Store] holds.
type Stored struct {
	// Snapshot is the encoding of a state, or nil if none was taken.
	Snapshot []byte
	// Records are the records appended after it, oldest first: numbered
	// Next−len(Records) to Next−1.
	Records [][]byte
	// Next is the sequence number of the next record.
	Next uint64
	// Floor is the largest clock reading persisted.
	Floor hlc.Timestamp
}

// ErrClosed is matched (errors.Is) by the error of a durable replica's
// Update or Receive once its store is closed or an Append failed: from
// then on nothing more is stored, and the replica must be opened again.
var ErrClosed = errors.New("merge: store closed")

// ErrCompactRange is matched (errors.Is) by the error of a Store's
// Compact whose snapshot would not hold what the store's does, or holds
// records it never appended.
var ErrCompactRange = errors.New("merge: compaction out of range")

// Open returns a replica named id whose state is restored from store: its
// snapshot and every record after it, merged. It raises the clock to the
// floor the store holds, so that no timestamp is issued twice, and starts
// a new incarnation, which writes under a new writer ID: no event the
// earlier ones issued can be issued again, whatever the store missed. It
// adds no peer: add them, as for [New]; they see the new incarnation, and
// a digest exchange gives each side what the other lacks.
//
// The replica is durable: [Replica.Update] and [Replica.Receive] return
// once what they merged is on the store, sharing one Append — one fsync —
// among the calls that wait at the same time (group commit). Call
// [Replica.Compact] from time to time, in the background, to fold the
// records into a snapshot; and [Replica.Close] at the end.
//
// Open fails if the store cannot be read or holds what the state type
// cannot decode.
func Open[T crdt.State[T]](id vclock.ReplicaID, newState func() T, store Store, opts ...Option) (*Replica[T], error) {
	if store == nil {
		return nil, fmt.Errorf("merge: Open %s with a nil Store", id)
	}
	st, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("merge: opening %s: %w", id, err)
	}
	r := New(id, newState, opts...)
	r.clock.Raise(st.Floor)
	// Start after every incarnation that wrote to the store: so the
	// earlier ones sort before this one (Replica.Retire).
	r.inc = newIncarnation(r.cfg.random, r.clock.Peek(), incarnationsBefore(st.Floor))
	r.writer = writerOf(id, r.inc)
	state, err := r.replay(st)
	if err != nil {
		return nil, fmt.Errorf("merge: opening %s: %w", id, err)
	}
	r.state = state
	r.takeRetired(state) // free what the retired ranges the store holds stand for
	r.restored = st.Snapshot != nil || len(st.Records) > 0
	r.commit = &committer{store: store, next: st.Next, durable: st.Next}
	r.commit.cond.L = &r.commit.mu
	return r, nil
}

// replay rebuilds a state from a snapshot and the records after it.
func (r *Replica[T]) replay(st Stored) (T, error) {
	state := r.newState()
	if st.Snapshot != nil {
		if err := r.unmarshalStored(state, st.Snapshot); err != nil {
			return state, fmt.Errorf("decoding the snapshot: %w", err)
		}
	}
	first := st.Next - uint64(len(st.Records))
	for i, rec := range st.Records {
		d := r.newState()
		if err := r.unmarshalStored(d, rec); err != nil {
			return state, fmt.Errorf("decoding record %d: %w", first+uint64(i), err)
		}
		state.Merge(d)
	}
	return state, nil
}

// unmarshalStored decodes what the store holds: within the replica's
// decode bounds, but for the size, which a snapshot may exceed.
func (r *Replica[T]) unmarshalStored(v T, b []byte) error {
	return unmarshalStored(r.cfg.decode, v, b)
}

// unmarshalStored decodes b into v within o, but for the size, which a
// snapshot may exceed. (The elements bound rises with it: each element
// takes a byte at least.)
func unmarshalStored[T crdt.State[T]](o crdt.DecodeOptions, v T, b []byte) error {
	if u, ok := any(v).(crdt.Unmarshaler); ok {
		d := crdt.DefaultDecodeOptions()
		o.MaxBytes = max(cmp.Or(o.MaxBytes, d.MaxBytes), len(b))
		o.MaxElements = max(cmp.Or(o.MaxElements, d.MaxElements), len(b))
		return o.Unmarshal(b, u)
	}
	return v.UnmarshalBinary(b)
}

// usable returns why a durable replica can store nothing more, or nil.
func (c *committer) usable() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Compact folds the records of a durable replica's store into a new
// snapshot. It reads the store, not the replica: it rebuilds the state
// from the store's snapshot and records, which costs O(state) in time and
// memory but holds no lock, so that writers wait for nothing but its
// final write. Records appended meanwhile stay after the new snapshot.
// Call it in the background, as often as the records' growth warrants.
// On a replica made by New it does nothing.
func (r *Replica[T]) Compact() error {
	r.mustInit()
	if r.commit == nil {
		return nil
	}
	return r.commit.compact(r.id, func(st Stored) ([]byte, error) {
		state, err := r.replay(st)
		if err != nil {
			return nil, err
		}
		return state.AppendBinary(nil)
	})
}

// compact replaces the store's snapshot by the one snapshot builds from
// what the store holds, one compaction at a time, holding no lock of the
// replica or keyspace id: Replica.Compact and Keyspace.Compact.
func (c *committer) compact(id vclock.ReplicaID, snapshot func(Stored) ([]byte, error)) error {
	c.compacting.Lock()
	defer c.compacting.Unlock()
	if err := c.usable(); err != nil {
		return fmt.Errorf("merge: %s compacting: %w", id, err)
	}
	st, err := c.store.Load()
	if err != nil {
		return fmt.Errorf("merge: %s compacting: %w", id, err)
	}
	b, err := snapshot(st)
	if err != nil {
		return fmt.Errorf("merge: %s compacting: %w", id, err)
	}
	if err := c.store.Compact(b, st.Next); err != nil {
		return fmt.Errorf("merge: %s compacting: %w", id, err)
	}
	return nil
}

// Close waits for what is being committed, and for a running Compact,
// and closes the store of a durable replica; later Updates, Receives and
// Compacts fail with [ErrClosed], changing nothing. On a replica made by
// New it does nothing.
func (r *Replica[T]) Close() error {
	r.mustInit()
	if r.commit == nil {
		return nil
	}
	return r.commit.close()
}

// A committer appends records to a store for many callers at once: each
// queues its record under the replica's lock, in order, then waits for
// it outside the lock; the first to wait takes every record queued and
// appends them in one call — one fsync — while the others wait for it
// (leader-based group commit, without a goroutine of its own).
//
// An Append that fails fails the committer for good: the records it held
// are not on the store, and records after them would leave a hole that a
// restart could not tell from a whole log.
type committer struct {
	store      Store
	compacting sync.Mutex // one Compact at a time

	mu       sync.Mutex
	cond     sync.Cond
	pending  [][]byte
	floor    hlc.Timestamp
	next     uint64 // records queued, over the store's life
	durable  uint64 // records on the store
	flushing bool
	err      error // why nothing more is stored: sticky
	closing  bool
}

// queue adds a record, to be appended with floor, and returns the
// number to wait for. The caller holds the replica's lock, which keeps
// records in the order of the changes.
func (c *committer) queue(rec []byte, floor hlc.Timestamp) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	if c.err == nil {
		c.pending = append(c.pending, rec)
		c.floor = max(c.floor, floor)
	}
	return c.next
}

// wait returns once the records up to seq are durable, appending them
// itself if no other caller is.
func (c *committer) wait(seq uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.durable < seq {
		if c.err != nil {
			return c.err
		}
		if c.flushing {
			c.cond.Wait()
			continue
		}
		// Lead the next batch. Writers woken by the last one are about to
		// queue their next records: yield once, so that they join it.
		c.flushing = true
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		batch, floor, to := c.pending, c.floor, c.next
		c.pending = nil
		c.mu.Unlock()
		err := c.store.Append(batch, floor)
		c.mu.Lock()
		c.flushing = false
		if err != nil {
			c.err = fmt.Errorf("%w: appending %d records failed: %w", ErrClosed, len(batch), err)
		} else {
			c.durable = to
		}
		c.cond.Broadcast()
	}
	return nil
}

// close makes every record queued durable, then closes the store.
func (c *committer) close() error {
	c.mu.Lock()
	seq, closing := c.next, c.closing
	c.closing = true
	c.mu.Unlock()
	if closing {
		return nil
	}
	err := c.wait(seq)
	c.compacting.Lock() // let a running Compact finish
	defer c.compacting.Unlock()
	c.mu.Lock()
	for c.flushing {
		c.cond.Wait()
	}
	if c.err == nil {
		c.err = ErrClosed
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	return errors.Join(err, c.store.Close())
}
