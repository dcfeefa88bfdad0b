package vclock

import (
	"errors"
	"fmt"

	"github.com/converge-go/converge/internal/vv"
	"github.com/converge-go/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// ErrMalformed is matched (errors.Is) by every error about input that is not
// a valid encoding. It is the same value as crdt.ErrMalformed and
// hlc.ErrMalformed.
var ErrMalformed = wire.ErrMalformed

// ErrUnsupported is matched (errors.Is) by errors about input written in a
// format version or of a kind this release does not know.
var ErrUnsupported = wire.ErrUnsupported

var (
	_ msgpack.CustomEncoder = (*Clock)(nil)
	_ msgpack.CustomDecoder = (*Clock)(nil)
	_ msgpack.CustomEncoder = Dot{}
	_ msgpack.CustomDecoder = (*Dot)(nil)
	_ msgpack.CustomEncoder = (*Context)(nil)
	_ msgpack.CustomDecoder = (*Context)(nil)
)

// AppendBinary appends the encoding of c to b: [1, 2, {replica: count}]
// with the replicas in ascending order (docs/wire-format.md).
func (c *Clock) AppendBinary(b []byte) ([]byte, error) {
	for _, e := range c.entries() {
		if e.N > MaxCounter {
			return b, errCounter(e.ID, e.N)
		}
	}
	b = wire.AppendHeader(b, wire.KindClock, 1)
	return c.appendFields(b), nil
}

// ErrCounterRange is matched (errors.Is) by the error of an encoder asked
// to write a counter above [MaxCounter]: decoders refuse such counters, so
// encoders do not write them. Only a state that claimed nearly every event
// of a replica, and was then written to, can get there.
var ErrCounterRange = errors.New("counter above MaxCounter")

func errCounter(id ReplicaID, n uint64) error {
	return fmt.Errorf("vclock: counter %d of replica %q cannot be encoded: %w", n, id, ErrCounterRange)
}

func (c *Clock) appendFields(b []byte) []byte { return c.entries().Append(b) }

// MarshalBinary returns the canonical encoding of c: equal clocks give
// identical bytes.
func (c *Clock) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the clock encoded in b. It rejects input
// that is not canonical: replicas out of order or repeated, zero counts, or
// counts above [MaxCounter]. On error c is left unchanged.
func (c *Clock) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b, wire.Limits{})
	r.Header(wire.KindClock, 1)
	var out Clock
	out.readFields(&r)
	if err := r.End(); err != nil {
		return fmt.Errorf("vclock: decoding Clock: %w", err)
	}
	*c = out
	return nil
}

// readFields reads a {replica: count} map into c.
func (c *Clock) readFields(r *wire.Reader) { c.e = vv.Read[ReplicaID](r, MaxCounter) }

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *Clock) EncodeMsgpack(enc *msgpack.Encoder) error {
	b, err := c.AppendBinary(nil)
	if err != nil {
		return err
	}
	return wire.EncodeTo(enc, b)
}

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *Clock) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := wire.DecodeFrom(dec)
	if err != nil {
		return fmt.Errorf("vclock: decoding Clock: %w", err)
	}
	return c.UnmarshalBinary(raw)
}

// AppendBinary appends the encoding of d to b: [1, 3, replica, counter].
func (d Dot) AppendBinary(b []byte) ([]byte, error) {
	if d.Counter == 0 || d.Counter > MaxCounter {
		return b, fmt.Errorf("vclock: dot %v names no event that can be encoded (counter 0 or above MaxCounter)", d)
	}
	b = wire.AppendHeader(b, wire.KindDot, 2)
	b = wire.AppendString(b, string(d.Replica))
	return wire.AppendUint(b, d.Counter), nil
}

// MarshalBinary returns the encoding of d.
func (d Dot) MarshalBinary() ([]byte, error) { return d.AppendBinary(nil) }

// UnmarshalBinary replaces d with the dot encoded in b. A counter of 0 or
// above [MaxCounter] is rejected. On error d is left unchanged.
func (d *Dot) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b, wire.Limits{})
	r.Header(wire.KindDot, 2)
	id := ReplicaID(r.Str())
	at := r.Offset()
	n := r.Uint()
	if !r.Failed() && (n == 0 || n > MaxCounter) {
		r.FailAt(at, "dot counter is 0 or above MaxCounter")
	}
	if err := r.End(); err != nil {
		return fmt.Errorf("vclock: decoding Dot: %w", err)
	}
	*d = Dot{id, n}
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (d Dot) EncodeMsgpack(enc *msgpack.Encoder) error {
	b, err := d.AppendBinary(nil)
	if err != nil {
		return err
	}
	return wire.EncodeTo(enc, b)
}

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (d *Dot) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := wire.DecodeFrom(dec)
	if err != nil {
		return fmt.Errorf("vclock: decoding Dot: %w", err)
	}
	return d.UnmarshalBinary(raw)
}

// AppendBinary appends the encoding of c to b:
// [1, 4, {replica: count}, {replica: [counter...]}] — the version vector,
// then the cloud with counters ascending, both with replicas ascending.
func (c *Context) AppendBinary(b []byte) ([]byte, error) {
	if c != nil {
		for id, n := range c.vv.All() {
			if n > MaxCounter {
				return b, errCounter(id, n)
			}
		}
		for id, cl := range c.cloud {
			if cl[len(cl)-1] > MaxCounter {
				return b, errCounter(id, cl[len(cl)-1])
			}
		}
	}
	b = wire.AppendHeader(b, wire.KindContext, 2)
	if c == nil {
		return wire.AppendMapLen(wire.AppendMapLen(b, 0), 0), nil
	}
	b = c.vv.appendFields(b)
	b = wire.AppendMapLen(b, len(c.cloud))
	for _, id := range c.cloudIDs() {
		b = wire.AppendString(b, string(id))
		s := c.cloud[id]
		b = wire.AppendArrayLen(b, len(s))
		for _, n := range s {
			b = wire.AppendUint(b, n)
		}
	}
	return b, nil
}

// MarshalBinary returns the canonical encoding of c: contexts with the same
// dots give identical bytes.
func (c *Context) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the context encoded in b. It rejects input
// that is not canonical: replicas out of order or repeated, zero counts,
// cloud counters not strictly ascending, a cloud dot the version vector
// covers or continues (the context must be compact), or a counter above
// [MaxCounter]. On error c is left unchanged.
func (c *Context) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b, wire.Limits{})
	r.Header(wire.KindContext, 2)
	var out Context
	out.vv.readFields(&r)
	n := r.MapLen()
	var prev ReplicaID
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		id := ReplicaID(r.Str())
		if i > 0 && id <= prev {
			r.FailAt(at, "cloud replica "+string(id)+" out of order or repeated")
			break
		}
		prev = id
		at = r.Offset()
		k := r.ArrayLen()
		if !r.Failed() && k == 0 {
			r.FailAt(at, "empty cloud for replica "+string(id))
			break
		}
		s := make([]uint64, 0, k)
		low := out.vv.Get(id) + 1 // every cloud counter must exceed this
		for j := 0; j < k && !r.Failed(); j++ {
			at := r.Offset()
			v := r.Uint()
			if r.Failed() {
				break
			}
			if v <= low || v > MaxCounter {
				r.FailAt(at, "cloud dot "+Dot{id, v}.String()+" is covered by the version vector, continues it, is out of order, or is above MaxCounter")
				break
			}
			s = append(s, v)
			low = v
		}
		if out.cloud == nil {
			out.cloud = make(map[ReplicaID][]uint64)
		}
		out.cloud[id] = s
	}
	if err := r.End(); err != nil {
		return fmt.Errorf("vclock: decoding Context: %w", err)
	}
	*c = out
	return nil
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *Context) EncodeMsgpack(enc *msgpack.Encoder) error {
	b, err := c.AppendBinary(nil)
	if err != nil {
		return err
	}
	return wire.EncodeTo(enc, b)
}

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *Context) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := wire.DecodeFrom(dec)
	if err != nil {
		return fmt.Errorf("vclock: decoding Context: %w", err)
	}
	return c.UnmarshalBinary(raw)
}
