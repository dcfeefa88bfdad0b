package crdt

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
)

// A BCounter is a bounded counter: a counter that never goes below zero,
// however many replicas decrement it at once, with no replica asking
// another at the time of a decrement. Stock sold in every region at once
// is its use: each region sells what it holds without a round trip across
// an ocean, and the stock is never oversold.
//
// It works by escrow (Balegas et al., "Extending Eventually Consistent
// Cloud Databases for Enforcing Numeric Invariants", SRDS 2015, the
// bounded counter of AntidoteDB). Each replica holds rights to decrement:
// its increments plus the rights other replicas transferred to it, minus
// its decrements and the rights it transferred away. Dec spends the
// replica's own rights and fails, with an error matching
// [ErrInsufficientRights], when it holds too few; [BCounter.Transfer]
// moves rights to another replica. Only a replica spends or moves its own
// rights, so the value, the sum of all rights, never goes below zero on
// any replica that merged only states and deltas of correct replicas, in
// any order.
//
// A replica short of rights asks for them with [BCounter.Request]: the
// request replicates like any write, and a replica holding rights answers
// it with [BCounter.Grant], which transfers what was asked, keeping some
// for itself. Package merge's [merge.Escrow] is that policy for a
// replicated counter.
//
// Rights belong to the replica ID that wrote them. A replica that stops
// for good, or a merge.Replica incarnation that ends (each restart writes
// under a new ID), leaves its rights stranded: counted in the value but
// spendable by nobody. Hand them over first (Transfer to a peer, as
// merge.Escrow.Handoff does).
//
// A decrement's delta carries what justifies it: the writer's increments
// and the transfers it received (one entry per giver), so that a replica
// that merges the delta before the transfer it depends on still counts
// no more than was there. ValidateMerge refuses a state in which a
// replica spent more rights than it held (a forked or forged writer).
//
// The zero BCounter is zero and ready to use. It is not safe for
// concurrent use; use [BCounter.Clone] rather than copying. A BCounter of
// n replicas costs O(n + transfers) to merge and O(n) to read the rights
// of one replica; Value costs O(n).
type BCounter struct {
	rs    []bcRecord // by ID, strictly ascending
	edits uint64     // see Edits
}

// A bcRecord is one replica's totals, each grown only by that replica:
// what it added, spent, asked for, and gave to each other replica. A
// replica that gets a transfer has a record, all zero if it wrote none.
type bcRecord struct {
	id             vclock.ReplicaID
	inc, dec, want uint64
	out            []bcGift // by recipient, strictly ascending
}

// A bcGift is the total a replica has transferred to another.
type bcGift struct {
	to vclock.ReplicaID
	n  uint64
}

var (
	_ msgpack.CustomEncoder = (*BCounter)(nil)
	_ msgpack.CustomDecoder = (*BCounter)(nil)
)

// ErrInsufficientRights is matched (errors.Is) by the error of
// [BCounter.Dec] and [BCounter.Transfer] when the replica holds fewer
// rights than the amount; the error is a *RightsError.
var ErrInsufficientRights = errors.New("insufficient rights")

// A RightsError reports a decrement or a transfer that a replica's rights
// do not cover. It wraps [ErrInsufficientRights].
type RightsError struct {
	Replica vclock.ReplicaID // the replica that would spend
	Have    uint64           // its rights
	Want    uint64           // the amount asked
}

func (e *RightsError) Error() string {
	return fmt.Sprintf("crdt: BCounter: %s holds %d rights, %d needed: %v", e.Replica, e.Have, e.Want, ErrInsufficientRights)
}

// Unwrap returns ErrInsufficientRights.
func (e *RightsError) Unwrap() error { return ErrInsufficientRights }

// find returns the index of id's record, or where it would be inserted.
func (c *BCounter) find(id vclock.ReplicaID) (int, bool) {
	return slices.BinarySearchFunc(c.rs, id, func(r bcRecord, id vclock.ReplicaID) int {
		return cmpStr(r.id, id)
	})
}

func cmpStr[S ~string](a, b S) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rec returns id's record, adding an empty one if it has none.
func (c *BCounter) rec(id vclock.ReplicaID) *bcRecord {
	i, ok := c.find(id)
	if !ok {
		c.rs = slices.Insert(c.rs, i, bcRecord{id: id})
	}
	return &c.rs[i]
}

// get returns id's record, or nil.
func (c *BCounter) get(id vclock.ReplicaID) *bcRecord {
	if i, ok := c.find(id); ok {
		return &c.rs[i]
	}
	return nil
}

// gift returns what r has given to, or nil.
func (r *bcRecord) gift(to vclock.ReplicaID) *bcGift {
	i, ok := slices.BinarySearchFunc(r.out, to, func(g bcGift, to vclock.ReplicaID) int { return cmpStr(g.to, to) })
	if ok {
		return &r.out[i]
	}
	return nil
}

// giftTo returns what r has given to.
func (r *bcRecord) giftTo(to vclock.ReplicaID) uint64 {
	if g := r.gift(to); g != nil {
		return g.n
	}
	return 0
}

// addGift adds n to what r has given to, and returns the new total.
func (r *bcRecord) addGift(to vclock.ReplicaID, n uint64) uint64 {
	i, ok := slices.BinarySearchFunc(r.out, to, func(g bcGift, to vclock.ReplicaID) int { return cmpStr(g.to, to) })
	if !ok {
		r.out = slices.Insert(r.out, i, bcGift{to: to})
	}
	r.out[i].n += n
	return r.out[i].n
}

// rights returns what id holds, as a signed 128-bit balance: positive
// unless a replica spent what it did not have.
func (c *BCounter) rights(id vclock.ReplicaID) wide {
	var have, spent wide
	for i := range c.rs {
		r := &c.rs[i]
		if r.id == id {
			have = have.add(r.inc)
			spent = spent.add(r.dec)
			for _, g := range r.out {
				spent = spent.add(g.n)
			}
		} else if g := r.gift(id); g != nil {
			have = have.add(g.n)
		}
	}
	return have.sub(spent)
}

// Rights returns the rights replica id holds: what it may decrement or
// transfer now.
func (c *BCounter) Rights(id vclock.ReplicaID) uint64 { return c.rights(id).clampUint() }

// All yields each replica the counter knows with the rights it holds, in
// ascending order of ID.
func (c *BCounter) All() iter.Seq2[vclock.ReplicaID, uint64] {
	return func(yield func(vclock.ReplicaID, uint64) bool) {
		for i := range c.rs {
			if !yield(c.rs[i].id, c.Rights(c.rs[i].id)) {
				return
			}
		}
	}
}

// Increments returns the total replica id has added.
func (c *BCounter) Increments(id vclock.ReplicaID) uint64 {
	if r := c.get(id); r != nil {
		return r.inc
	}
	return 0
}

// Decrements returns the total replica id has subtracted.
func (c *BCounter) Decrements(id vclock.ReplicaID) uint64 {
	if r := c.get(id); r != nil {
		return r.dec
	}
	return 0
}

// Requested returns the rights replica id asked for (Request) and has not
// yet received by transfer, from any replica.
func (c *BCounter) Requested(id vclock.ReplicaID) uint64 {
	r := c.get(id)
	if r == nil || r.want == 0 {
		return 0
	}
	var got wide
	for i := range c.rs {
		if g := c.rs[i].gift(id); g != nil {
			got = got.add(g.n)
		}
	}
	return wide{lo: r.want}.sub(got).clampUint()
}

// Value returns the sum of all increments minus all decrements, which is
// the sum of all rights: never negative, unless merged with the state of
// a replica that spent rights it did not hold (see ValidateMerge).
func (c *BCounter) Value() int64 {
	var v wide
	for i := range c.rs {
		v = v.add(c.rs[i].inc)
		v = v.sub(wide{lo: c.rs[i].dec})
	}
	return v.clampInt()
}

// justify returns a delta holding what id's rights rest on: the
// replicas its rights came from, transitively (id, the givers of every
// transfer it received, theirs, ...), each with its increments and the
// transfers it made within that set. Every replica of the delta then holds
// no fewer rights in the delta than in c, so the delta, and every state it
// merges into, counts no right that was not there: a decrement merged
// before the transfer it spends still leaves every replica's rights and the
// value at zero or above.
func (c *BCounter) justify(id vclock.ReplicaID) *BCounter {
	in := make([]bool, len(c.rs))
	k, _ := c.find(id)
	if k < len(c.rs) && c.rs[k].id == id {
		in[k] = true
		for todo := []vclock.ReplicaID{id}; len(todo) > 0; {
			to := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			for i := range c.rs {
				if !in[i] && c.rs[i].gift(to) != nil {
					in[i] = true
					todo = append(todo, c.rs[i].id)
				}
			}
		}
	}
	d := &BCounter{edits: 1}
	for i := range c.rs {
		if !in[i] {
			continue
		}
		r := bcRecord{id: c.rs[i].id, inc: c.rs[i].inc}
		for _, g := range c.rs[i].out {
			if j, _ := c.find(g.to); in[j] {
				r.out = append(r.out, g)
			}
		}
		d.rs = append(d.rs, r)
	}
	d.rec(id)
	return d
}

// Inc adds n as replica id, giving id n more rights, and returns the
// delta. A total that would pass the largest uint64 stays there.
func (c *BCounter) Inc(id vclock.ReplicaID, n uint64) *BCounter {
	c.edits++
	d := &BCounter{edits: 1}
	if n == 0 {
		return d
	}
	r := c.rec(id)
	r.inc = satAdd(r.inc, n)
	d.rs = []bcRecord{{id: id, inc: r.inc}}
	return d
}

// Dec subtracts n as replica id, spending n of its rights, and returns
// the delta; if id holds fewer than n rights, it changes nothing and
// returns a *RightsError matching [ErrInsufficientRights].
func (c *BCounter) Dec(id vclock.ReplicaID, n uint64) (*BCounter, error) {
	if err := c.spendable(id, n); err != nil {
		return nil, err
	}
	c.edits++
	if n == 0 {
		return &BCounter{edits: 1}, nil
	}
	d := c.justify(id)
	r := c.rec(id)
	r.dec += n
	d.get(id).dec = r.dec
	return d, nil
}

// spendable reports whether id may spend n: it holds the rights, and its
// totals stay within uint64, as they do unless id received more than
// 2^64−1 in all.
func (c *BCounter) spendable(id vclock.ReplicaID, n uint64) error {
	if have := c.Rights(id); have < n {
		return &RightsError{Replica: id, Have: have, Want: n}
	}
	if r := c.get(id); r != nil {
		if r.dec+n < r.dec {
			return fmt.Errorf("crdt: BCounter: the decrements of %s would pass 2^64-1", id)
		}
		for _, g := range r.out {
			if g.n+n < g.n {
				return fmt.Errorf("crdt: BCounter: the transfers of %s to %s would pass 2^64-1", id, g.to)
			}
		}
	}
	return nil
}

// Transfer moves n of replica from's rights to replica to, and returns the
// delta; if from holds fewer than n rights it changes nothing and returns
// a *RightsError matching [ErrInsufficientRights]. Only from may call it:
// a replica moves its own rights.
func (c *BCounter) Transfer(from, to vclock.ReplicaID, n uint64) (*BCounter, error) {
	if from == to {
		return nil, fmt.Errorf("crdt: BCounter: %s transfers rights to itself", from)
	}
	if err := c.spendable(from, n); err != nil {
		return nil, err
	}
	c.edits++
	if n == 0 {
		return &BCounter{edits: 1}, nil
	}
	d := c.justify(from)
	total := c.rec(from).addGift(to, n)
	c.rec(to)
	g := d.get(from)
	g.addGift(to, total-g.giftTo(to))
	d.rec(to)
	return d, nil
}

// Request records that replica id asks for n more rights, and returns the
// delta. Requests add up: Requested reports what is still owed, and a
// replica holding rights answers with Grant. Two replicas may answer the
// same request; the requester then holds more than it asked for.
func (c *BCounter) Request(id vclock.ReplicaID, n uint64) *BCounter {
	c.edits++
	d := &BCounter{edits: 1}
	if n == 0 {
		return d
	}
	r := c.rec(id)
	r.want = satAdd(r.want, n)
	d.rs = []bcRecord{{id: id, want: r.want}}
	return d
}

// Grant transfers, as replica id, what other replicas requested and have
// not received, from id's rights beyond keep, in ascending order of the
// requesters' IDs; it returns the delta (empty, and changing nothing,
// when it grants nothing) and the amount granted.
func (c *BCounter) Grant(id vclock.ReplicaID, keep uint64) (delta *BCounter, granted uint64) {
	spare := c.Rights(id)
	if spare <= keep {
		return new(BCounter), 0
	}
	spare -= keep
	type ask struct {
		to vclock.ReplicaID
		n  uint64
	}
	var asks []ask
	for i := range c.rs {
		if r := &c.rs[i]; r.id != id && r.want > 0 {
			if n := c.Requested(r.id); n > 0 {
				asks = append(asks, ask{r.id, n})
			}
		}
	}
	for _, a := range asks {
		n := min(a.n, spare)
		if n == 0 {
			break
		}
		d, err := c.Transfer(id, a.to, n)
		if err != nil {
			break // cannot happen: n ≤ spare ≤ rights
		}
		if delta == nil {
			delta = d
		} else {
			delta.Merge(d)
		}
		granted += n
		spare -= n
	}
	if delta == nil {
		delta = new(BCounter)
	}
	return delta, granted
}

// Merge joins o into c: each replica's totals, and each transfer, the
// larger of the two. It is commutative, associative and idempotent.
func (c *BCounter) Merge(o *BCounter) {
	if c == o {
		return
	}
	c.edits += o.edits
	if len(o.rs) == 0 {
		return
	}
	out := make([]bcRecord, 0, max(len(c.rs), len(o.rs)))
	i, j := 0, 0
	for i < len(c.rs) || j < len(o.rs) {
		switch {
		case j == len(o.rs) || i < len(c.rs) && c.rs[i].id < o.rs[j].id:
			out = append(out, c.rs[i])
			i++
		case i == len(c.rs) || o.rs[j].id < c.rs[i].id:
			out = append(out, o.rs[j].clone())
			j++
		default:
			out = append(out, c.rs[i].join(&o.rs[j]))
			i, j = i+1, j+1
		}
	}
	c.rs = out
}

// join returns r joined with o, a record of the same replica.
func (r bcRecord) join(o *bcRecord) bcRecord {
	r.inc, r.dec, r.want = max(r.inc, o.inc), max(r.dec, o.dec), max(r.want, o.want)
	if len(o.out) == 0 {
		return r
	}
	out := make([]bcGift, 0, max(len(r.out), len(o.out)))
	i, j := 0, 0
	for i < len(r.out) || j < len(o.out) {
		switch {
		case j == len(o.out) || i < len(r.out) && r.out[i].to < o.out[j].to:
			out = append(out, r.out[i])
			i++
		case i == len(r.out) || o.out[j].to < r.out[i].to:
			out = append(out, o.out[j])
			j++
		default:
			out = append(out, bcGift{r.out[i].to, max(r.out[i].n, o.out[j].n)})
			i, j = i+1, j+1
		}
	}
	r.out = out
	return r
}

func (r bcRecord) clone() bcRecord {
	r.out = slices.Clone(r.out)
	return r
}

// Clone returns an independent copy of c.
func (c *BCounter) Clone() *BCounter {
	d := &BCounter{rs: make([]bcRecord, len(c.rs)), edits: c.edits}
	for i := range c.rs {
		d.rs[i] = c.rs[i].clone()
	}
	return d
}

// Equal reports whether c and o hold the same totals and transfers.
func (c *BCounter) Equal(o *BCounter) bool {
	return slices.EqualFunc(c.rs, o.rs, func(a, b bcRecord) bool {
		return a.id == b.id && a.inc == b.inc && a.dec == b.dec && a.want == b.want && slices.Equal(a.out, b.out)
	})
}

// ValidateMerge reports, as a *ValidationError matching [ErrInconsistent],
// that merging o into c would leave a replica having spent more rights
// than it held: a forged state, or a writer that spent the same rights
// twice (two replicas sharing an ID, or one restored from an old copy of
// its state) in a way the totals show — one life selling what the other
// transferred, say. A second life that only sells, less than the first,
// hides under the first's decrements total, which no replica can tell
// from a correct one: a writer must never restart under its old ID
// (merge.Replica writes each life under a new one). A correct replica's
// states and deltas never fail, merged in any order. A replica already
// below zero in c is refused only if o takes it lower.
func (c *BCounter) ValidateMerge(o *BCounter) error {
	if len(o.rs) == 0 {
		return nil
	}
	m := c.Clone()
	m.Merge(o)
	for i := range o.rs {
		id := o.rs[i].id
		after := m.rights(id)
		if after.neg() && after.less(c.rights(id)) {
			return &ValidationError{Type: "BCounter", Writer: id,
				Reason: "replica " + string(id) + " would have spent " + after.negString() + " more rights than it held"}
		}
	}
	return nil
}

// String formats c as its value.
func (c *BCounter) String() string { return strconv.FormatInt(c.Value(), 10) }

// Version returns, for each replica, the largest of its totals: its
// increments, decrements, requests and each transfer it made. Each grows
// only with the replica's own writes, and each write's delta holds the one
// it changed.
func (c *BCounter) Version() *vclock.Clock {
	m := make(map[vclock.ReplicaID]uint64, len(c.rs))
	for i := range c.rs {
		if n := c.rs[i].top(); n > 0 {
			m[c.rs[i].id] = n
		}
	}
	return vclock.FromMap(m)
}

// top is the largest of r's totals, which Version reports.
func (r *bcRecord) top() uint64 {
	n := max(r.inc, r.dec, r.want)
	for _, g := range r.out {
		n = max(n, g.n)
	}
	return n
}

// VersionOf returns Version().Get(id) without building the clock.
func (c *BCounter) VersionOf(id vclock.ReplicaID) uint64 {
	for i := range c.rs {
		if c.rs[i].id == id {
			return c.rs[i].top()
		}
	}
	return 0
}

// Edits returns the count of changes c records (see [ORSet.Edits]).
func (c *BCounter) Edits() uint64 { return c.edits }

func satAdd(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}

// A wide is a signed 128-bit integer in two's complement, enough for the
// sum of any number of uint64 totals a decoder accepts.
type wide struct{ hi, lo uint64 }

func (w wide) add(v uint64) wide {
	lo, carry := bits.Add64(w.lo, v, 0)
	return wide{w.hi + carry, lo}
}

func (w wide) sub(v wide) wide {
	lo, borrow := bits.Sub64(w.lo, v.lo, 0)
	hi, _ := bits.Sub64(w.hi, v.hi, borrow)
	return wide{hi, lo}
}

func (w wide) neg() bool { return int64(w.hi) < 0 }

func (w wide) less(v wide) bool {
	if w.hi != v.hi {
		return int64(w.hi) < int64(v.hi)
	}
	return w.lo < v.lo
}

func (w wide) clampUint() uint64 {
	switch {
	case w.neg():
		return 0
	case w.hi > 0:
		return math.MaxUint64
	}
	return w.lo
}

func (w wide) clampInt() int64 {
	switch {
	case w.neg() && (w.hi != math.MaxUint64 || int64(w.lo) >= 0):
		return math.MinInt64
	case w.neg():
		return int64(w.lo)
	case w.hi > 0 || w.lo > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(w.lo)
}

// negString formats −w, for a negative w.
func (w wide) negString() string {
	p := wide{}.sub(w)
	if p.hi == 0 {
		return strconv.FormatUint(p.lo, 10)
	}
	return "more than 2^64"
}
