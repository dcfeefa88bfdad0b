package merge

import "sort"

// A ksLog is the log of a keyspace's writes: the slot each sequence
// number (kslot.lseq, kslot.rseq) was given to, in the order given. A
// catch-up walks it back from its end to find the keys written since a
// peer's acknowledgement, so that its CPU follows the writes it covers,
// not the keys held (writtenSince).
//
// It holds an entry of every number above base given to a slot. It drops
// the entries every peer has acknowledged as it goes. One that would
// still hold more than ksLogDeltas times the delta buffer's bound (a peer
// far behind) is dropped whole, base moving to the last number: a
// catch-up from before then scans every key, its CPU following the
// dataset (about 0.1 s a million keys) while its bytes still follow the
// difference. Its memory is thus a few thousand entries of 16 bytes while
// the peers keep up, and at most about ksLogDeltas entries a delta of the
// buffer's bound (256 KiB at the default bound) when one does not: not
// one a key.
type ksLog[K Key, T any] struct {
	ents  []ksWrite[K, T]
	base  uint64
	limit int // the length at which to drop what the peers acknowledged
}

// A ksWrite is one entry of a ksLog: slot s was given number seq.
type ksWrite[K Key, T any] struct {
	s   *kslot[K, T]
	seq uint64
}

const (
	// ksLogMin is the least length at which a ksLog drops the entries
	// the peers acknowledged.
	ksLogMin = 4096
	// ksLogDeltas bounds a ksLog, in delta buffers' bounds.
	ksLogDeltas = 4
)

// current reports whether w is its slot's last number and the slot is
// still in the keyspace (rehash empties the encoding of one it drops).
func (w *ksWrite[K, T]) current() bool {
	return w.seq == max(w.s.lseq, w.s.rseq) && len(w.s.enc) != 0
}

// noteWritten logs the number s was just given, ks.next.
func (ks *Keyspace[K, T]) noteWritten(s *kslot[K, T]) {
	l := &ks.written
	if len(ks.peers) == 0 {
		// No peer to catch up; one added later starts from nothing,
		// which a scan serves.
		l.drop(ks.next)
		return
	}
	l.ents = append(l.ents, ksWrite[K, T]{s: s, seq: ks.next})
	if len(l.ents) < max(l.limit, ksLogMin) {
		return
	}
	low := ks.next
	for _, p := range ks.peers {
		low = min(low, p.acked)
	}
	if low > l.base {
		i := sort.Search(len(l.ents), func(i int) bool { return l.ents[i].seq > low })
		n := copy(l.ents, l.ents[i:])
		clear(l.ents[n:])
		l.ents, l.base = l.ents[:n], low
	}
	bound := ksLogDeltas * ks.cfg.maxDeltas
	if len(l.ents) > bound {
		l.drop(ks.next)
	}
	l.limit = min(2*len(l.ents), bound+1)
}

// drop empties l, which then covers the numbers above base.
func (l *ksLog[K, T]) drop(base uint64) {
	clear(l.ents)
	l.ents, l.base, l.limit = l.ents[:0], base, 0
}

// since returns the slots of the keys with a number above low — for a
// remote peer, an lseq above low — but those in carried, walking back
// from the log's end; nil if the log does not reach back to low.
func (l *ksLog[K, T]) since(low uint64, remote bool, carried map[K]bool) []*kslot[K, T] {
	if low < l.base {
		return nil
	}
	slots := []*kslot[K, T]{}
	for i := len(l.ents) - 1; i >= 0 && l.ents[i].seq > low; i-- {
		w := &l.ents[i]
		s := w.s
		if w.current() && (s.lseq > low || !remote && s.rseq > low) && !carried[s.key] {
			slots = append(slots, s)
		}
	}
	return slots
}
