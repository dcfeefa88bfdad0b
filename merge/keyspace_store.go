package merge

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// OpenKeyspace returns a keyspace named id whose keys are restored from
// store, as [Open] restores a Replica: the snapshot and every record
// after it, merged; the clock raised to the store's floor; and a new
// incarnation, after every one that wrote to the store, writing under a
// new writer ID, so that no event an earlier incarnation issued, in any
// key, is issued again. It adds no peer; each peer added starts with a
// tree pass (see Keyspaces in the package documentation), which gives
// each side the keys the other lacks.
//
// The keyspace is durable: [Keyspace.Update] and [Keyspace.Receive]
// return once what they merged is on the store, sharing one Append among
// the calls that wait at the same time. A record holds the keys a call
// changed and their deltas or payloads; [Keyspace.Compact] folds the
// records into a snapshot of every key's state, in the background.
// docs/wire-format.md ("Keyspace store records") gives the layout. A
// store written by a Replica is refused, and one written by a keyspace
// is refused by [Open]: the two layouts differ.
//
// OpenKeyspace fails if the store cannot be read or holds what the key or
// state type cannot decode.
func OpenKeyspace[K Key, T crdt.State[T]](id vclock.ReplicaID, newState func() T, store Store, opts ...Option) (*Keyspace[K, T], error) {
	if store == nil {
		return nil, fmt.Errorf("merge: OpenKeyspace %s with a nil Store", id)
	}
	st, err := store.Load()
	if err != nil {
		return nil, fmt.Errorf("merge: opening keyspace %s: %w", id, err)
	}
	ks := NewKeyspace[K](id, newState, opts...)
	ks.clock.Raise(st.Floor)
	ks.inc = newIncarnation(ks.cfg.random, ks.clock.Peek(), incarnationsBefore(st.Floor))
	ks.writer = writerOf(id, ks.inc)
	err = ks.replayStored(st, func(e ksWire[K], v T) error {
		s := ks.keys[e.key]
		if s == nil {
			s = &kslot[K, T]{key: e.key, kh: keyHash(e.enc)}
		}
		state, err := ks.load(s)
		if err != nil {
			return err
		}
		state.Merge(v)
		return ks.rehash(s, state)
	})
	if err != nil {
		return nil, fmt.Errorf("merge: opening keyspace %s: %w", id, err)
	}
	ks.restored = st.Snapshot != nil || len(st.Records) > 0
	ks.commit = &committer{store: store, next: st.Next, durable: st.Next}
	ks.commit.cond.L = &ks.commit.mu
	return ks, nil
}

// replayStored decodes the snapshot and records of st, in order, and
// hands each entry with its decoded state to f.
func (ks *Keyspace[K, T]) replayStored(st Stored, f func(e ksWire[K], v T) error) error {
	first := st.Next - uint64(len(st.Records))
	for i, b := range slices.Concat([][]byte{st.Snapshot}, st.Records) {
		what := "the snapshot"
		if i > 0 {
			what = fmt.Sprintf("record %d", first+uint64(i-1))
		}
		if i == 0 && b == nil {
			continue
		}
		lim := wire.Limits(ks.cfg.decode)
		lim.MaxBytes = max(cmp.Or(lim.MaxBytes, wire.DefaultLimits.MaxBytes), len(b))
		lim.MaxElements = max(cmp.Or(lim.MaxElements, wire.DefaultLimits.MaxElements), len(b))
		r := wire.NewReader(b, lim)
		es := readEntries(&r, ks.codec)
		if err := r.End(); err != nil {
			return fmt.Errorf("decoding %s: %w", what, err)
		}
		for _, e := range es {
			v := ks.newState()
			if err := unmarshalStored(ks.cfg.decode, v, e.payload); err != nil {
				return fmt.Errorf("decoding %s, key %v: %w", what, e.key, err)
			}
			if err := f(e, v); err != nil {
				return fmt.Errorf("%s, key %v: %w", what, e.key, err)
			}
		}
	}
	return nil
}

// store queues a record of entries es, for a durable keyspace, and notes
// its number for the call to wait for. The caller holds the lock.
func (ks *Keyspace[K, T]) store(es []ksOut) {
	if ks.commit == nil || len(es) == 0 {
		return
	}
	ks.queued = ks.commit.queue(appendEntries(nil, es), ks.clock.Last())
}

// waitStored waits for record seq, if not 0, to be durable.
func (ks *Keyspace[K, T]) waitStored(seq uint64) error {
	if seq == 0 {
		return nil
	}
	if err := ks.commit.wait(seq); err != nil {
		return fmt.Errorf("merge: %s storing: %w", ks.id, err)
	}
	return nil
}

// Compact folds the records of a durable keyspace's store into a new
// snapshot, as [Replica.Compact] does: it rebuilds every key's state from
// the store, not from the keyspace, holding no lock, at the cost of
// O(keyspace) time and memory, so that writers wait for nothing but its
// final write. Records appended meanwhile stay after the new snapshot.
// On a keyspace made by NewKeyspace it does nothing.
func (ks *Keyspace[K, T]) Compact() error {
	ks.mustInit()
	if ks.commit == nil {
		return nil
	}
	return ks.commit.compact(ks.id, func(st Stored) ([]byte, error) {
		states := map[string]T{}
		err := ks.replayStored(st, func(e ksWire[K], v T) error {
			if s, ok := states[string(e.enc)]; ok {
				s.Merge(v)
			} else {
				states[string(e.enc)] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		es := make([]ksOut, 0, len(states))
		for enc, s := range states {
			b, err := s.AppendBinary(nil)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(b, ks.empty) {
				es = append(es, ksOut{key: []byte(enc), payload: b})
			}
		}
		return appendEntries(nil, es), nil
	})
}

// Close waits for what is being committed, and for a running Compact,
// and closes the store of a durable keyspace; later Updates, Receives and
// Compacts fail with [ErrClosed]. On a keyspace made by NewKeyspace it
// does nothing.
func (ks *Keyspace[K, T]) Close() error {
	ks.mustInit()
	if ks.commit == nil {
		return nil
	}
	return ks.commit.close()
}
