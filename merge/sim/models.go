package sim

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// Defaults of the models' fields left zero.
const (
	DefaultSize        = 1000
	DefaultReadWindow  = 5 * time.Second
	DefaultDecFraction = 0.3
	DefaultMaxStep     = 10
)

// An ORSetModel is a [Model] of a *crdt.ORSet[string] that hovers around
// Size elements, such as the set of sessions of a service or of items in
// stock. A write adds a new, unique element ("e0", "e1", ...) or removes
// one drawn from those not yet removed, with probability live/(2·Size)
// (so 1/2 at Size elements, never when empty, always from 2·Size up) —
// if the writing node holds it; if not, the write is an add. So each
// element is added once, at one node, and removed at most once, by a node
// that had observed the add.
//
// A read asks whether one element, drawn from those added in the last
// ReadWindow, is in the set, as a page showing recent items does. It is
// stale if its answer was wrong throughout the last StaleAfter: present,
// though the element was removed before the read's horizon; absent,
// though it was added before the horizon and never removed. So a read is
// stale when the node misses the last write to the element made before
// the horizon, unless a later write makes its answer right anyway: an
// element added long ago and removed since the horizon reads as absent
// whether the node has merged both writes or neither, and the reader
// cannot tell which. (Telling would take the state's causal context,
// ORSet.Context, which costs O(replicas) allocations a read.)
//
// A write is lost if the converged state does not show it: an element
// never removed is absent, or a removed element is present. With one add
// and one observed remove per element, add-wins semantics leave no room
// for any other outcome, so a lost write is a bug.
//
// The zero ORSetModel is ready to use. It keeps a record of 24 bytes per
// element for the run.
type ORSetModel struct {
	// Size is the number of elements the set hovers around; 0 means
	// DefaultSize. The cost of a simulation grows with it: full states,
	// and the checks Replica.Receive runs on each payload
	// (ORSet.ValidateMerge), cost O(Size).
	Size int
	// ReadWindow is how far back in time reads look for an element to
	// check; 0 means DefaultReadWindow.
	ReadWindow time.Duration

	elems []orsetElem // in the order added, so by addAt
	live  []int32     // elements added and not removed
}

type orsetElem struct {
	addAt, removeAt time.Duration // removeAt < 0: not removed
	pos             int           // index in live, -1 once removed
}

var (
	_ Model[*crdt.ORSet[string]]      = (*ORSetModel)(nil)
	_ Summarizer[*crdt.ORSet[string]] = (*ORSetModel)(nil)
)

// New returns a new, empty set.
func (m *ORSetModel) New() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }

func elemName(k int) string { return "e" + strconv.Itoa(k) }

// Write adds or removes an element.
func (m *ORSetModel) Write(op Op, s *crdt.ORSet[string]) *crdt.ORSet[string] {
	size := m.Size
	if size <= 0 {
		size = DefaultSize
	}
	if len(m.live) > 0 && op.Rand.IntN(2*size) < len(m.live) {
		k := int(m.live[op.Rand.IntN(len(m.live))])
		if e := elemName(k); s.Contains(e) {
			el := &m.elems[k]
			el.removeAt = op.At
			last := m.live[len(m.live)-1]
			m.live[el.pos] = last
			m.elems[last].pos = el.pos
			m.live = m.live[:len(m.live)-1]
			el.pos = -1
			return s.Remove(e)
		}
	}
	k := len(m.elems)
	m.elems = append(m.elems, orsetElem{addAt: op.At, removeAt: -1, pos: len(m.live)})
	m.live = append(m.live, int32(k))
	return s.Add(op.Replica, elemName(k))
}

// Read checks a recent element.
func (m *ORSetModel) Read(op Op, s *crdt.ORSet[string]) bool {
	window := m.ReadWindow
	if window <= 0 {
		window = DefaultReadWindow
	}
	n := len(m.elems)
	lo, _ := slices.BinarySearchFunc(m.elems, op.At-window, func(el orsetElem, t time.Duration) int {
		if el.addAt < t {
			return -1
		}
		return 1
	})
	if lo == n {
		return false
	}
	k := lo + op.Rand.IntN(n-lo)
	el := &m.elems[k]
	if el.addAt > op.Horizon {
		return false // no write to it is old enough to be due
	}
	if s.Contains(elemName(k)) {
		return el.removeAt >= 0 && el.removeAt <= op.Horizon
	}
	return el.removeAt < 0
}

// Lost counts the elements whose presence in s contradicts the writes.
func (m *ORSetModel) Lost(s *crdt.ORSet[string]) int {
	lost := 0
	for k := range m.elems {
		if s.Contains(elemName(k)) != (m.elems[k].removeAt < 0) {
			lost++
		}
	}
	return lost
}

// Summary returns the number of elements.
func (m *ORSetModel) Summary(s *crdt.ORSet[string]) uint64 { return uint64(s.Len()) }

// A CounterModel is a [Model] of a *crdt.PNCounter, such as a count of
// page views or of stock. A write increments the counter by 1 to MaxStep
// or, with probability DecFraction, decrements it.
//
// A read is stale if, for some other node, the state counts fewer of that
// node's increments or decrements than the node had made at the read's
// horizon: a write accepted by then is not reflected.
//
// A write is lost if the converged state does not count it: if the
// node's increments (or decrements) in the state fall short of the total
// they had reached with that write. The converged value then also
// differs from the sum of accepted increments minus decrements.
//
// The zero CounterModel is ready to use. It keeps a record of 24 bytes
// per write for the run.
type CounterModel struct {
	// DecFraction is the share of writes that decrement; 0 means
	// DefaultDecFraction, a negative value none.
	DecFraction float64
	// MaxStep bounds the amount of a write, drawn uniformly in [1,
	// MaxStep]; 0 means DefaultMaxStep.
	MaxStep int

	writes [][]counterWrite // per node, in order
	ids    []vclock.ReplicaID
}

// counterWrite is a node's totals after one of its writes.
type counterWrite struct {
	at       time.Duration
	inc, dec uint64
}

var (
	_ Model[*crdt.PNCounter]      = (*CounterModel)(nil)
	_ Summarizer[*crdt.PNCounter] = (*CounterModel)(nil)
)

// New returns a new counter at zero.
func (m *CounterModel) New() *crdt.PNCounter { return new(crdt.PNCounter) }

// Write increments or decrements the counter.
func (m *CounterModel) Write(op Op, c *crdt.PNCounter) *crdt.PNCounter {
	for int(op.Node) >= len(m.writes) {
		m.writes = append(m.writes, nil)
		m.ids = append(m.ids, "")
	}
	m.ids[op.Node] = op.Replica
	frac, step := m.DecFraction, m.MaxStep
	if frac == 0 {
		frac = DefaultDecFraction
	}
	if step <= 0 {
		step = DefaultMaxStep
	}
	w := counterWrite{at: op.At}
	if ws := m.writes[op.Node]; len(ws) > 0 {
		w.inc, w.dec = ws[len(ws)-1].inc, ws[len(ws)-1].dec
	}
	n := 1 + op.Rand.Uint64N(uint64(step))
	var d *crdt.PNCounter
	if op.Rand.Float64() < frac {
		w.dec += n
		d = c.Dec(op.Replica, n)
	} else {
		w.inc += n
		d = c.Inc(op.Replica, n)
	}
	m.writes[op.Node] = append(m.writes[op.Node], w)
	return d
}

// Read checks every other node's writes up to the horizon.
func (m *CounterModel) Read(op Op, c *crdt.PNCounter) bool {
	for node, ws := range m.writes {
		if NodeID(node) == op.Node || len(ws) == 0 {
			continue
		}
		// The last write at or before the horizon.
		i, _ := slices.BinarySearchFunc(ws, op.Horizon, func(w counterWrite, t time.Duration) int {
			if w.at <= t {
				return -1
			}
			return 1
		})
		if i == 0 {
			continue
		}
		w := ws[i-1]
		if c.Increments().Get(m.ids[node]) < w.inc || c.Decrements().Get(m.ids[node]) < w.dec {
			return true
		}
	}
	return false
}

// Lost counts the writes c does not count.
func (m *CounterModel) Lost(c *crdt.PNCounter) int {
	lost := 0
	for node, ws := range m.writes {
		inc, dec := c.Increments().Get(m.ids[node]), c.Decrements().Get(m.ids[node])
		for _, w := range ws {
			if w.inc > inc || w.dec > dec {
				lost++
			}
		}
	}
	return lost
}

// Summary returns a mix of the increments and decrements.
func (m *CounterModel) Summary(c *crdt.PNCounter) uint64 {
	return c.Increments().Value()*0x9e3779b97f4a7c15 ^ c.Decrements().Value()
}

// Defaults of a StockModel's fields left zero.
const (
	DefaultStock    = 10000
	DefaultMaxSale  = 3
	DefaultStockAsk = 50
)

// A StockModel is a [Model] of stock sold in every region at once, a
// *crdt.BCounter: the first write puts Stock units at its node, and
// every write after that is a sale of 1 to MaxSale units at its node.
// A node sells from the rights it holds; one short of them refuses the
// sale and asks for rights (Ask at least, as merge.Escrow does), and at
// each of its writes a node first grants the requests it has seen from
// the rights it holds beyond Keep. So stock moves where it sells, and the
// counter never goes below zero.
//
// Reads check what a bounded counter promises: a read that finds the
// value below zero, or a replica holding rights below zero, counts in
// Negative (never, unless the library is wrong); it is stale if the
// node misses a sale another node made before the horizon. A sale is
// lost if the converged state does not count it; Oversold reports units
// sold beyond the stock.
//
// The zero StockModel is ready to use. It keeps a record of 16 bytes per
// sale for the run.
type StockModel struct {
	// Stock is the units put up for sale; 0 means DefaultStock.
	Stock uint64
	// MaxSale bounds a sale, drawn uniformly in [1, MaxSale]; 0 means
	// DefaultMaxSale.
	MaxSale int
	// Ask is the least a node short of rights asks for; 0 means
	// DefaultStockAsk.
	Ask uint64
	// Keep is what a node keeps of its rights when it grants requests.
	Keep uint64

	stocked  bool
	sales    [][]counterWrite // per node, its totals after each sale
	ids      []vclock.ReplicaID
	sold     uint64
	refused  int
	negative int
}

var (
	_ Model[*crdt.BCounter]      = (*StockModel)(nil)
	_ Summarizer[*crdt.BCounter] = (*StockModel)(nil)
)

// New returns a counter with no stock.
func (m *StockModel) New() *crdt.BCounter { return new(crdt.BCounter) }

// Write puts the stock up, or grants requests and sells.
func (m *StockModel) Write(op Op, c *crdt.BCounter) *crdt.BCounter {
	for int(op.Node) >= len(m.sales) {
		m.sales = append(m.sales, nil)
		m.ids = append(m.ids, "")
	}
	m.ids[op.Node] = op.Replica
	if !m.stocked {
		m.stocked = true
		return c.Inc(op.Replica, cmp.Or(m.Stock, DefaultStock))
	}
	var delta *crdt.BCounter
	if d, n := c.Grant(op.Replica, m.Keep); n > 0 {
		delta = d
	}
	join := func(d *crdt.BCounter) {
		if delta == nil {
			delta = d
		} else {
			delta.Merge(d)
		}
	}
	n := 1 + op.Rand.Uint64N(uint64(cmp.Or(m.MaxSale, DefaultMaxSale)))
	if d, err := c.Dec(op.Replica, n); err == nil {
		m.sold += n
		m.sales[op.Node] = append(m.sales[op.Node], counterWrite{at: op.At, dec: c.Decrements(op.Replica)})
		join(d)
	} else {
		m.refused++
		need := max(n-c.Rights(op.Replica), cmp.Or(m.Ask, DefaultStockAsk))
		if asked := c.Requested(op.Replica); asked < need {
			join(c.Request(op.Replica, need-asked))
		}
	}
	m.check(c)
	return delta
}

// check counts a state whose value is below zero or not the sum of the
// rights: some replica holds fewer than zero.
func (m *StockModel) check(c *crdt.BCounter) {
	var sum uint64
	for _, r := range c.All() {
		sum += r
	}
	if v := c.Value(); v < 0 || uint64(v) != sum {
		m.negative++
	}
}

// Read checks the counter, and every other node's sales up to the horizon.
func (m *StockModel) Read(op Op, c *crdt.BCounter) bool {
	m.check(c)
	for node, ws := range m.sales {
		if NodeID(node) == op.Node || len(ws) == 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(ws, op.Horizon, func(w counterWrite, t time.Duration) int {
			if w.at <= t {
				return -1
			}
			return 1
		})
		if i > 0 && c.Decrements(m.ids[node]) < ws[i-1].dec {
			return true
		}
	}
	return false
}

// Lost counts the sales c does not count.
func (m *StockModel) Lost(c *crdt.BCounter) int {
	lost := 0
	for node, ws := range m.sales {
		dec := c.Decrements(m.ids[node])
		for _, w := range ws {
			if w.dec > dec {
				lost++
			}
		}
	}
	return lost
}

// Summary returns the value and the total of the requests.
func (m *StockModel) Summary(c *crdt.BCounter) uint64 {
	var asked uint64
	for _, id := range m.ids {
		asked += c.Requested(id)
	}
	return uint64(c.Value())*0x9e3779b97f4a7c15 ^ asked
}

// Sold returns the units sold, Refused the sales refused for want of
// rights at their node.
func (m *StockModel) Sold() uint64 { return m.sold }

// Refused returns the number of sales refused for want of rights at
// their node.
func (m *StockModel) Refused() int { return m.refused }

// Negative returns the number of reads and writes that found the value
// below zero or a replica holding rights below zero.
func (m *StockModel) Negative() int { return m.negative }

// Oversold returns the units sold beyond the stock.
func (m *StockModel) Oversold() uint64 {
	return m.sold - min(m.sold, cmp.Or(m.Stock, DefaultStock))
}
