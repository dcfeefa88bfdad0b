package crdt

import (
	"math"
	"strconv"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// A CCounter is a causal counter: every increment or decrement is an event
// with its own dot, and the value is the sum of the events the counter
// holds. Its point is Reset, and removal from an [ORMap]: a reset takes
// away exactly the events it observed, so increments made concurrently
// elsewhere survive — as what the resetter had not seen, not as the other
// replica's whole total. That is what a cart's item quantity or a
// profile's visit count needs when the item or the profile can be
// removed and re-added.
//
// The price is one entry per event since the last reset (16 bytes and a
// dot in memory): use a [PNCounter] for counters that are never reset and
// take millions of increments.
//
// The zero CCounter is zero and ready to use. It is not safe for
// concurrent use; use [CCounter.Clone] rather than copying a value.
// Inc, Dec and Value cost O(1) and O(events); Merge O(events).
type CCounter struct {
	f dotFun[int64]
}

var (
	_ msgpack.CustomEncoder = (*CCounter)(nil)
	_ msgpack.CustomDecoder = (*CCounter)(nil)
)

// Inc adds n as replica id and returns the delta. Amounts above
// math.MaxInt64 are clamped to it.
func (c *CCounter) Inc(id vclock.ReplicaID, n uint64) *CCounter {
	return &CCounter{f: *c.f.add(id, int64(min(n, math.MaxInt64)))}
}

// Dec subtracts n as replica id and returns the delta. Amounts above
// math.MaxInt64 are clamped to it.
func (c *CCounter) Dec(id vclock.ReplicaID, n uint64) *CCounter {
	return &CCounter{f: *c.f.add(id, -int64(min(n, math.MaxInt64)))}
}

// Reset sets the counter to zero by removing every event it holds, and
// returns the delta. Events it has not observed survive the merge.
func (c *CCounter) Reset() *CCounter { return &CCounter{f: *c.f.clearAll()} }

// Value returns the sum of the events held, clamped to the int64 range.
func (c *CCounter) Value() int64 {
	var sum int64
	for _, x := range c.f.es {
		switch {
		case x.v > 0 && sum > math.MaxInt64-x.v:
			sum = math.MaxInt64
		case x.v < 0 && sum < math.MinInt64-x.v:
			sum = math.MinInt64
		default:
			sum += x.v
		}
	}
	return sum
}

// Len returns the number of events held.
func (c *CCounter) Len() int { return len(c.f.es) }

// Merge joins o into c: an event survives unless the other side has seen
// it and no longer holds it. It is commutative, associative and
// idempotent.
func (c *CCounter) Merge(o *CCounter) { c.f.merge(&o.f) }

// Clone returns an independent copy of c.
func (c *CCounter) Clone() *CCounter { return &CCounter{f: c.f.cloneIn(c.f.ctx.clone())} }

// Equal reports whether c and o hold the same events and causal context.
func (c *CCounter) Equal(o *CCounter) bool {
	return c.f.ctx.equal(o.f.ctx) && c.f.equalStore(&o.f, idMap(c.f.ctx, o.f.ctx))
}

// Context returns a copy of the causal context.
func (c *CCounter) Context() *vclock.Context { return c.f.ctx.toContext() }

// ValidateMerge returns a *ValidationError if one dot carries different
// amounts in c and in o.
func (c *CCounter) ValidateMerge(o *CCounter) error { return c.f.validate(&o.f, "CCounter") }

// String formats c as its value.
func (c *CCounter) String() string { return strconv.FormatInt(c.Value(), 10) }

// AppendBinary appends the encoding of c:
// [1, 28, replicas, context, [replica, counter, amount, ...]], events in
// dot order (docs/wire-format.md).
func (c *CCounter) AppendBinary(b []byte) ([]byte, error) {
	if err := c.f.ctx.checkRange(); err != nil {
		return b, err
	}
	b = wire.AppendHeader(b, wire.KindCCounter, 3)
	var pb [ctxBuf]uint32
	b, pos := c.f.ctx.appendTo(b, pb[:0])
	return c.f.appendStore(b, pos), nil
}

// MarshalBinary returns the canonical encoding of c.
func (c *CCounter) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the counter encoded in b; on error c is
// unchanged.
func (c *CCounter) UnmarshalBinary(b []byte) error { return c.unmarshal(b, wire.Limits{}) }

func (c *CCounter) unmarshal(b []byte, lim wire.Limits) error {
	var v CCounter
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(c, v, &r, "CCounter")
}

func (c *CCounter) readValue(r *wire.Reader) {
	r.Header(wire.KindCCounter, 3)
	ctx := readCtx(r)
	c.f.readStore(r, ctx)
	ctx.checkShown(r)
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *CCounter) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, c) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *CCounter) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, c, "CCounter") }

func (c *CCounter) inNew(ctx *dotCtx, _ bool) *CCounter { return &CCounter{f: dotFun[int64]{ctx: ctx}} }

func (c *CCounter) inJoin(o *CCounter, env *joinEnv) {
	if o == nil {
		c.f.join(nil, env)
		return
	}
	c.f.join(&o.f, env)
}

func (c *CCounter) inEmpty() bool                         { return len(c.f.es) == 0 }
func (c *CCounter) inDots(yield func(dot))                { c.f.dots(yield) }
func (c *CCounter) inClone(ctx *dotCtx) *CCounter         { return &CCounter{f: c.f.cloneIn(ctx)} }
func (c *CCounter) inEqual(o *CCounter, tr []uint32) bool { return c.f.equalStore(&o.f, tr) }
func (c *CCounter) inFull()                               {}
func (c *CCounter) inCtx() *dotCtx                        { return c.f.ctx }
func (c *CCounter) inCheck(o *CCounter, k *checker) {
	var f *dotFun[int64]
	if c != nil {
		f = &c.f
	}
	f.check(&o.f, k)
}

func (c *CCounter) inAppend(b []byte, pos []uint32) []byte {
	b = wire.AppendArrayLen(b, 2)
	b = wire.AppendUint(b, uint64(wire.KindCCounter))
	return c.f.appendStore(b, pos)
}

func (c *CCounter) inRead(r *wire.Reader, ctx *dotCtx, _ bool) *CCounter {
	out := &CCounter{}
	readNested(r, wire.KindCCounter, 2)
	out.f.readStore(r, ctx)
	return out
}
