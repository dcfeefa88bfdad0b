package crdt

// State is the contract of a replicated state: what package merge
// replicates, what package crdttest checks and what package sim
// simulates. Every type of this package implements it with T its own
// pointer type (State[*ORSet[string]] is *ORSet[string]); a type of
// yours that implements it replicates, checks and simulates the same way.
//
// Beyond the methods, a State must be a join-semilattice: Merge is
// commutative, associative and idempotent, as judged by Equal and by the
// encoding. crdttest.Check verifies this, with the other rules below, on
// random states and deltas of a type.
//
// A State may also have these methods, which package merge uses when
// present; every type of this package has the first four but for a
// BCounter, which has no Clamp:
//
//	Version() *vclock.Clock       the largest event counter of each writer
//	                              it holds: a replica refuses a state that
//	                              claims events their writer never issued
//	VersionOf(id vclock.ReplicaID) uint64
//	                              Version().Get(id), without building the
//	                              clock: merge calls it on every update
//	Clamp(id vclock.ReplicaID, n uint64)
//	                              drop every event of id beyond counter n,
//	                              as if they had never been seen
//	Edits() uint64                the changes made through its mutators (of
//	                              a delta: the mutator calls it joins)
//	MaxTimestamp() hlc.Timestamp  the latest write timestamp it carries (the
//	                              last-writer-wins types): a replica refuses
//	                              one beyond its sender's clock
type State[T any] interface {
	// Merge joins other into the receiver. It must not change other.
	Merge(other T)
	// Clone returns an independent copy.
	Clone() T
	// Equal reports whether the receiver and other hold the same state;
	// two Equal states have identical encodings.
	Equal(other T) bool
	// ValidateMerge reports, as an error matching ErrInconsistent, that
	// other and the receiver are two states no two correct replicas could
	// produce, before other is merged. A type whose events carry no
	// identity (a grow-only set, a counter of totals) returns nil.
	ValidateMerge(other T) error
	// AppendBinary appends the canonical encoding of the receiver to b:
	// Equal states give identical bytes.
	AppendBinary(b []byte) ([]byte, error)
	// MarshalBinary returns the canonical encoding, as AppendBinary(nil).
	MarshalBinary() ([]byte, error)
	// UnmarshalBinary replaces the receiver, a new state, with the one
	// encoded in data, without keeping data. Bad input is an error, never
	// a panic.
	UnmarshalBinary(data []byte) error
}

// Every type of the package implements the contract.
var (
	_ State[*GCounter]                      = (*GCounter)(nil)
	_ State[*PNCounter]                     = (*PNCounter)(nil)
	_ State[*CCounter]                      = (*CCounter)(nil)
	_ State[*BCounter]                      = (*BCounter)(nil)
	_ State[*GSet[string]]                  = (*GSet[string])(nil)
	_ State[*TwoPSet[string]]               = (*TwoPSet[string])(nil)
	_ State[*ORSet[string]]                 = (*ORSet[string])(nil)
	_ State[*RWSet[string]]                 = (*RWSet[string])(nil)
	_ State[*LWWRegister[string]]           = (*LWWRegister[string])(nil)
	_ State[*MVRegister[string]]            = (*MVRegister[string])(nil)
	_ State[*EWFlag]                        = (*EWFlag)(nil)
	_ State[*DWFlag]                        = (*DWFlag)(nil)
	_ State[*LWWMap[string, string]]        = (*LWWMap[string, string])(nil)
	_ State[*ORMap[string, *ORSet[string]]] = (*ORMap[string, *ORSet[string]])(nil)
	_ State[*List[string]]                  = (*List[string])(nil)
)
