package merge

import (
	"errors"
	"fmt"
	"math"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// Retiring replicas. Every writer ID that ever wrote to a state keeps an
// entry in its causal context: with a new writer per incarnation, a node
// that restarts every deploy adds one each time, and so does every
// ephemeral replica. Replica.Retire says that some of them are gone for
// good; the crdt types then count every event of theirs as seen and drop
// their entries once they hold none of their data (crdt.IDRange), so that
// contexts follow the live writers. See Retiring in the package
// documentation for the rule that must hold first.

// ErrRetired is matched (errors.Is) by the error of [Replica.Receive] for
// a message from a retired writer: an incarnation that [Replica.Retire]
// retired, here or at a peer whose retirement reached this replica. Such
// a message is never merged; it is counted in PeerLag.RetiredRefused.
var ErrRetired = errors.New("merge: message from a retired writer")

// ErrRetireLive is matched (errors.Is) by the errors about a retirement
// that covers a live writer: [Replica.Retire] of a range holding this
// replica's writer or a peer's current one, and [Replica.Receive] of a
// payload whose retired ranges do (counted in PeerLag.ClaimsRefused):
// that writer's next events would count as seen everywhere, and vanish.
var ErrRetireLive = errors.New("merge: retiring a live writer")

// ErrNotRetirable is matched (errors.Is) by the error of [Replica.Retire]
// on a replica whose state type has no Retire method: the counters and
// last-writer-wins types, which keep an entry per writer for its total
// or its write (see crdt.IDRange).
var ErrNotRetirable = errors.New("merge: the state type cannot retire writers")

// A retirer is a state type that retires writers: every causal type of
// package crdt.
type retirer[T any] interface {
	Retire(lo, hi vclock.ReplicaID) (T, error)
	Retired() []crdt.IDRange
}

// Retire retires replica id's writers, for good: id's earlier
// incarnations if id is this replica or a peer whose current incarnation
// this replica knows, every incarnation of id otherwise (a node removed
// for good; it may not come back under the same ID). Their events count
// as seen, the data they wrote stays, their entries leave the state's
// causal context once it holds none of their data, and later messages
// from them are refused with [ErrRetired]. The retirement is a delta
// like an update's: on the store (for a replica made by [Open]) before
// Retire returns, and sent to every peer, which retires them too.
//
// The rule to follow first: every event the retired writers issued has
// reached this replica — a node that is gone delivered its last
// messages, directly or through peers (equal digests with every peer is
// a sure sign). An event of theirs that has not is lost: every replica
// that learns of the retirement takes it for removed, and drops it where
// it holds it. Nothing else breaks: the replicas still converge.
//
// Retire fails with [ErrRetireLive] if the range would cover this
// replica's writer or a peer's current one (so a peer must have been
// heard from before its earlier incarnations are retired), and with
// [ErrNotRetirable] if the state type has no Retire. Like Update, it
// fails with [ErrClosed] once a store Append has failed.
func (r *Replica[T]) Retire(id vclock.ReplicaID) error {
	r.mustInit()
	if _, ok := any(r.newState()).(retirer[T]); !ok {
		return fmt.Errorf("%w: %T", ErrNotRetirable, r.newState())
	}
	g := r.retireRange(id)
	if err := r.checkRetire([]crdt.IDRange{g}); err != nil {
		return err
	}
	var rerr error
	err := r.Update(func(_ vclock.ReplicaID, s T) T {
		d, err := any(s).(retirer[T]).Retire(g.Lo, g.Hi)
		rerr = err
		return d
	})
	if rerr != nil {
		return rerr
	}
	r.mu.Lock()
	r.forgetRetired(g)
	r.mu.Unlock()
	return err
}

// retireRange returns the writer IDs Retire(id) retires.
func (r *Replica[T]) retireRange(id vclock.ReplicaID) crdt.IDRange {
	r.mu.Lock()
	defer r.mu.Unlock()
	lo := writerOf(id, 0)
	switch p, ok := r.peers[id]; {
	case id == r.id:
		return crdt.IDRange{Lo: lo, Hi: writerOf(id, r.inc-1)}
	case ok && p.inc != 0:
		return crdt.IDRange{Lo: lo, Hi: writerOf(id, p.inc-1)}
	}
	return crdt.IDRange{Lo: lo, Hi: writerOf(id, math.MaxUint64)}
}

// checkRetire returns an error matching ErrRetireLive if a range of gs
// covers this replica's writer or a peer's current one.
func (r *Replica[T]) checkRetire(gs []crdt.IDRange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveCovered(gs)
}

// liveCovered is checkRetire under the lock.
func (r *Replica[T]) liveCovered(gs []crdt.IDRange) error {
	for _, g := range gs {
		if g.Contains(r.writer) {
			return fmt.Errorf("%w: %s covers this replica's writer %s", ErrRetireLive, g, r.writer)
		}
		for id, p := range r.peers {
			if w := writerOf(id, p.inc); p.inc != 0 && g.Contains(w) {
				return fmt.Errorf("%w: %s covers %s, the current writer of peer %s", ErrRetireLive, g, w, id)
			}
		}
	}
	return nil
}

// retiredWriter reports whether writer w is retired in the state.
func (r *Replica[T]) retiredWriter(w vclock.ReplicaID) bool {
	rt, ok := any(r.state).(retirer[T])
	if !ok {
		return false
	}
	for _, g := range rt.Retired() {
		if g.Contains(w) {
			return true
		}
	}
	return false
}

// forgetRetired drops what the replica keeps of the writers of g: the
// largest event each has shown.
func (r *Replica[T]) forgetRetired(g crdt.IDRange) {
	for w := range r.seen {
		if g.Contains(w) {
			delete(r.seen, w)
		}
	}
}

// takeRetired retires in the state, after it merged payload, the ranges
// payload carries, so that the state frees the entries they stand for.
func (r *Replica[T]) takeRetired(payload T) {
	pr, ok := any(payload).(retirer[T])
	if !ok {
		return
	}
	gs := pr.Retired()
	if len(gs) == 0 {
		return
	}
	rt := any(r.state).(retirer[T])
	for _, g := range gs {
		if _, err := rt.Retire(g.Lo, g.Hi); err == nil {
			r.forgetRetired(g)
		}
	}
}
