package converge_test

// The golden vectors under testdata/golden pin converge's wire format byte
// for byte, and docs/wire-format.md specifies it. The tests here keep the
// code, the vectors and the document in step:
//
//   - TestGoldenVectors builds every case from code and compares its bytes
//     with the files; go test -run Golden . -update rewrites the files.
//   - TestGoldenDecode decodes every vector, with the typed UnmarshalBinary
//     and with crdt.Decode, and checks Equal, String and re-encoding.
//   - TestGoldenDocExamples checks that every hex example of the document
//     decodes to what the document says.
//   - TestGoldenMaxDepth checks how ORMap nesting counts against MaxDepth.
//   - TestGoldenMutations truncates every vector at every length and flips
//     bits of every byte: each result must be an error matching
//     ErrMalformed or ErrUnsupported, or a state that re-encodes to exactly
//     the mutated bytes, and nothing may panic.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/spectest"
	"github.com/converge-go/converge/vclock"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the code")

const (
	goldenDir = "testdata/golden"
	specPath  = "docs/wire-format.md"
)

// Item is the struct element type of the golden vectors. msgpack writes a
// struct as a map of its fields, in declaration order, keyed by their
// msgpack names.
type Item struct {
	SKU string `msgpack:"sku"`
	Qty int    `msgpack:"qty"`
}

// FloatKey is a struct element holding a float, for the rejected -0
// example of docs/wire-format.md.
type FloatKey struct{ F float64 }

// A value is what every golden case encodes and decodes.
type value interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
	String() string
}

// goldenTypes maps the type names used in the golden files and in the
// document's examples to a constructor of a zero value of that type. The
// names are Go syntax with the package names; an ORMap's bytes do not say
// its value type, so only the name tells it.
var goldenTypes = map[string]func() value{
	"hlc.Timestamp":            func() value { return new(hlc.Timestamp) },
	"vclock.Clock":             func() value { return new(vclock.Clock) },
	"vclock.Dot":               func() value { return new(vclock.Dot) },
	"vclock.Context":           func() value { return new(vclock.Context) },
	"crdt.GCounter":            func() value { return new(crdt.GCounter) },
	"crdt.PNCounter":           func() value { return new(crdt.PNCounter) },
	"crdt.GSet[string]":        func() value { return new(crdt.GSet[string]) },
	"crdt.GSet[int]":           func() value { return new(crdt.GSet[int]) },
	"crdt.GSet[Item]":          func() value { return new(crdt.GSet[Item]) },
	"crdt.GSet[FloatKey]":      func() value { return new(crdt.GSet[FloatKey]) },
	"crdt.TwoPSet[string]":     func() value { return new(crdt.TwoPSet[string]) },
	"crdt.TwoPSet[int]":        func() value { return new(crdt.TwoPSet[int]) },
	"crdt.TwoPSet[Item]":       func() value { return new(crdt.TwoPSet[Item]) },
	"crdt.ORSet[string]":       func() value { return new(crdt.ORSet[string]) },
	"crdt.ORSet[int]":          func() value { return new(crdt.ORSet[int]) },
	"crdt.ORSet[Item]":         func() value { return new(crdt.ORSet[Item]) },
	"crdt.RWSet[string]":       func() value { return new(crdt.RWSet[string]) },
	"crdt.RWSet[int]":          func() value { return new(crdt.RWSet[int]) },
	"crdt.RWSet[Item]":         func() value { return new(crdt.RWSet[Item]) },
	"crdt.LWWRegister[string]": func() value { return new(crdt.LWWRegister[string]) },
	"crdt.LWWRegister[int]":    func() value { return new(crdt.LWWRegister[int]) },
	"crdt.LWWRegister[Item]":   func() value { return new(crdt.LWWRegister[Item]) },
	"crdt.MVRegister[string]":  func() value { return new(crdt.MVRegister[string]) },
	"crdt.MVRegister[int]":     func() value { return new(crdt.MVRegister[int]) },
	"crdt.MVRegister[Item]":    func() value { return new(crdt.MVRegister[Item]) },
	"crdt.EWFlag":              func() value { return new(crdt.EWFlag) },
	"crdt.DWFlag":              func() value { return new(crdt.DWFlag) },
	"crdt.CCounter":            func() value { return new(crdt.CCounter) },
	"crdt.BCounter":            func() value { return new(crdt.BCounter) },
	"crdt.List[string]":        func() value { return new(crdt.List[string]) },
	"crdt.List[rune]":          func() value { return new(crdt.List[rune]) },
	"crdt.GSet[float32]":       func() value { return new(crdt.GSet[float32]) },    // only in the document
	"crdt.GSet[any]":           func() value { return new(crdt.GSet[any]) },        // only in the document
	"crdt.LWWRegister[any]":    func() value { return new(crdt.LWWRegister[any]) }, // only in the document

	"crdt.LWWMap[string, string]": func() value { return new(crdt.LWWMap[string, string]) },
	"crdt.LWWMap[int, string]":    func() value { return new(crdt.LWWMap[int, string]) },
	"crdt.LWWMap[string, Item]":   func() value { return new(crdt.LWWMap[string, Item]) },

	"crdt.ORMap[string, *crdt.CCounter]":                      func() value { return new(crdt.ORMap[string, *crdt.CCounter]) },
	"crdt.ORMap[string, *crdt.LWWRegister[string]]":           func() value { return new(crdt.ORMap[string, *crdt.LWWRegister[string]]) },
	"crdt.ORMap[string, *crdt.MVRegister[string]]":            func() value { return new(crdt.ORMap[string, *crdt.MVRegister[string]]) },
	"crdt.ORMap[string, *crdt.ORSet[string]]":                 func() value { return new(crdt.ORMap[string, *crdt.ORSet[string]]) },
	"crdt.ORMap[string, *crdt.RWSet[string]]":                 func() value { return new(crdt.ORMap[string, *crdt.RWSet[string]]) },
	"crdt.ORMap[string, *crdt.EWFlag]":                        func() value { return new(crdt.ORMap[string, *crdt.EWFlag]) },
	"crdt.ORMap[string, *crdt.DWFlag]":                        func() value { return new(crdt.ORMap[string, *crdt.DWFlag]) },
	"crdt.ORMap[string, *crdt.GCounter]":                      func() value { return new(crdt.ORMap[string, *crdt.GCounter]) },
	"crdt.ORMap[string, *crdt.PNCounter]":                     func() value { return new(crdt.ORMap[string, *crdt.PNCounter]) },
	"crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]": func() value { return new(crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]) },
	"crdt.ORMap[string, *crdt.List[string]]":                  func() value { return new(crdt.ORMap[string, *crdt.List[string]]) },
}

// A goldenCase is one vector as the code builds it.
type goldenCase struct {
	name, desc string
	typ        string // a key of goldenTypes
	v          value
}

// A goldenKind is the content of one golden file: the cases of one kind.
type goldenKind struct {
	file  string
	kind  string // the Go type name, as in the kind table
	tag   int
	cases func() []goldenCase
}

// goldenFile is the JSON form of a golden file.
type goldenFile struct {
	Kind  string       `json:"kind"`
	Tag   int          `json:"tag"`
	Cases []goldenJSON `json:"cases"`
}

// goldenJSON is the JSON form of one case. String is what the Go String
// method of the decoded value returns, for people reading the file; Hex is
// the encoding in lowercase hexadecimal.
type goldenJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	String      string `json:"string"`
	Hex         string `json:"hex"`
}

// The fixed physical time of the golden clocks: 2026-11-25T17:38:35.123Z.
var goldenEpoch = time.Date(2026, 11, 25, 17, 38, 35, 123_000_000, time.UTC)

// fixedClock returns an HLC whose physical clock stands still at
// goldenEpoch plus skew, so that its timestamps are the same on every run.
func fixedClock(skew time.Duration) *hlc.Clock {
	ns := goldenEpoch.Add(skew).UnixNano()
	return hlc.New(hlc.WithPhysicalClock(func() int64 { return ns }))
}

func ts(t hlc.Timestamp) *hlc.Timestamp { return &t }
func dot(d vclock.Dot) *vclock.Dot      { return &d }

// merged returns a fresh T with every state merged into it.
func merged[T any, P interface {
	*T
	Merge(P)
}](states ...P) P {
	out := P(new(T))
	for _, s := range states {
		out.Merge(s)
	}
	return out
}

var goldenKinds = []goldenKind{
	{"timestamp.json", "Timestamp", 1, timestampCases},
	{"clock.json", "Clock", 2, clockCases},
	{"dot.json", "Dot", 3, dotCases},
	{"context.json", "Context", 4, contextCases},
	{"gcounter.json", "GCounter", 16, gcounterCases},
	{"pncounter.json", "PNCounter", 17, pncounterCases},
	{"gset.json", "GSet", 18, gsetCases},
	{"twopset.json", "TwoPSet", 19, twopsetCases},
	{"orset.json", "ORSet", 20, orsetCases},
	{"rwset.json", "RWSet", 21, rwsetCases},
	{"lwwregister.json", "LWWRegister", 22, lwwregisterCases},
	{"mvregister.json", "MVRegister", 23, mvregisterCases},
	{"ewflag.json", "EWFlag", 24, ewflagCases},
	{"dwflag.json", "DWFlag", 25, dwflagCases},
	{"lwwmap.json", "LWWMap", 26, lwwmapCases},
	{"ormap.json", "ORMap", 27, func() []goldenCase {
		return append(append(ormapCases(), ormapCounterCases()...), ormapListCases()...)
	}},
	{"ccounter.json", "CCounter", 28, ccounterCases},
	{"bcounter.json", "BCounter", 29, bcounterCases},
	{"list.json", "List", 30, listCases},
}

func timestampCases() []goldenCase {
	c := fixedClock(0)
	first := c.Now()
	second := c.Now()
	eu := fixedClock(5 * time.Millisecond)
	received, err := c.Update(eu.Now())
	if err != nil {
		panic(err)
	}
	const typ = "hlc.Timestamp"
	return []goldenCase{
		{"zero", "the zero Timestamp, 1970-01-01T00:00:00.000Z/0: a positive fixint", typ, ts(0)},
		{"fixint-max", "logical part 127, physical 0: the largest positive fixint", typ, ts(hlc.MakeTimestamp(0, 127))},
		{"uint8", "logical part 128: uint8 form cc", typ, ts(hlc.MakeTimestamp(0, 128))},
		{"uint16", "logical part 65535: uint16 form cd", typ, ts(hlc.MakeTimestamp(0, 65535))},
		{"uint32", "physical 1 ms, logical 0 (integer 65536): uint32 form ce", typ, ts(hlc.MakeTimestamp(1, 0))},
		{"now", "a clock's first Now at 2026-11-25T17:38:35.123Z: physical part in ms << 16, uint64 form cf", typ, ts(first)},
		{"now-logical", "the same clock's second Now within the same millisecond: logical part 1", typ, ts(second)},
		{"update", "the clock after Update with a timestamp from a clock 5 ms ahead: that physical time, logical part 1", typ, ts(received)},
		{"max", "MaxTimestamp: all 64 bits set", typ, ts(hlc.MaxTimestamp)},
	}
}

func clockCases() []goldenCase {
	var one vclock.Clock
	one.Tick("us-east")
	var many vclock.Clock
	for range 7 {
		many.Tick("ap-south")
	}
	many.Merge(vclock.FromMap(map[vclock.ReplicaID]uint64{"eu-west": 300, "us-east": 70000}))
	const typ = "vclock.Clock"
	return []goldenCase{
		{"empty", "the empty clock: an empty map", typ, &vclock.Clock{}},
		{"one-writer", "us-east ticked once", typ, &one},
		{"many-writers", "three replicas, counts in fixint, uint16 and uint32 forms, replicas in byte order", typ, &many},
		{"replica-order", `replicas "b", "aa" and "a": written in byte order a, aa, b (not by length, unlike elements)`, typ,
			vclock.FromMap(map[vclock.ReplicaID]uint64{"b": 1, "aa": 2, "a": 3})},
		{"max-counter", "a count of MaxCounter, 2^63-1, the largest a decoder accepts", typ,
			vclock.FromMap(map[vclock.ReplicaID]uint64{"us-east": vclock.MaxCounter})},
	}
}

func dotCases() []goldenCase {
	const typ = "vclock.Dot"
	return []goldenCase{
		{"first", "us-east's first event", typ, dot(vclock.Dot{Replica: "us-east", Counter: 1})},
		{"uint16", "eu-west's 300th event", typ, dot(vclock.Dot{Replica: "eu-west", Counter: 300})},
		{"max-counter", "the largest counter a decoder accepts, 2^63-1", typ, dot(vclock.Dot{Replica: "a", Counter: vclock.MaxCounter})},
	}
}

func contextCases() []goldenCase {
	var run vclock.Context
	for range 3 {
		run.Next("us-east")
	}
	var gaps vclock.Context
	for _, d := range []vclock.Dot{
		{Replica: "us-east", Counter: 1}, {Replica: "us-east", Counter: 2}, {Replica: "us-east", Counter: 3},
		{Replica: "eu-west", Counter: 1}, {Replica: "eu-west", Counter: 2}, {Replica: "eu-west", Counter: 5}, {Replica: "eu-west", Counter: 7},
		{Replica: "ap-south", Counter: 4},
	} {
		gaps.Add(d)
	}
	const typ = "vclock.Context"
	return []goldenCase{
		{"empty", "no dots: two empty maps", typ, &vclock.Context{}},
		{"run", "us-east:1..3 seen in order: version vector only, empty cloud", typ, &run},
		{"gaps", "us-east:1..3, eu-west:1,2,5,7 and ap-south:4: the dots beyond a gap go to the cloud; ap-south has a cloud and no run", typ, &gaps},
	}
}

func gcounterCases() []goldenCase {
	var one crdt.GCounter
	one.Inc("us-east", 3)
	var many crdt.GCounter
	many.Inc("us-east", 3)
	many.Inc("eu-west", 200)
	many.Inc("ap-south", 70000)
	var big crdt.GCounter
	big.Inc("us-east", 1<<64-1)
	var state crdt.GCounter
	state.Inc("us-east", 3)
	state.Inc("eu-west", 1)
	delta := state.Inc("us-east", 2)
	const typ = "crdt.GCounter"
	return []goldenCase{
		{"empty", "the zero counter", typ, &crdt.GCounter{}},
		{"one-writer", "us-east added 3", typ, &one},
		{"many-writers", "us-east 3, eu-west 200, ap-south 70000, replicas in byte order", typ, &many},
		{"delta", "the delta of us-east's Inc by 2 on a counter where it had 3 and eu-west 1: us-east's new count alone", typ, delta},
		{"max-count", "a count of 2^64-1: counter counts use the whole uint64 range", typ, &big},
	}
}

func pncounterCases() []goldenCase {
	var inc crdt.PNCounter
	inc.Inc("us-east", 5)
	var both crdt.PNCounter
	both.Inc("us-east", 5)
	both.Inc("eu-west", 2)
	both.Dec("eu-west", 10)
	both.Dec("ap-south", 1)
	delta := both.Dec("us-east", 1)
	const typ = "crdt.PNCounter"
	return []goldenCase{
		{"empty", "the zero counter: two empty maps", typ, &crdt.PNCounter{}},
		{"increments", "us-east added 5", typ, &inc},
		{"many-writers", "increments us-east 5, eu-west 2; decrements eu-west 10, ap-south 1, us-east 1: value -5", typ, &both},
		{"delta", "the delta of us-east's Dec by 1: its decrement count alone, no increments", typ, delta},
	}
}

func gsetCases() []goldenCase {
	var one crdt.GSet[string]
	one.Add("socks")
	var many crdt.GSet[string]
	for _, e := range []string{"socks", "hat", "b", "aa", "", "a string of 32 bytes takes str8."} {
		many.Add(e)
	}
	var raw crdt.GSet[string]
	raw.Add("\xff\xfe")
	var d crdt.GSet[string]
	d.Add("hat")
	delta := d.Add("socks")
	var ints crdt.GSet[int]
	for _, e := range []int{0, 5, 127, 128, 200, 70000, -1, -32, -33, -100, -40000} {
		ints.Add(e)
	}
	var items crdt.GSet[Item]
	items.Add(Item{"sock", 2})
	items.Add(Item{"hat", 1})
	return []goldenCase{
		{"empty", "the empty set", "crdt.GSet[string]", &crdt.GSet[string]{}},
		{"one", `one element, "socks"`, "crdt.GSet[string]", &one},
		{"many", "strings in canonical order: by encoding, so shorter first, then bytewise; the 32-byte one takes the str8 form", "crdt.GSet[string]", &many},
		{"not-utf8", "a string element is bytes: invalid UTF-8 is written and read back as is", "crdt.GSet[string]", &raw},
		{"delta", `the delta of Add("socks"): that element alone`, "crdt.GSet[string]", delta},
		{"ints", "int elements in canonical order, the byte order of their shortest encodings: 0..127, 128..255, 256..65535, 65536.., then -128..-33, -32768..-129, .., then -32..-1", "crdt.GSet[int]", &ints},
		{"structs", "struct elements: msgpack maps of the fields in declaration order, ordered by their encodings", "crdt.GSet[Item]", &items},
	}
}

func twopsetCases() []goldenCase {
	var added crdt.TwoPSet[string]
	added.Add("socks")
	added.Add("hat")
	var removed crdt.TwoPSet[string]
	removed.Add("socks")
	removed.Add("hat")
	removed.Remove("hat")
	var never crdt.TwoPSet[string]
	never.Remove("scarf")
	var s crdt.TwoPSet[string]
	addDelta := s.Add("socks")
	rmDelta := s.Remove("socks")
	readd := s.Add("socks")
	var ints crdt.TwoPSet[int]
	ints.Add(1)
	ints.Add(-1)
	ints.Add(300)
	ints.Remove(1)
	var items crdt.TwoPSet[Item]
	items.Add(Item{"hat", 1})
	items.Add(Item{"sock", 2})
	items.Remove(Item{"hat", 1})
	return []goldenCase{
		{"empty", "the empty set: two empty arrays", "crdt.TwoPSet[string]", &crdt.TwoPSet[string]{}},
		{"added", "socks and hat added", "crdt.TwoPSet[string]", &added},
		{"removed", "socks and hat added, hat removed: hat appears in the removed array only", "crdt.TwoPSet[string]", &removed},
		{"remove-never-added", "scarf removed without being added: the removal is recorded", "crdt.TwoPSet[string]", &never},
		{"add-delta", `the delta of Add("socks")`, "crdt.TwoPSet[string]", addDelta},
		{"remove-delta", `the delta of Remove("socks")`, "crdt.TwoPSet[string]", rmDelta},
		{"readd-delta", `the delta of Add("socks") after socks was removed: socks removed, never added again`, "crdt.TwoPSet[string]", readd},
		{"ints", "int elements: 1, -1, 300 added, 1 removed", "crdt.TwoPSet[int]", &ints},
		{"structs", "struct elements: two added, one removed", "crdt.TwoPSet[Item]", &items},
	}
}

func orsetCases() []goldenCase {
	const typ = "crdt.ORSet[string]"
	var one crdt.ORSet[string]
	addDelta := one.Add("us-east", "socks")

	var rm crdt.ORSet[string]
	rm.Add("us-east", "socks")
	rmDelta := rm.Remove("socks")

	var j crdt.ORSet[string]
	j.Add("us-east", "socks")
	joined := j.Add("us-east", "hat")
	joined.Merge(j.Remove("socks"))

	var us, eu crdt.ORSet[string]
	usA := us.Add("us-east", "socks")
	usB := us.Add("us-east", "hat")
	euA := eu.Add("eu-west", "scarf")
	many := merged(usA, usB, euA) // deltas merged into a zero, full, state

	// Concurrent adds of one element: two dots.
	var a, b crdt.ORSet[string]
	concurrent := merged(a.Add("us-east", "socks"), b.Add("eu-west", "socks"))

	// Removing leaves only the context: no tombstone.
	var gone crdt.ORSet[string]
	gone.Add("us-east", "socks")
	gone.Remove("socks")
	goneFull := merged(&gone)

	// A gap: us-east receives eu-west's second add but not its first.
	var src, dst crdt.ORSet[string]
	src.Add("eu-west", "hat")
	second := src.Add("eu-west", "scarf")
	dst.Add("us-east", "socks")
	dst.Merge(second)

	// Re-adding replaces the dot: us-east:2 only.
	var re crdt.ORSet[string]
	re.Add("us-east", "socks")
	re.Add("us-east", "socks")

	var ints crdt.ORSet[int]
	ints.Add("us-east", 7)
	ints.Add("eu-west", -7)
	ints.Add("us-east", 1000)
	var items crdt.ORSet[Item]
	items.Add("us-east", Item{"sock", 2})
	items.Add("eu-west", Item{"hat", 1})

	// Retired writers: app~1 and app~2 wrote, app~2 removed app~1's
	// element, then both were retired; app~2's element stays.
	var ret crdt.ORSet[string]
	ret.Add("app~1", "socks")
	ret.Add("app~2", "hat")
	ret.Remove("socks")
	ret.Add("us-east", "scarf")
	retireDelta, err := ret.Retire("app~0", "app~9")
	if err != nil {
		panic(err)
	}

	return []goldenCase{
		{"empty", "the zero ORSet: a full state with no replicas, no entries", typ, &crdt.ORSet[string]{}},
		{"one", `a full state: us-east added "socks" with dot us-east:1`, typ, &one},
		{"add-delta", `the delta of us-east's Add("socks"): partial, context {us-east:1}, entry us-east:1 socks`, typ, addDelta},
		{"remove-delta", `the delta of Remove("socks") after us-east:1 added it: partial, context {us-east:1}, no entries, socks listed as removed`, typ, rmDelta},
		{"joined-delta", `an Add("hat") delta joined with a Remove("socks") delta: partial, hat with us-east:2, socks removed`, typ, joined},
		{"many-writers", "us-east added socks and hat, eu-west added scarf: a full state, entries grouped by replica", typ, many},
		{"concurrent-adds", "us-east and eu-west added socks concurrently: one element with two dots, one per replica", typ, concurrent},
		{"removed", "us-east added then removed socks: the context keeps us-east:1, the store is empty (no tombstone)", typ, goneFull},
		{"gap", "us-east holds socks (us-east:1) and received eu-west's second add (scarf, eu-west:2) but not its first: eu-west:2 is in the cloud", typ, &dst},
		{"readd", "us-east added socks twice: the second add replaced the first dot; entry gap 2", typ, &re},
		{"ints", "int elements 7 (us-east:1), -7 (eu-west:1), 1000 (us-east:2)", "crdt.ORSet[int]", &ints},
		{"structs", "struct elements added by two replicas", "crdt.ORSet[Item]", &items},
		{"retired", "app~0..app~9 retired: app~1, whose element was removed, leaves the context; app~2 holds hat and stays; the range follows the entries in the context array", typ, &ret},
		{"retire-delta", "the delta of Retire(app~0, app~9): partial, no replica, the range alone", typ, retireDelta},
	}
}

func rwsetCases() []goldenCase {
	const typ = "crdt.RWSet[string]"
	var one crdt.RWSet[string]
	addDelta := one.Add("us-east", "socks")

	var r crdt.RWSet[string]
	r.Add("us-east", "socks")
	rmDelta := r.Remove("us-east", "socks")
	removed := merged(&r)

	var j crdt.RWSet[string]
	joined := j.Add("us-east", "hat")
	joined.Merge(j.Remove("us-east", "socks"))

	// An add and a concurrent remove: the element holds an add dot and a
	// removal dot, and is absent.
	var a, b crdt.RWSet[string]
	a.Add("us-east", "socks")
	b.Merge(&a)
	a.Add("us-east", "socks") // us-east:2 replaces us-east:1
	rm := b.Remove("eu-west", "socks")
	conflict := merged(&a, rm)

	var never crdt.RWSet[string]
	never.Remove("eu-west", "scarf")

	var ints crdt.RWSet[int]
	ints.Add("us-east", 1)
	ints.Add("us-east", 2)
	ints.Remove("eu-west", 2)
	var items crdt.RWSet[Item]
	items.Add("us-east", Item{"hat", 1})
	items.Remove("us-east", Item{"sock", 2})

	return []goldenCase{
		{"empty", "the zero RWSet", typ, &crdt.RWSet[string]{}},
		{"one", `a full state: us-east added socks (gap 1, tag 0: 02)`, typ, &one},
		{"add-delta", `the delta of us-east's Add("socks")`, typ, addDelta},
		{"remove-delta", `the delta of us-east's Remove("socks") after its add: socks holds the removal dot us-east:2 (gap 2, tag 1: 05)`, typ, rmDelta},
		{"removed", "the full state after that remove: socks keeps its removal dot and is absent", typ, removed},
		{"joined-delta", `an Add("hat") delta joined with a Remove("socks") delta`, typ, joined},
		{"concurrent-add-remove", "us-east re-added socks (us-east:2) while eu-west removed it (eu-west:1, tagged): both dots kept, socks absent (remove wins)", typ, conflict},
		{"remove-never-added", "eu-west removed scarf, never added: a removal dot alone", typ, &never},
		{"ints", "int elements: 1 added, 2 added then removed by another replica", "crdt.RWSet[int]", &ints},
		{"structs", "struct elements: one added, one removed", "crdt.RWSet[Item]", &items},
	}
}

func lwwregisterCases() []goldenCase {
	us, eu := fixedClock(0), fixedClock(5*time.Millisecond)
	var one crdt.LWWRegister[string]
	delta := one.Set("us-east", "blue", us.Now())

	var two crdt.LWWRegister[string]
	two.Set("us-east", "blue", us.Now())
	two.Set("eu-west", "green", eu.Now()) // 5 ms ahead: wins

	tie := hlc.MakeTimestamp(uint64(goldenEpoch.UnixMilli()), 0)
	var a, b crdt.LWWRegister[string]
	a.Set("eu-west", "green", tie)
	b.Set("us-east", "blue", tie)
	tied := merged(&a, &b)

	var ints crdt.LWWRegister[int]
	ints.Set("us-east", -5, us.Now())
	var items crdt.LWWRegister[Item]
	items.Set("us-east", Item{"hat", 1}, us.Now())
	return []goldenCase{
		{"unset", "never written: the header alone, no fields", "crdt.LWWRegister[string]", &crdt.LWWRegister[string]{}},
		{"one-write", `us-east wrote "blue" at its clock's first timestamp`, "crdt.LWWRegister[string]", &one},
		{"delta", "the delta of that Set: the same write", "crdt.LWWRegister[string]", delta},
		{"later-write-wins", `us-east wrote "blue", then eu-west, 5 ms ahead, wrote "green": green wins`, "crdt.LWWRegister[string]", &two},
		{"tie", "equal timestamps: the larger ReplicaID, us-east, wins", "crdt.LWWRegister[string]", tied},
		{"int", "an int value, -5", "crdt.LWWRegister[int]", &ints},
		{"struct", "a struct value", "crdt.LWWRegister[Item]", &items},
	}
}

func mvregisterCases() []goldenCase {
	const typ = "crdt.MVRegister[string]"
	var one crdt.MVRegister[string]
	delta := one.Set("us-east", "blue")

	var over crdt.MVRegister[string]
	over.Set("us-east", "blue")
	overDelta := over.Set("us-east", "green")

	var a, b crdt.MVRegister[string]
	a.Set("us-east", "blue")
	b.Set("eu-west", "green")
	siblings := merged(&a, &b)

	resolved := siblings.Clone()
	resolved.Set("ap-south", "teal")

	var ints crdt.MVRegister[int]
	ints.Set("us-east", 42)
	var items crdt.MVRegister[Item]
	items.Set("us-east", Item{"hat", 1})
	return []goldenCase{
		{"empty", "never written: empty replica list, context and siblings", typ, &crdt.MVRegister[string]{}},
		{"one-write", `us-east wrote "blue" with dot us-east:1`, typ, &one},
		{"delta", "the delta of that Set", typ, delta},
		{"overwrite", `us-east wrote "blue" then "green": one sibling, us-east:2`, typ, &over},
		{"overwrite-delta", `the delta of the second Set: context {us-east:2}, sibling us-east:2 "green"`, typ, overDelta},
		{"siblings", `us-east wrote "blue" while eu-west wrote "green": two siblings, in dot order`, typ, siblings},
		{"resolved", `ap-south, having seen both siblings, wrote "teal": one sibling, the context keeps all three dots`, typ, resolved},
		{"int", "an int value", "crdt.MVRegister[int]", &ints},
		{"struct", "a struct value", "crdt.MVRegister[Item]", &items},
	}
}

func ewflagCases() []goldenCase {
	var on crdt.EWFlag
	enable := on.Enable("us-east")
	var off crdt.EWFlag
	off.Enable("us-east")
	disable := off.Disable("us-east")
	disabled := merged(&off)
	var j crdt.EWFlag
	j.Enable("us-east")
	joined := j.Disable("us-east")
	joined.Merge(j.Enable("us-east"))
	var a, b crdt.EWFlag
	both := merged(a.Enable("us-east"), b.Enable("eu-west"))
	var c, d crdt.EWFlag
	c.Enable("us-east")
	d.Merge(&c)
	c.Enable("us-east") // us-east:2 replaces us-east:1
	dis := d.Disable("eu-west")
	conflict := merged(&c, dis)
	const typ = "crdt.EWFlag"
	return []goldenCase{
		{"empty", "the zero flag: disabled", typ, &crdt.EWFlag{}},
		{"enabled", "us-east enabled it: element true with dot us-east:1", typ, &on},
		{"enable-delta", "the delta of that Enable", typ, enable},
		{"disable-delta", "the delta of Disable after us-east:1: context {us-east:1}, true listed as removed", typ, disable},
		{"disabled", "the full state after that Disable: context only", typ, disabled},
		{"joined-delta", "a Disable delta joined with a later Enable delta: enabled by us-east:2", typ, joined},
		{"concurrent-enables", "us-east and eu-west enabled it concurrently: two dots", typ, both},
		{"enable-wins", "us-east re-enabled (us-east:2) while eu-west disabled (removing us-east:1): enabled", typ, conflict},
	}
}

func dwflagCases() []goldenCase {
	var on crdt.DWFlag
	enable := on.Enable("us-east")
	var off crdt.DWFlag
	off.Enable("us-east")
	disable := off.Disable("us-east")
	disabled := merged(&off)
	var j, k crdt.DWFlag
	joined := j.Enable("us-east")
	joined.Merge(k.Disable("eu-west"))
	var c, d crdt.DWFlag
	c.Enable("us-east")
	d.Merge(&c)
	c.Enable("us-east")
	dis := d.Disable("eu-west")
	conflict := merged(&c, dis)
	const typ = "crdt.DWFlag"
	return []goldenCase{
		{"empty", "the zero flag: disabled", typ, &crdt.DWFlag{}},
		{"enabled", "us-east enabled it: element true with an untagged dot us-east:1", typ, &on},
		{"enable-delta", "the delta of that Enable", typ, enable},
		{"disable-delta", "the delta of us-east's Disable: true with the tagged dot us-east:2", typ, disable},
		{"disabled", "the full state after that Disable: disabled, the removal dot kept", typ, disabled},
		{"joined-delta", "us-east's Enable delta joined with eu-west's concurrent Disable delta: true holds us-east:1 and the tagged eu-west:1, disabled", typ, joined},
		{"disable-wins", "us-east re-enabled (us-east:2) while eu-west disabled (eu-west:1, tagged): disabled", typ, conflict},
	}
}

func lwwmapCases() []goldenCase {
	const typ = "crdt.LWWMap[string, string]"
	us, eu, ap := fixedClock(0), fixedClock(5*time.Millisecond), fixedClock(10*time.Millisecond)

	var one crdt.LWWMap[string, string]
	one.Set("us-east", "color", "blue", us.Now())

	var d crdt.LWWMap[string, string]
	d.Set("us-east", "color", "blue", us.Now())
	setDelta := d.Set("us-east", "size", "M", us.Now())
	delDelta := d.Delete("us-east", "color", us.Now())

	// us-east's writes are all overwritten: it is no longer a writer.
	var many crdt.LWWMap[string, string]
	many.Set("us-east", "color", "blue", us.Now())
	many.Set("us-east", "size", "M", us.Now())
	many.Set("eu-west", "color", "green", eu.Now())
	many.Set("eu-west", "fit", "slim", eu.Now())
	many.Delete("ap-south", "size", ap.Now())

	tie := hlc.MakeTimestamp(uint64(goldenEpoch.UnixMilli()), 0)
	var a, b crdt.LWWMap[string, string]
	a.Set("eu-west", "color", "green", tie)
	b.Set("us-east", "color", "blue", tie)
	tied := merged(&a, &b)

	var ints crdt.LWWMap[int, string]
	ints.Set("us-east", 7, "seven", us.Now())
	ints.Set("us-east", -1, "minus one", us.Now())
	ints.Set("us-east", 300, "three hundred", us.Now())
	var items crdt.LWWMap[string, Item]
	items.Set("us-east", "gift", Item{"hat", 1}, us.Now())
	return []goldenCase{
		{"empty", "the zero LWWMap: no writers, no entries", typ, &crdt.LWWMap[string, string]{}},
		{"one-write", `us-east set color to "blue": writer 0, untagged (00)`, typ, &one},
		{"set-delta", `the delta of us-east's Set("size", "M") on a map holding color: that write alone`, typ, setDelta},
		{"delete-delta", `the delta of us-east's Delete("color"): writer 0 tagged as a delete (01), value nil`, typ, delDelta},
		{"many-writers", "us-east set color and size; eu-west, 5 ms ahead, set color and fit; ap-south, 10 ms ahead, deleted size: us-east wrote nothing that stands, so only eu-west and ap-south are listed; size keeps a tombstone", typ, &many},
		{"tie", "eu-west and us-east set color at equal timestamps: the larger ReplicaID, us-east, wins, and eu-west, whose write lost, is not listed", typ, tied},
		{"int-keys", "int keys in the order of their encodings: 7, 300, -1", "crdt.LWWMap[int, string]", &ints},
		{"struct-values", "a struct value: a msgpack map of its fields in declaration order", "crdt.LWWMap[string, Item]", &items},
	}
}

func ccounterCases() []goldenCase {
	const typ = "crdt.CCounter"
	var one crdt.CCounter
	one.Inc("us-east", 3)

	var d crdt.CCounter
	d.Inc("us-east", 3)
	incDelta := d.Inc("us-east", 2)

	var many crdt.CCounter
	many.Inc("us-east", 3)
	many.Dec("us-east", 1)
	var eu crdt.CCounter
	eu.Inc("eu-west", 300)
	eu.Dec("eu-west", 200)
	both := merged(&many, &eu)

	// us-east resets after two increments, then increments again.
	var r crdt.CCounter
	r.Inc("us-east", 3)
	r.Inc("us-east", 4)
	resetDelta := r.Reset()
	r.Inc("us-east", 1)

	// eu-west increments concurrently with us-east's reset: its
	// increment survives, us-east's are gone.
	var x, y crdt.CCounter
	x.Inc("us-east", 3)
	y.Merge(&x)
	euInc := y.Inc("eu-west", 5)
	x.Reset()
	concurrent := merged(&x, euInc)

	var big crdt.CCounter
	big.Inc("us-east", 1<<64-1) // clamped to MaxInt64
	big.Dec("us-east", 70000)
	return []goldenCase{
		{"empty", "the zero CCounter: no replicas, no events", typ, &crdt.CCounter{}},
		{"one-inc", "us-east added 3: event us-east:1 with amount 3", typ, &one},
		{"inc-delta", "the delta of us-east's second Inc, by 2: event us-east:2 alone, context {us-east:2}", typ, incDelta},
		{"many-writers", "us-east added 3 and subtracted 1, eu-west added 300 and subtracted 200: four events, amounts signed; value 102", typ, both},
		{"reset-delta", "the delta of us-east's Reset after its increments us-east:1 and us-east:2: context only", typ, resetDelta},
		{"after-reset", "us-east added 3 and 4, reset, then added 1: one event, us-east:3; the context keeps 1..3", typ, &r},
		{"concurrent-reset", "us-east reset its counter (it had seen only us-east:1) while eu-west, concurrently, added 5: eu-west's event survives", typ, concurrent},
		{"large-amounts", "an Inc by 2^64-1, clamped to 2^63-1, and a Dec by 70000: amounts in the uint 64 and int 32 forms", typ, &big},
	}
}

func bcounterCases() []goldenCase {
	const typ = "crdt.BCounter"
	must := func(d *crdt.BCounter, err error) *crdt.BCounter {
		if err != nil {
			panic(err)
		}
		return d
	}
	// us-east receives 100 units of stock and sells 3.
	var us crdt.BCounter
	stock := us.Inc("us-east", 100)
	must(us.Dec("us-east", 3))

	// us-east grants eu-west 40 of its rights; eu-west sells 2 of them.
	eu := us.Clone()
	give := must(us.Transfer("us-east", "eu-west", 40))
	eu.Merge(give)
	sale := must(eu.Dec("eu-west", 2))

	// ap-south asks for 10; us-east grants them.
	ap := eu.Clone()
	ask := ap.Request("ap-south", 10)
	us.Merge(eu)
	us.Merge(ask)
	us.Grant("us-east", 0)
	return []goldenCase{
		{"empty", "the zero BCounter: no replicas, value 0", typ, &crdt.BCounter{}},
		{"inc-delta", "the delta of us-east's Inc by 100: its record alone, trailing zero totals left out", typ, stock},
		{"transfer-delta", "the delta of us-east granting 40 to eu-west after selling 3: us-east's increments and the transfer, and eu-west's empty record", typ, give},
		{"dec-delta", "the delta of eu-west selling 2 of the 40 it received: what justifies it (us-east's increments and its transfer to eu-west) and eu-west's decrements", typ, sale},
		{"request-delta", "the delta of ap-south asking for 10 rights: its requests total alone", typ, ask},
		{"granted", "us-east after granting ap-south's request: value 95; rights us-east 47, eu-west 38, ap-south 10", typ, &us},
	}
}

func listCases() []goldenCase {
	const typ = "crdt.List[string]"
	var one crdt.List[string]
	one.Append("us-east", "milk", "eggs", "tea")

	var d crdt.List[string]
	d.Append("us-east", "milk", "tea")
	insDelta := d.Insert("us-east", 1, "eggs")
	delDelta := d.Delete(0)

	// us-east and eu-west both insert after "milk", concurrently: each
	// run stays whole, eu-west's first (its id is smaller).
	var a crdt.List[string]
	a.Append("us-east", "milk")
	b := a.Clone()
	a.InsertAll("us-east", 1, "eggs", "tea")
	b.InsertAll("eu-west", 1, "bread", "jam")
	both := merged(&a, b)

	// A delete then an insert where the deleted element was: the new
	// element follows the tombstone and continues the run.
	var text crdt.List[rune]
	text.InsertAll("us-east", 0, []rune("cat")...)
	text.Delete(2)
	text.Insert("us-east", 2, 'r')

	// A delta whose origin is missing: it waits, held but not placed.
	var src crdt.List[string]
	src.Append("us-east", "milk")
	waiting := src.Insert("us-east", 1, "tea")
	return []goldenCase{
		{"empty", "the zero List: no replicas, no elements", typ, &crdt.List[string]{}},
		{"one-run", `us-east appended "milk", "eggs", "tea": one run of three elements, us-east:1..3`, typ, &one},
		{"insert-delta", `the delta of us-east's Insert of "eggs" between "milk" (us-east:1) and "tea" (us-east:2): element us-east:3, origins us-east:1 and us-east:2`, typ, insDelta},
		{"delete-delta", `the delta of us-east's Delete of "milk": the deletion of us-east:1 alone`, typ, delDelta},
		{"concurrent", `us-east inserted "eggs", "tea" and eu-west "bread", "jam" after "milk", concurrently: the runs do not interleave`, typ, both},
		{"tombstone", `"cat", its "t" deleted, then "r" typed in its place: "car"; the tombstone keeps its identity and origins, not its value`, "crdt.List[rune]", &text},
		{"waiting", `the delta of an insert after "milk" alone: the element waits for its left origin, so the list is empty`, typ, waiting},
	}
}

// inc returns an ORMap update that adds n to a CCounter as replica id.
func inc(id vclock.ReplicaID, n uint64) func(*crdt.CCounter) *crdt.CCounter {
	return func(c *crdt.CCounter) *crdt.CCounter { return c.Inc(id, n) }
}

func ormapCases() []goldenCase {
	type Cart = crdt.ORMap[string, *crdt.CCounter]
	const cartType = "crdt.ORMap[string, *crdt.CCounter]"

	var one Cart
	one.Update("socks", inc("us-east", 2))

	// A cart: us-east added 2 socks and a hat; eu-west, having seen the
	// socks, added one more.
	var us, eu Cart
	us.Update("socks", inc("us-east", 2))
	eu.Merge(&us)
	us.Update("hat", inc("us-east", 1))
	eu.Update("socks", inc("eu-west", 1))
	cart := merged(&us, &eu)

	var d Cart
	d.Update("socks", inc("us-east", 2))
	updateDelta := d.Update("socks", inc("us-east", 1))
	removeDelta := d.Remove("socks")
	removed := merged(&d)

	// us-east removes socks while eu-west, concurrently, adds one: the
	// key survives with eu-west's increment only.
	var r1, r2 Cart
	r1.Update("socks", inc("us-east", 2))
	r2.Merge(&r1)
	euAdd := r2.Update("socks", inc("eu-west", 1))
	r1.Remove("socks")
	addWins := merged(&r1, euAdd)

	// A profile of LWW fields; eu-west, 5 ms ahead, wrote email while
	// us-east did: both writes are kept, eu-west's is read.
	type Profile = crdt.ORMap[string, *crdt.LWWRegister[string]]
	const profileType = "crdt.ORMap[string, *crdt.LWWRegister[string]]"
	usClock, euClock := fixedClock(0), fixedClock(5*time.Millisecond)
	set := func(id vclock.ReplicaID, c *hlc.Clock, v string) func(*crdt.LWWRegister[string]) *crdt.LWWRegister[string] {
		return func(r *crdt.LWWRegister[string]) *crdt.LWWRegister[string] { return r.Set(id, v, c.Now()) }
	}
	var pu, pe Profile
	pu.Update("name", set("us-east", usClock, "Ada"))
	pe.Merge(&pu)
	pu.Update("email", set("us-east", usClock, "ada@us.example"))
	pe.Update("email", set("eu-west", euClock, "ada@eu.example"))
	profile := merged(&pu, &pe)
	var pd Profile
	pd.Update("name", set("us-east", usClock, "Ada"))
	profileDelta := pd.Update("name", set("us-east", usClock, "Ada L."))

	type Tags = crdt.ORMap[string, *crdt.ORSet[string]]
	const tagsType = "crdt.ORMap[string, *crdt.ORSet[string]]"
	add := func(id vclock.ReplicaID, e string) func(*crdt.ORSet[string]) *crdt.ORSet[string] {
		return func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(id, e) }
	}
	var tu, te Tags
	tu.Update("colors", add("us-east", "red"))
	tu.Update("colors", add("us-east", "blue"))
	te.Update("sizes", add("eu-west", "M"))
	tags := merged(&tu, &te)
	tagsDelta := tu.Update("colors", add("us-east", "green"))
	elemRemoveDelta := tu.Update("colors", func(s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Remove("red") })

	type Carts = crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]
	const cartsType = "crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]"
	in := func(k string, id vclock.ReplicaID, n uint64) func(*Cart) *Cart {
		return func(c *Cart) *Cart { return c.Update(k, inc(id, n)) }
	}
	var nu, ne Carts
	nu.Update("ada", in("socks", "us-east", 2))
	nu.Update("ada", in("hat", "us-east", 1))
	ne.Update("bob", in("scarf", "eu-west", 1))
	nested := merged(&nu, &ne)
	nestedDelta := nu.Update("ada", in("socks", "us-east", 1))

	var mv crdt.ORMap[string, *crdt.MVRegister[string]]
	var mv2 crdt.ORMap[string, *crdt.MVRegister[string]]
	mv.Update("color", func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] { return r.Set("us-east", "blue") })
	mv2.Update("color", func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] { return r.Set("eu-west", "green") })
	mvSiblings := merged(&mv, &mv2)

	var ew crdt.ORMap[string, *crdt.EWFlag]
	ew.Update("dark-mode", func(f *crdt.EWFlag) *crdt.EWFlag { return f.Enable("us-east") })

	var dw1, dw2 crdt.ORMap[string, *crdt.DWFlag]
	dw1.Update("beta", func(f *crdt.DWFlag) *crdt.DWFlag { return f.Enable("us-east") })
	dw2.Update("beta", func(f *crdt.DWFlag) *crdt.DWFlag { return f.Disable("eu-west") })
	dw := merged(&dw1, &dw2)

	var rw crdt.ORMap[string, *crdt.RWSet[string]]
	rw.Update("blocked", func(s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Add("us-east", "mallory") })
	rw.Update("blocked", func(s *crdt.RWSet[string]) *crdt.RWSet[string] { return s.Remove("us-east", "eve") })

	return []goldenCase{
		{"empty", "the zero ORMap: a full state with no replicas, no keys", cartType, &Cart{}},
		{"one-key", "us-east added 2 socks: key socks holds a CCounter with event us-east:1", cartType, &one},
		{"cart", "us-east added 2 socks and a hat; eu-west, having seen the socks, added one more: socks holds two events", cartType, cart},
		{"update-delta", "the delta of us-east's Update of socks, Inc by 1: a partial map holding that increment alone", cartType, updateDelta},
		{"remove-delta", "the delta of us-east's Remove(socks) after two increments: context {us-east:1..2}, no entries, socks listed as removed", cartType, removeDelta},
		{"removed", "the full state after that Remove: the context keeps the dots, no key (no tombstone)", cartType, removed},
		{"update-wins", "us-east removed socks while eu-west, concurrently, added one: socks survives holding eu-west's increment alone", cartType, addWins},
		{"profile", "LWWRegister values: us-east wrote name; us-east and eu-west (5 ms ahead) wrote email concurrently: email keeps both writes, eu-west's is read", profileType, profile},
		{"profile-delta", "the delta of us-east's second write to name: the write, and in the context the write it replaced", profileType, profileDelta},
		{"tags", "ORSet values: us-east added red and blue to colors, eu-west added M to sizes", tagsType, tags},
		{"tags-delta", "the delta of us-east adding green to colors: a partial map holding a partial set", tagsType, tagsDelta},
		{"element-remove-delta", "the delta of us-east removing red from colors: the nested set's delta holds no dot, so the map lists colors as a removed key with red's dot in the context; applying it drops only that dot", tagsType, elemRemoveDelta},
		{"two-levels", "ORMap values of CCounters: carts ada (socks 2, hat 1) and bob (scarf 1), all dots in the outer context", cartsType, nested},
		{"two-levels-delta", "the delta of an increment of ada's socks: a partial map holding a partial map holding one event", cartsType, nestedDelta},
		{"mvregister", "MVRegister values: us-east and eu-west wrote color concurrently: two siblings", "crdt.ORMap[string, *crdt.MVRegister[string]]", mvSiblings},
		{"ewflag", "EWFlag values: us-east enabled dark-mode", "crdt.ORMap[string, *crdt.EWFlag]", &ew},
		{"dwflag", "DWFlag values: us-east enabled beta while eu-west disabled it: the key is present, the flag disabled", "crdt.ORMap[string, *crdt.DWFlag]", dw},
		{"rwset", "RWSet values: us-east added mallory to blocked and removed eve (never added): eve keeps its removal dot", "crdt.ORMap[string, *crdt.RWSet[string]]", &rw},
	}
}

// ormapCounterCases are the ORMap vectors of GCounter and PNCounter
// values: one entry a replica, each with a dot.
func ormapCounterCases() []goldenCase {
	type Stock = crdt.ORMap[string, *crdt.PNCounter]
	const stockType = "crdt.ORMap[string, *crdt.PNCounter]"
	pn := func(id vclock.ReplicaID, n uint64, dec bool) func(*crdt.PNCounter) *crdt.PNCounter {
		return func(c *crdt.PNCounter) *crdt.PNCounter {
			if dec {
				return c.Dec(id, n)
			}
			return c.Inc(id, n)
		}
	}
	var su, se Stock
	su.Update("hats", pn("us-east", 3, false))
	stockDelta := su.Update("hats", pn("us-east", 2, false))
	se.Update("hats", pn("eu-west", 1, true))
	stock := merged(&su, &se)
	// us-east removes hats, having seen eu-west's 4 and 1; concurrently
	// eu-west adds 2 more: hats returns with eu-west's whole 7.
	var sr1, sr2 Stock
	sr2.Update("hats", pn("eu-west", 4, false))
	sr2.Update("hats", pn("eu-west", 1, false))
	sr1.Update("hats", pn("us-east", 9, false))
	sr1.Merge(&sr2)
	sr1.Remove("hats")
	srAdd := sr2.Update("hats", pn("eu-west", 2, false))
	stockWins := merged(&sr1, srAdd)

	const viewsType = "crdt.ORMap[string, *crdt.GCounter]"
	var views crdt.ORMap[string, *crdt.GCounter]
	view := func(id vclock.ReplicaID) func(*crdt.GCounter) *crdt.GCounter {
		return func(c *crdt.GCounter) *crdt.GCounter { return c.Inc(id, 1) }
	}
	for _, id := range []vclock.ReplicaID{"us-east", "us-east", "eu-west", "us-east"} {
		views.Update("home", view(id))
	}

	return []goldenCase{
		{"pncounter", "PNCounter values: us-east added 3 then 2 to hats, one entry (us-east:2, up 5, down 0); eu-west took 1, one entry (eu-west:1, up 0, down 1)", stockType, stock},
		{"pncounter-delta", "the delta of us-east's second increment of hats: the entry (us-east:2, up 5, down 0), and in the context the dot us-east:1 it replaced", stockType, stockDelta},
		{"pncounter-update-wins", "us-east removed hats, having seen eu-west's increments 4 and 1, while eu-west, concurrently, added 2: hats returns with eu-west's whole count 7 and none of us-east's 9", stockType, stockWins},
		{"gcounter", "GCounter values: home viewed three times at us-east and once at eu-west, one entry a replica: (eu-west:1, 1) and (us-east:3, 3)", viewsType, &views},
	}
}

func ormapListCases() []goldenCase {
	type Lists = crdt.ORMap[string, *crdt.List[string]]
	const typ = "crdt.ORMap[string, *crdt.List[string]]"
	ins := func(id vclock.ReplicaID, i int, es ...string) func(*crdt.List[string]) *crdt.List[string] {
		return func(l *crdt.List[string]) *crdt.List[string] { return l.InsertAll(id, i, es...) }
	}
	// Two lists; us-east's "todo" after an edit by eu-west.
	var us, eu Lists
	eu.Merge(us.Update("todo", ins("us-east", 0, "milk", "eggs")))
	us.Update("done", ins("us-east", 0, "rent"))
	after := eu.Update("todo", ins("eu-west", 1, "bread"))
	two := merged(&us, &eu)

	// us-east removes todo, having seen milk and eggs; eu-west,
	// concurrently, inserts bread between them.
	var a, b Lists
	b.Merge(a.Update("todo", ins("us-east", 0, "milk", "eggs")))
	rm := a.Remove("todo")
	race := merged(&a, b.Update("todo", ins("eu-west", 1, "bread")))
	return []goldenCase{
		{"list", `List values: us-east wrote "milk", "eggs" to todo (us-east:1..2) and "rent" to done (us-east:3); eu-west inserted "bread" between milk and eggs (eu-west:1)`, typ, two},
		{"list-insert-delta", `the delta of eu-west's insert of "bread" after us-east's "milk": the map's replicas are eu-west's alone, so the list names us-east itself`, typ, after},
		{"list-remove-delta", `the delta of us-east's Remove("todo"): the deletions of milk and eggs, a list of deletions only, under its key`, typ, rm},
		{"list-remove-insert", `us-east removed todo, having seen milk and eggs, while eu-west, concurrently, inserted "bread" between them: todo shows bread alone, placed by the tombstones`, typ, race},
	}
}

// render returns the golden file of k as the code writes it.
func render(t *testing.T, k goldenKind) []byte {
	t.Helper()
	f := goldenFile{Kind: k.kind, Tag: k.tag, Cases: []goldenJSON{}}
	seen := map[string]bool{}
	for _, c := range k.cases() {
		if seen[c.name] {
			t.Fatalf("%s: two cases named %q", k.file, c.name)
		}
		seen[c.name] = true
		if goldenTypes[c.typ] == nil {
			t.Fatalf("%s/%s: unknown type %q", k.file, c.name, c.typ)
		}
		b, err := c.v.MarshalBinary()
		if err != nil {
			t.Fatalf("%s/%s: MarshalBinary: %v", k.file, c.name, err)
		}
		f.Cases = append(f.Cases, goldenJSON{c.name, c.desc, c.typ, c.v.String(), hex.EncodeToString(b)})
	}
	return spectest.JSON(t, f)
}

// A vector is one case read from a golden file.
type vector struct {
	file string
	c    goldenJSON
	b    []byte
}

// id names the vector in messages: file/case.
func (v vector) id() string { return v.file + "/" + v.c.Name }

// readVectors returns every case of every golden file.
func readVectors(t *testing.T) []vector {
	t.Helper()
	var out []vector
	for _, k := range goldenKinds {
		data, err := os.ReadFile(filepath.Join(goldenDir, k.file))
		if err != nil {
			t.Fatalf("%v (run go test -run Golden . -update to create it)", err)
		}
		var f goldenFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", k.file, err)
		}
		for _, c := range f.Cases {
			b, err := hex.DecodeString(c.Hex)
			if err != nil {
				t.Fatalf("%s/%s: %v", k.file, c.Name, err)
			}
			out = append(out, vector{k.file, c, b})
		}
	}
	return out
}

// TestGoldenVectors compares the bytes the code writes with the golden
// files, or rewrites the files with -update.
func TestGoldenVectors(t *testing.T) {
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, k := range goldenKinds {
		names[k.file] = true
		path := filepath.Join(goldenDir, k.file)
		got := render(t, k)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test -run Golden . -update to create it)", err)
			continue
		}
		if bytes.Equal(got, want) {
			continue
		}
		// Say which cases differ.
		var g, w goldenFile
		_ = json.Unmarshal(got, &g)
		if err := json.Unmarshal(want, &w); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		wantCase := map[string]goldenJSON{}
		for _, c := range w.Cases {
			wantCase[c.Name] = c
		}
		for _, c := range g.Cases {
			wc, ok := wantCase[c.Name]
			switch {
			case !ok:
				t.Errorf("%s: case %q is built by the code but not in the file", path, c.Name)
			case c.Hex != wc.Hex:
				t.Errorf("%s/%s: encoding changed:\ngot  %s\nwant %s", path, c.Name, c.Hex, wc.Hex)
			case c != wc:
				t.Errorf("%s/%s: got %+v, want %+v", path, c.Name, c, wc)
			}
			delete(wantCase, c.Name)
		}
		for name := range wantCase {
			t.Errorf("%s: case %q is in the file but the code no longer builds it", path, name)
		}
		t.Errorf("%s differs from what the code writes; if the change is intended, run go test -run Golden . -update", path)
	}
	if *update {
		return
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !names[e.Name()] {
			t.Errorf("%s: a file no test builds", filepath.Join(goldenDir, e.Name()))
		}
	}
}

// TestGoldenDecode decodes every vector with the typed UnmarshalBinary and
// with crdt.Decode, and checks the result against the code's value.
func TestGoldenDecode(t *testing.T) {
	built := map[string]value{}
	for _, k := range goldenKinds {
		for _, c := range k.cases() {
			built[k.file+"/"+c.name] = c.v
		}
	}
	for _, vec := range readVectors(t) {
		v := goldenTypes[vec.c.Type]()
		if err := v.UnmarshalBinary(vec.b); err != nil {
			t.Errorf("%v: UnmarshalBinary: %v", vec.id(), err)
			continue
		}
		if out, _ := v.MarshalBinary(); !bytes.Equal(out, vec.b) {
			t.Errorf("%v: re-encoding: got %x, want %x", vec.id(), out, vec.b)
		}
		if got := jsonString(v.String()); got != vec.c.String {
			t.Errorf("%v: String: got %q, want %q", vec.id(), got, vec.c.String)
		}
		if want, ok := built[vec.id()]; ok {
			if eq, err := equal(v, want); err != nil || !eq {
				t.Errorf("%v: decoded value is not Equal to the one built (%v): got %v, want %v", vec.id(), err, v, want)
			}
		}
		checkDecodeAny(t, vec)
	}
}

// checkDecodeAny checks what crdt.Decode makes of a golden vector: the
// kinds of packages hlc and vclock are not crdt kinds, and an ORMap's value
// type cannot be told from its bytes, so Decode refuses both as
// unsupported; struct elements and values decode, as any, to maps, which
// cannot be set elements and which msgpack re-encodes with their keys
// sorted, not in field order, so Decode refuses them as malformed; every
// other vector decodes to a value with the same String and the same
// encoding.
func checkDecodeAny(t *testing.T, vec vector) {
	t.Helper()
	v, err := crdt.Decode(vec.b)
	switch {
	case !strings.HasPrefix(vec.c.Type, "crdt."), strings.HasPrefix(vec.c.Type, "crdt.ORMap["):
		if !errors.Is(err, crdt.ErrUnsupported) {
			t.Errorf("%v: crdt.Decode: got %v, want an error matching ErrUnsupported", vec.id(), err)
		}
		return
	case strings.HasSuffix(vec.c.Type, "Item]"):
		if !errors.Is(err, crdt.ErrMalformed) {
			t.Errorf("%v: crdt.Decode: got %v, want an error matching ErrMalformed (struct elements decode to maps)", vec.id(), err)
		}
		return
	case err != nil:
		t.Errorf("%v: crdt.Decode: %v", vec.id(), err)
		return
	}
	out, err := v.(value).MarshalBinary()
	if err != nil || !bytes.Equal(out, vec.b) {
		t.Errorf("%v: crdt.Decode then MarshalBinary: got %x, %v; want %x", vec.id(), out, err, vec.b)
	}
	if got := jsonString(v.(value).String()); got != vec.c.String {
		t.Errorf("%v: crdt.Decode String: got %q, want %q", vec.id(), got, vec.c.String)
	}
}

// jsonString returns s as it reads back from a JSON file: encoding/json
// writes each byte of invalid UTF-8 as U+FFFD.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// equal calls a.Equal(b) when the type has an Equal method, and compares
// with == otherwise (Timestamp, Dot).
func equal(a, b value) (bool, error) {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if av.Type() != bv.Type() {
		return false, fmt.Errorf("types %v and %v", av.Type(), bv.Type())
	}
	if m := av.MethodByName("Equal"); m.IsValid() {
		return m.Call([]reflect.Value{bv})[0].Bool(), nil
	}
	return av.Elem().Interface() == bv.Elem().Interface(), nil
}

// A docExample is one worked example of the specification.
type docExample struct {
	line int    // of the hex block's opening fence
	name string // from the <!-- example: ... --> comment before it
	b    []byte
	want map[string]json.RawMessage // the "Decodes to:" object
}

var (
	exampleRe   = regexp.MustCompile(`^<!-- example: (.+) -->$`)
	decodesToRe = regexp.MustCompile("^Decodes to: `(\\{.*\\})`$")
)

// readExamples extracts the worked examples of the specification: a line
// <!-- example: name -->, a ```hex block (pairs of hex digits; # starts a
// comment), and a line Decodes to: `{json}` right after the block.
func readExamples(t *testing.T) []docExample {
	t.Helper()
	blocks, lines := spectest.Blocks(t, specPath, "hex", exampleRe)
	var out []docExample
	for _, bl := range blocks {
		ex := docExample{line: bl.Line, name: bl.Name, b: bl.Bytes}
		i := bl.Next
		for ; i < len(lines) && strings.TrimSpace(lines[i]) == ""; i++ {
		}
		m := []string(nil)
		if i < len(lines) {
			m = decodesToRe.FindStringSubmatch(lines[i])
		}
		if m == nil {
			t.Errorf("%s:%d: hex block not followed by a line Decodes to: `{...}`", specPath, ex.line)
			continue
		}
		if err := json.Unmarshal([]byte(m[1]), &ex.want); err != nil {
			t.Errorf("%s:%d: %v", specPath, i+1, err)
			continue
		}
		out = append(out, ex)
	}
	return out
}

// TestGoldenDocExamples checks every worked example of the specification.
// The "Decodes to" object names the Go type ("type") and either the error
// the bytes must give ("error": "ErrMalformed" or "ErrUnsupported") or the
// decoded value's String ("string"), with any of the properties that
// property knows, each compared with what the decoded value reports.
func TestGoldenDocExamples(t *testing.T) {
	examples := readExamples(t)
	if len(examples) == 0 {
		t.Fatalf("%s: no examples found", specPath)
	}
	covered := map[string]bool{}
	for _, ex := range examples {
		at := fmt.Sprintf("%s:%d (%s)", specPath, ex.line, ex.name)
		var typ string
		if err := json.Unmarshal(ex.want["type"], &typ); err != nil || goldenTypes[typ] == nil {
			t.Errorf("%s: unknown or missing type %s", at, ex.want["type"])
			continue
		}
		v := goldenTypes[typ]()
		err := v.UnmarshalBinary(ex.b)
		if raw, ok := ex.want["error"]; ok {
			var name string
			_ = json.Unmarshal(raw, &name)
			want := map[string]error{"ErrMalformed": crdt.ErrMalformed, "ErrUnsupported": crdt.ErrUnsupported}[name]
			if want == nil {
				t.Errorf("%s: unknown error %s", at, raw)
			} else if !errors.Is(err, want) {
				t.Errorf("%s: got %v, want an error matching %s", at, err, name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: UnmarshalBinary: %v", at, err)
			continue
		}
		covered[typ[:strings.IndexAny(typ+"[", "[")]] = true
		if out, _ := v.MarshalBinary(); !bytes.Equal(out, ex.b) {
			t.Errorf("%s: re-encoding: got %x, want %x", at, out, ex.b)
		}
		if _, ok := ex.want["string"]; !ok {
			t.Errorf("%s: the Decodes to object has no \"string\"", at)
		}
		for key, raw := range ex.want {
			if key == "type" {
				continue
			}
			got, err := property(v, key)
			if err != nil {
				t.Errorf("%s: %v", at, err)
				continue
			}
			if g, w := normJSON(got), normJSON(raw); g != w {
				t.Errorf("%s: %s: got %s, want %s", at, key, g, w)
			}
		}
	}
	for name := range goldenTypes {
		base := name[:strings.IndexAny(name+"[", "[")]
		if !covered[base] {
			t.Errorf("%s: no worked example decodes to a %s", specPath, base)
			covered[base] = true // once per base type
		}
	}
}

// property returns, as JSON, what v reports for a key of a Decodes to
// object: "string" is String(); "keys" is the list of keys the Keys
// iterator of a map yields, in its order; other keys name a method (value
// → Value, len → Len, delta → IsDelta, context → Context, values → Values,
// set and the value of an LWWRegister → Get, replica → Replica, timestamp
// → Timestamp, physical → Physical, logical → Logical, retired →
// Retired). A result that is a
// fmt.Stringer other than a basic type is compared as its String.
func property(v value, key string) ([]byte, error) {
	switch key {
	case "string":
		return json.Marshal(v.String())
	case "keys":
		return keysOf(v)
	}
	methods := map[string]string{
		"value": "Value", "len": "Len", "delta": "IsDelta", "context": "Context",
		"values": "Values", "set": "Get", "replica": "Replica", "timestamp": "Timestamp",
		"physical": "Physical", "logical": "Logical", "retired": "Retired",
	}
	name, ok := methods[key]
	if !ok {
		return nil, fmt.Errorf("unknown property %q", key)
	}
	rv := reflect.ValueOf(v)
	m := rv.MethodByName(name)
	if !m.IsValid() && key == "value" {
		name, m = "Get", rv.MethodByName("Get") // LWWRegister
	}
	if !m.IsValid() {
		return nil, fmt.Errorf("%T has no property %q", v, key)
	}
	res := m.Call(nil)
	var out any
	switch {
	case name == "Get" && key == "set":
		out = res[1].Interface()
	default:
		out = res[0].Interface()
	}
	if s, ok := out.(fmt.Stringer); ok {
		out = s.String()
	}
	return json.Marshal(out)
}

// keysOf returns, as JSON, the keys v.Keys() yields, in order.
func keysOf(v value) ([]byte, error) {
	m := reflect.ValueOf(v).MethodByName("Keys")
	if !m.IsValid() {
		return nil, fmt.Errorf("%T has no property \"keys\"", v)
	}
	seq := m.Call(nil)[0] // an iter.Seq[K]: func(yield func(K) bool)
	keys := []any{}
	yield := reflect.MakeFunc(seq.Type().In(0), func(args []reflect.Value) []reflect.Value {
		keys = append(keys, args[0].Interface())
		return []reflect.Value{reflect.ValueOf(true)}
	})
	seq.Call([]reflect.Value{yield})
	return json.Marshal(keys)
}

// normJSON returns raw in a canonical form: decoded keeping numbers exact
// and encoded again, so maps come out with sorted keys.
func normJSON(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "invalid JSON " + string(raw)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestGoldenMaxDepth checks how ORMap nesting counts against MaxDepth, as
// the document says: each ORMap level, the top one included, counts one.
func TestGoldenMaxDepth(t *testing.T) {
	var b []byte
	for _, vec := range readVectors(t) {
		if vec.id() == "ormap.json/two-levels" {
			b = vec.b
		}
	}
	if b == nil {
		t.Fatal("no vector ormap.json/two-levels")
	}
	type M = crdt.ORMap[string, *crdt.ORMap[string, *crdt.CCounter]]
	if err := (crdt.DecodeOptions{MaxDepth: 1}).Unmarshal(b, new(M)); !errors.Is(err, crdt.ErrMalformed) {
		t.Errorf("two levels with MaxDepth 1: got %v, want an error matching ErrMalformed", err)
	}
	if err := (crdt.DecodeOptions{MaxDepth: 2}).Unmarshal(b, new(M)); err != nil {
		t.Errorf("two levels with MaxDepth 2: got %v, want nil", err)
	}
}

// flipMasks are the patterns xored into each byte by TestGoldenMutations:
// every single bit, and all bits.
var flipMasks = []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}

// TestGoldenMutations damages every golden vector — every truncation,
// every byte xored with each of flipMasks — and decodes the result with the
// vector's typed UnmarshalBinary and with crdt.Decode.
func TestGoldenMutations(t *testing.T) {
	tried, accepted := 0, 0
	for _, vec := range readVectors(t) {
		check := func(what string, in []byte) {
			tried++
			if checkMutant(t, fmt.Sprintf("%s %s", vec.id(), what), vec.c.Type, in) {
				accepted++
			}
		}
		for n := 0; n < len(vec.b); n++ {
			check(fmt.Sprintf("truncated to %d bytes", n), vec.b[:n:n])
		}
		for i := range vec.b {
			for _, mask := range flipMasks {
				in := slices.Clone(vec.b)
				in[i] ^= mask
				check(fmt.Sprintf("byte %d xor %#02x", i, mask), in)
			}
		}
	}
	t.Logf("%d mutants, %d accepted as other canonical values", tried, accepted)
}

// checkMutant decodes in as typ and with crdt.Decode. Each must fail with
// an error matching ErrMalformed or ErrUnsupported, or give a value that
// re-encodes to exactly in. It reports whether either accepted in.
func checkMutant(t *testing.T, what, typ string, in []byte) (accepted bool) {
	t.Helper()
	try := func(decoder string, decode func() (value, error)) {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s: %s panicked on %x: %v", what, decoder, in, p)
			}
		}()
		v, err := decode()
		if err != nil {
			if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
				t.Errorf("%s: %s on %x: got %v, want an error matching ErrMalformed or ErrUnsupported", what, decoder, in, err)
			}
			return
		}
		accepted = true
		out, err := v.MarshalBinary()
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%s: %s accepted %x, which re-encodes as %x (%v): got a second encoding, want one per value", what, decoder, in, out, err)
		}
	}
	try(typ+".UnmarshalBinary", func() (value, error) {
		v := goldenTypes[typ]()
		return v, v.UnmarshalBinary(in)
	})
	try("crdt.Decode", func() (value, error) {
		v, err := crdt.Decode(in)
		if err != nil {
			return nil, err
		}
		return v.(value), nil
	})
	return accepted
}
