// Package vclock provides version vectors, dots and causal contexts: the
// logical clocks that tell which events a replica has seen.
//
// # Clocks
//
// A [Clock] (version vector) counts, per [ReplicaID], the events seen. Two
// clocks compare as exactly one of [Equal], [Before], [After] or
// [Concurrent]; Concurrent is how replicas learn that two writes happened
// without either seeing the other. A replica missing from a clock counts as
// zero, and a clock never stores a zero.
//
// # Dots and causal contexts
//
// A [Dot] names a single event: replica r's n-th. A [Context] is a set of
// dots kept compact, as in Almeida, Shoker and Baquero's delta-state CRDTs:
// a version vector for the contiguous run of each replica and a dot cloud
// for the dots beyond a gap. It is how the causal types of package crdt
// remember removed elements without tombstones — a dot in the context but
// not in the store was removed — and what their Context methods return;
// inside a state crdt keeps the same structure in a form of its own, with
// replicas interned as small integers.
//
// # Laws
//
// [Clock.Merge] and [Context.Merge] are joins: commutative, associative and
// idempotent. Compare is the partial order whose join Merge is.
//
// # Concurrency
//
// None of the types is safe for concurrent use; guard them, or give each
// goroutine its own [Clock.Clone].
//
// # Wire format
//
// Each type has MarshalBinary/UnmarshalBinary, AppendBinary and msgpack
// hooks (github.com/vmihailenco/msgpack/v5) writing one canonical encoding:
// a msgpack array [format version, kind tag, fields...] in which replicas
// appear in ascending byte order. Equal values give identical bytes, and
// decoders reject anything else with an error matching [ErrMalformed] that
// says where the input went wrong. docs/wire-format.md specifies the bytes.
package vclock
