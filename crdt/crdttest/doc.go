// Package crdttest checks that a replicated data type is a correct
// state-based CRDT, in the manner of net/http/httptest: give it a way to make
// an empty state and a generator of random operations, and it checks the
// laws every replica relies on.
//
// # What it checks
//
//   - Laws: Merge is commutative, associative and idempotent, judged both by
//     Equal and by identical MarshalBinary bytes, on states reached by random
//     operations and deliveries and on the deltas those operations returned;
//     and Merge never changes its argument; ValidateMerge accepts every
//     pair of them, and AppendBinary agrees with MarshalBinary.
//   - Deltas: merging the delta an operation returned into the state before
//     the operation gives the state after it, also when a third replica's
//     state is merged in first.
//   - Round trip: UnmarshalBinary(MarshalBinary(x)) is Equal to x and
//     re-encodes to the same bytes; the msgpack hooks agree, if the type has
//     them.
//   - Invariant, if the Spec has one: it holds on every replica's state
//     after every step, on every delta an operation returns, on every join
//     of states and deltas the law checks make, and on every state decoded
//     from bytes.
//   - Convergence: 2 to 5 replicas, whose hybrid logical clocks read skewed
//     physical clocks, apply random operations; their deltas travel as bytes
//     and are delivered in random order, some twice, some never — a dropped
//     delta is covered at the end by one full-state merge from its sender.
//     Every replica must end Equal, with identical bytes, and the optional
//     model check sees the final state with the causal history of every
//     operation.
//
// # Causality
//
// The [History] records, for each operation, which earlier operations had
// reached its replica — by a delta, a full state, or because it issued them —
// when it ran. [History.HappenedBefore] is that relation; it is exactly what
// the replica's state could have observed, which is what models of
// add-wins sets, multi-value registers and last-writer-wins registers need.
// Every message also carries its sender's hybrid logical clock reading, which
// the receiver's clock takes in with Update, as a transport built on
// converge's merge package does.
//
// # Sizes
//
// Each check runs rapid's -rapid.checks cases (converge's own tests run
// 1,000, or 250 under the race detector). A case makes at most
// [Spec.MaxSteps] steps.
package crdttest
