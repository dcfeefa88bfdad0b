package crdt_test

import (
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// optional is what the State contract lists as the optional methods
// the types of the package have: package merge finds them by type
// assertion, so a type without one would silently skip a check there.
// The lists below make that a compile error of the package's tests.
type optional interface {
	Version() *vclock.Clock
	VersionOf(vclock.ReplicaID) uint64
	Edits() uint64
	Clamp(vclock.ReplicaID, uint64)
}

// unclamped is optional without Clamp, which a BCounter does not have:
// clamping a replica's totals one by one could leave it decrements and
// transfers beyond the rights it is left with.
type unclamped interface {
	Version() *vclock.Clock
	VersionOf(vclock.ReplicaID) uint64
	Edits() uint64
}

var (
	_ optional  = (*crdt.GCounter)(nil)
	_ optional  = (*crdt.PNCounter)(nil)
	_ optional  = (*crdt.CCounter)(nil)
	_ unclamped = (*crdt.BCounter)(nil)
	_ optional  = (*crdt.GSet[string])(nil)
	_ optional  = (*crdt.TwoPSet[string])(nil)
	_ optional  = (*crdt.ORSet[string])(nil)
	_ optional  = (*crdt.RWSet[string])(nil)
	_ optional  = (*crdt.LWWRegister[string])(nil)
	_ optional  = (*crdt.MVRegister[string])(nil)
	_ optional  = (*crdt.EWFlag)(nil)
	_ optional  = (*crdt.DWFlag)(nil)
	_ optional  = (*crdt.LWWMap[string, string])(nil)
	_ optional  = (*crdt.ORMap[string, *crdt.ORSet[string]])(nil)
	_ optional  = (*crdt.List[string])(nil)
)
