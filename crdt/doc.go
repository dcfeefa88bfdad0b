// Package crdt provides conflict-free replicated data types: values that
// replicas in different regions update independently and merge in any
// order, duplicated or delayed, to the same result.
//
// # Types
//
//	Counters   GCounter (grow-only), PNCounter (up and down),
//	           CCounter (causal: resets take away what they observed),
//	           BCounter (bounded: never below zero, rights in escrow)
//	Sets       GSet (grow-only), TwoPSet (remove once), ORSet (add-wins,
//	           observed-remove, no tombstones), RWSet (remove-wins)
//	Registers  LWWRegister (last writer by hybrid logical clock),
//	           MVRegister (keeps concurrent writes as siblings)
//	Flags      EWFlag (enable-wins), DWFlag (disable-wins)
//	Maps       LWWMap (a last-writer-wins register per key),
//	           ORMap (observed-remove keys, nested CRDT values: causal
//	           types, and GCounter and PNCounter at one entry a replica)
//	Sequences  List (ordered, FugueMax: concurrent runs never interleave;
//	           stable Positions; deletions leave tombstones)
//
// # The contract
//
// Every type implements [State], the contract package merge replicates,
// package crdttest checks and package sim simulates; a type of yours that
// implements it is replicated, checked and simulated the same way.
//
// # Laws
//
// Every type is a join-semilattice: Merge is commutative, associative and
// idempotent, so replicas that have received the same updates, in whatever
// order and however often, are Equal and encode to the same bytes. The
// package's tests check these laws, and convergence under reordering,
// duplication, loss and clock skew, with crdt/crdttest — which you can run
// on your own types too.
//
// # Deltas
//
// Mutators take the writer's vclock.ReplicaID where the type needs one
// (GSet and TwoPSet do not: a union is the same whoever adds), apply the
// change, and return a delta: a value of the same type holding only the
// change, never nil, which merges into other replicas like any state. Ship
// deltas instead of full states and replication costs O(change). A delta of
// a causal type (ORSet, RWSet, the flags) says which elements its causal
// context speaks for, so merging it costs O(delta), not O(state).
//
// # Causal types
//
// ORSet, RWSet, MVRegister, EWFlag, DWFlag, CCounter and ORMap pair a dot
// store with a causal context (Almeida, Shoker and Baquero, "Delta State Replicated Data
// Types", 2018). A dot names one write; the context remembers every dot a
// replica has seen, compactly — a run per replica plus the dots beyond a
// gap. A dot in the context but not in the store was overwritten or
// removed, which is how removes work without tombstones. Inside an ORMap
// the values share the map's context, so a removed key leaves nothing
// behind and an update concurrent with the removal survives as what the
// remover had not observed.
//
// A GCounter or PNCounter is causal only inside an ORMap: there each
// replica's count carries one dot, replaced at each of its increments, so
// a key costs O(replicas) however many increments it takes. A removal
// concurrent with an increment by replica r then brings the key back with
// r's whole count — every increment r made to it since r last saw it
// removed, those the remover had seen included — and every other
// replica's count is gone; a nested CCounter keeps instead exactly the
// increments the remover had not seen, at one entry per increment. Choose
// CCounter when a removal must take away precisely what it observed (a
// cart's quantities), PNCounter or GCounter for keys that take many
// increments (views, quotas).
//
// # Retiring writers
//
// Every replica ID that wrote to a causal state keeps an entry in its
// context, and in every encoding of it: with a writer per incarnation
// (package merge) or ephemeral replicas, the context grows with every ID
// ever used. The Retire methods of the causal types retire an [IDRange]
// of IDs — IDs of one length between two bounds, such as every earlier
// incarnation of a node — for good: the context then counts every dot of
// theirs as seen, listed or not; what they wrote stays, under its dots;
// their entries leave the encoding as soon as the state holds no dot of
// theirs, and leave memory at the next Retire (the state rebuilds itself
// from its encoding once they are many). Retire returns a delta, to
// merge into the other replicas like any; the ranges travel in every
// encoding that follows, so a state that merges one retires them too.
//
// The rule, before retiring: every event the writers issued has reached
// the state, and they will issue no more. Then nothing visible changes,
// and a late delta of theirs changes nothing either. A dot of theirs the
// state had not seen is taken for removed — by every replica the
// retirement reaches — and a mutator that writes under a retired ID
// panics. The counters (GCounter, PNCounter, BCounter) and the
// last-writer-wins types keep a total or a write per writer, which a
// retirement could not take without changing the value: they have no
// Retire.
//
// # Validation
//
// Merge trusts its argument. Each type has a ValidateMerge method that
// reports, as a *ValidationError matching ErrInconsistent, a pair of states
// no two correct replicas could produce — the same dot carrying different
// data, as when two writers share a ReplicaID. The rule it checks: every
// dot the other state holds that the receiver has seen must be held by
// the receiver in the same place (key, element, tag) with the same data,
// or nowhere; it covers the whole of both states, so a dot reused under
// another key of an ORMap is found. It costs O(other) lookups, plus one
// pass over the receiver's dots when the other state holds dots the
// receiver removed, and keeps nothing. Run it on states and deltas from
// peers you do not trust, before Merge.
//
// A state also reports what it claims, for a replica to check against
// what it knows (package merge does): Version, the largest event counter
// of each writer it has seen; MaxTimestamp, the latest write timestamp
// it carries. Clamp(id, n) makes a state as if it had seen no event of
// id beyond n, and merges like any state. Edits counts the changes made
// through a state's mutators, or the mutator calls a delta joins, so that
// a caller can tell a delta that misses a change it made. An encoder
// refuses a counter above vclock.MaxCounter (vclock.ErrCounterRange), so
// that it never writes what a decoder refuses.
//
// # Concurrency
//
// No type is safe for concurrent use: guard each with a mutex, or keep one
// per goroutine and merge. Clone copies; copying a struct value does not.
//
// # Wire format
//
// Every type has MarshalBinary, UnmarshalBinary, AppendBinary and msgpack
// hooks (github.com/vmihailenco/msgpack/v5), all writing one canonical
// encoding: a msgpack array [format version, kind tag, fields...]. Equal
// states give identical bytes. Decoders accept only canonical input, check
// every length against the bytes present before allocating, check each
// type's invariants, never panic, and report errors matching ErrMalformed
// or ErrUnsupported with a *DecodeError saying where the input went wrong.
// Element and value types are encoded with msgpack; strings, integers and
// booleans, named or not, take a fast path. An element type must encode
// injectively — distinct values to distinct bytes — which rules out floats
// (NaN, -0) and structs that differ only in unexported fields.
// docs/wire-format.md specifies the bytes.
package crdt
