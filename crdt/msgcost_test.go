package crdt

import (
	"testing"

	"github.com/converge-go/converge/internal/wire"
	"pgregory.net/rapid"
)

// CostInner is embedded by pointer in costEmbed, whose fields msgpack
// inlines. It is exported because msgpack panics when it sets a field of
// an embedded pointer to an unexported struct.
type CostInner struct {
	S string
	N []int16
}

// Element types that msgpack decodes, each with a way to allocate much
// more than its bytes: structs, slices of large structs, typed maps,
// pointers, interfaces inside structs, skipped fields, embedded pointers,
// recursion.
type (
	costItem struct {
		SKU string `msgpack:"sku"`
		Qty int    `msgpack:"qty"`
	}
	costBig   struct{ A [16]int64 }
	costAny   struct{ X any }
	costEmbed struct {
		*CostInner
		K string
	}
	costMaps struct {
		M map[string]string
		B map[string]bool
		L []string
	}
	costSkipped struct {
		K   int
		Pad [40]int64 `msgpack:"-"`
	}
	costRec struct {
		Next *costRec
		S    []costRec
		V    string
	}
)

// checkMsgpackCost decodes in as an element of type E with readOther and
// fails t if msgpack allocated more than readOther charged. What the check
// of the canonical form costs (msgpack's encoder) is not charged: it is
// measured apart and left out.
func checkMsgpackCost[E any](t *rapid.T, in []byte) {
	warm := wire.NewReader(in, wire.Limits{})
	e, raw := readOther[E](&warm) // fill the pools and msgpack's type caches
	encoding := uint64(0)
	if !warm.Failed() || raw != nil {
		encoding = heapGrowth(func() { encodesTo(e, raw) })
	}
	var charged int
	var failed bool
	got := heapGrowth(func() {
		r := wire.NewReader(in, wire.Limits{})
		room := r.Room()
		readOther[E](&r)
		charged, failed = room-r.Room(), r.Failed()
	})
	got -= min(got, encoding)
	if failed {
		charged += 1024 // the error, and msgpack's own
	}
	if got > uint64(charged) {
		t.Fatalf("decoding %x as a %T allocated %d bytes, charged %d", in, *new(E), got, charged)
	}
}

// TestMsgpackCostCoversAllocation: for every element type above, and for
// values of every shape (including those of other types, which msgpack
// refuses part-way), readOther charges at least what msgpack allocates.
func TestMsgpackCostCoversAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation figures do not hold")
	}
	rapid.Check(t, func(t *rapid.T) {
		var v any
		switch rapid.IntRange(0, 6).Draw(t, "source") {
		case 0:
			v = rapid.Make[costItem]().Draw(t, "item")
		case 1:
			v = rapid.SliceOfN(rapid.Make[costBig](), 0, 20).Draw(t, "bigs")
		case 2:
			v = rapid.Make[costMaps]().Draw(t, "maps")
		case 3:
			v = costAny{anyValue(3).Draw(t, "x")}
		case 4:
			v = costEmbed{&CostInner{rapid.String().Draw(t, "s"), rapid.SliceOf(rapid.Int16()).Draw(t, "n")}, rapid.String().Draw(t, "k")}
		case 5:
			v = []costSkipped{{K: 1}, {K: 2}}
		default:
			v = anyValue(3).Draw(t, "value")
		}
		in := msgpackEncode(t, v)
		if rapid.Bool().Draw(t, "mutate") {
			i := rapid.IntRange(0, len(in)-1).Draw(t, "at")
			in[i] = rapid.Byte().Draw(t, "byte")
		}
		checks := []func(*rapid.T, []byte){
			checkMsgpackCost[costItem],
			checkMsgpackCost[[]costBig],
			checkMsgpackCost[[]*costItem],
			checkMsgpackCost[map[string]string],
			checkMsgpackCost[[]map[string]string],
			checkMsgpackCost[costAny],
			checkMsgpackCost[costEmbed],
			checkMsgpackCost[costMaps],
			checkMsgpackCost[[]costSkipped],
			checkMsgpackCost[costRec],
			checkMsgpackCost[*[]any],
			checkMsgpackCost[[3]string],
			checkMsgpackCost[[]byte],
		}
		// Three of the types, whatever the value was made as: msgpack
		// refuses most pairs part-way, after allocating.
		for range 3 {
			checks[rapid.IntRange(0, len(checks)-1).Draw(t, "type")](t, in)
		}
	})
}
