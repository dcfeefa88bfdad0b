package crdt

import (
	"slices"
	"strconv"
	"unsafe"

	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// AppendBinary appends the encoding of c:
// [1, 29, [[replica, [to, n, ...], dec, inc, want], ...]], each record's
// trailing zero totals left out and to the index of the recipient's
// record (see docs/wire-format.md).
func (c *BCounter) AppendBinary(b []byte) ([]byte, error) {
	b = wire.AppendHeader(b, wire.KindBCounter, 1)
	b = wire.AppendArrayLen(b, len(c.rs))
	for i := range c.rs {
		b = c.appendRecord(b, &c.rs[i])
	}
	return b, nil
}

func (c *BCounter) appendRecord(b []byte, r *bcRecord) []byte {
	totals := [3]uint64{r.dec, r.inc, r.want}
	n := len(totals)
	for n > 0 && totals[n-1] == 0 {
		n--
	}
	b = wire.AppendArrayLen(b, 2+n)
	b = wire.AppendString(b, string(r.id))
	b = wire.AppendArrayLen(b, 2*len(r.out))
	for _, g := range r.out {
		k, _ := c.find(g.to)
		b = wire.AppendUint(b, uint64(k))
		b = wire.AppendUint(b, g.n)
	}
	for _, v := range totals[:n] {
		b = wire.AppendUint(b, v)
	}
	return b
}

// MarshalBinary returns the canonical encoding of c.
func (c *BCounter) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary replaces c with the counter encoded in b. On error c is
// unchanged.
func (c *BCounter) UnmarshalBinary(b []byte) error { return c.unmarshal(b, wire.Limits{}) }

func (c *BCounter) unmarshal(b []byte, lim wire.Limits) error {
	var v BCounter
	r := wire.NewReader(b, lim)
	v.readValue(&r)
	return keep(c, v, &r, "BCounter")
}

// A bcLink is a transfer read before the record of its recipient.
type bcLink struct {
	from, to int
	n        uint64
}

// readValue reads a top-level BCounter into c, which must be zero.
func (c *BCounter) readValue(r *wire.Reader) {
	r.Header(wire.KindBCounter, 1)
	n := r.ArrayLen()
	c.rs = make([]bcRecord, 0, r.Presize(n, int(unsafe.Sizeof(bcRecord{}))))
	var links []bcLink
	for i := 0; i < n && !r.Failed(); i++ {
		links = c.readRecord(r, i, n, links)
	}
	if r.Failed() {
		return
	}
	got := make([]bool, len(c.rs))
	for k, l := range links {
		if k == 0 || l.from != links[k-1].from {
			c.rs[l.from].out = make([]bcGift, 0, r.Presize(countFrom(links[k:], l.from), int(unsafe.Sizeof(bcGift{}))))
		}
		c.rs[l.from].out = append(c.rs[l.from].out, bcGift{c.rs[l.to].id, l.n})
		got[l.to] = true
	}
	for i := range c.rs {
		if x := &c.rs[i]; x.inc == 0 && x.dec == 0 && x.want == 0 && len(x.out) == 0 && !got[i] {
			r.Fail("replica " + string(x.id) + " has an empty record and received no transfer")
			return
		}
	}
}

func countFrom(links []bcLink, from int) int {
	k := 0
	for k < len(links) && links[k].from == from {
		k++
	}
	return k
}

// readRecord reads record i of n, appending its transfers to links.
func (c *BCounter) readRecord(r *wire.Reader, i, n int, links []bcLink) []bcLink {
	at := r.Offset()
	fields := r.ArrayLen()
	if !r.Failed() && (fields < 2 || fields > 5) {
		r.FailAt(at, "a BCounter record of "+strconv.Itoa(fields)+" fields, want 2 to 5")
		return links
	}
	at = r.Offset()
	id := vclock.ReplicaID(r.Str())
	if !r.Failed() && i > 0 && id <= c.rs[i-1].id {
		r.FailAt(at, "replica "+string(id)+" out of order or repeated")
		return links
	}
	links = readLinks(r, i, n, links)
	var totals [3]uint64
	for k := range fields - 2 {
		at = r.Offset()
		totals[k] = r.Uint()
		if !r.Failed() && k == fields-3 && totals[k] == 0 {
			r.FailAt(at, "a trailing zero total in the record of "+string(id))
		}
	}
	c.rs = append(c.rs, bcRecord{id: id, dec: totals[0], inc: totals[1], want: totals[2]})
	return links
}

// readLinks reads the transfers of record i of n: pairs of a recipient's
// index, strictly ascending and not i, and a total of at least 1.
func readLinks(r *wire.Reader, i, n int, links []bcLink) []bcLink {
	at := r.Offset()
	k := r.ArrayLen()
	if !r.Failed() && k%2 != 0 {
		r.FailAt(at, "a transfer list of odd length "+strconv.Itoa(k))
		return links
	}
	links = slices.Grow(links, r.Presize(k/2, int(unsafe.Sizeof(bcLink{}))))
	prev := -1
	for range k / 2 {
		at = r.Offset()
		to := r.Uint()
		if !r.Failed() && (to >= uint64(n) || int(to) <= prev || int(to) == i) {
			r.FailAt(at, "transfer recipient "+strconv.FormatUint(to, 10)+" out of range, out of order or the giver")
			return links
		}
		at = r.Offset()
		amount := r.Uint()
		if !r.Failed() && amount == 0 {
			r.FailAt(at, "a transfer of 0")
		}
		if r.Failed() {
			return links
		}
		prev = int(to)
		links = append(links, bcLink{i, int(to), amount})
	}
	return links
}

// EncodeMsgpack implements msgpack.CustomEncoder with the bytes of
// MarshalBinary.
func (c *BCounter) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTo(enc, c) }

// DecodeMsgpack implements msgpack.CustomDecoder as UnmarshalBinary does.
func (c *BCounter) DecodeMsgpack(dec *msgpack.Decoder) error { return decodeFrom(dec, c, "BCounter") }
