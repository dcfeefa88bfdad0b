package wire

import "strconv"

// Version is the format version written at the start of every top-level
// value. A reader rejects version 0, never valid, with [ErrMalformed] and
// any other version with [ErrUnsupported]. A
// released (version, kind) encoding never changes: a new encoding of one
// kind gets a new kind tag, so that old readers reject only that kind; the
// version moves only for changes to the header or the msgpack rules (see
// docs/wire-format.md, "Versions and compatibility").
const Version = 1

// A Kind tags the type of a top-level value. Kinds are append-only: a tag is
// never reused or renumbered, and 0 is never valid.
type Kind uint8

// Only append to this list.
const (
	KindTimestamp Kind = 1 // hlc.Timestamp
	KindClock     Kind = 2 // vclock.Clock
	KindDot       Kind = 3 // vclock.Dot
	KindContext   Kind = 4 // vclock.Context

	KindGCounter    Kind = 16 // crdt.GCounter
	KindPNCounter   Kind = 17 // crdt.PNCounter
	KindGSet        Kind = 18 // crdt.GSet
	KindTwoPSet     Kind = 19 // crdt.TwoPSet
	KindORSet       Kind = 20 // crdt.ORSet
	KindRWSet       Kind = 21 // crdt.RWSet
	KindLWWRegister Kind = 22 // crdt.LWWRegister
	KindMVRegister  Kind = 23 // crdt.MVRegister
	KindEWFlag      Kind = 24 // crdt.EWFlag
	KindDWFlag      Kind = 25 // crdt.DWFlag
	KindLWWMap      Kind = 26 // crdt.LWWMap
	KindORMap       Kind = 27 // crdt.ORMap
	KindCCounter    Kind = 28 // crdt.CCounter
	KindBCounter    Kind = 29 // crdt.BCounter
	KindList        Kind = 30 // crdt.List

	KindMergeDelta  Kind = 32 // merge: a group of deltas
	KindMergeState  Kind = 33 // merge: a full state
	KindMergeAck    Kind = 34 // merge: an acknowledgement
	KindMergeDigest Kind = 35 // merge: a state digest

	KindKeyspaceDelta  Kind = 40 // merge: keyspace deltas
	KindKeyspaceAck    Kind = 41 // merge: a keyspace acknowledgement
	KindKeyspaceTree   Kind = 42 // merge: keyspace tree hashes
	KindKeyspaceStates Kind = 43 // merge: keyspace states of keys
)

var kindNames = map[Kind]string{
	KindTimestamp: "Timestamp",
	KindClock:     "Clock",
	KindDot:       "Dot",
	KindContext:   "Context",

	KindGCounter:    "GCounter",
	KindPNCounter:   "PNCounter",
	KindGSet:        "GSet",
	KindTwoPSet:     "TwoPSet",
	KindORSet:       "ORSet",
	KindRWSet:       "RWSet",
	KindLWWRegister: "LWWRegister",
	KindMVRegister:  "MVRegister",
	KindEWFlag:      "EWFlag",
	KindDWFlag:      "DWFlag",
	KindLWWMap:      "LWWMap",
	KindORMap:       "ORMap",
	KindCCounter:    "CCounter",
	KindBCounter:    "BCounter",
	KindList:        "List",

	KindMergeDelta:  "MergeDelta",
	KindMergeState:  "MergeState",
	KindMergeAck:    "MergeAck",
	KindMergeDigest: "MergeDigest",

	KindKeyspaceDelta:  "KeyspaceDelta",
	KindKeyspaceAck:    "KeyspaceAck",
	KindKeyspaceTree:   "KeyspaceTree",
	KindKeyspaceStates: "KeyspaceStates",
}

// String returns the Go type name the kind encodes, or "Kind(n)" for an
// unknown tag.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Known reports whether k is a tag this release can decode.
func (k Kind) Known() bool {
	_, ok := kindNames[k]
	return ok
}
