package main

import (
	"fmt"
	"io"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge/sim"
)

// The inventory: units of one product (10,000 over the default ten
// minutes, in proportion for other durations), put up for sale at one
// node and sold in every region at once for the whole run, through
// merge.Replica over merge/sim (two nodes a region, the program's
// latency table, partition and outage, and 1% loss, duplication and
// reordering). The demand, two sales of 1 to 3 units per unit of stock,
// is about four times the stock. Three ways to keep the stock:
//
//   - stock level in an LWW register: a node sells if the level it reads
//     covers the sale and writes the level less the sale; concurrent
//     sales overwrite each other, so the level forgets some of them;
//   - stock in a counter (PNCounter): a node sells if the value it reads
//     covers the sale; no sale is forgotten, but two regions that both
//     read the last units both sell them;
//   - a bounded counter (BCounter): a node sells from the rights it
//     holds and asks for more when short (merge.Escrow's policy); the
//     stock can never be oversold.
//
// stockFor returns the units of stock and the sales attempted in a run
// of d: 10,000 and 20,000 over ten minutes, in proportion otherwise, at
// least 1,000 units.
func stockFor(d time.Duration) (units uint64, sales int) {
	units = max(1000, uint64(10000*d/(10*time.Minute)))
	return units, int(2 * units)
}

// An inventory is one way to keep the stock, and its record of the run.
type inventory struct {
	name           string
	units          uint64 // the stock
	sales          int    // the sales attempted
	sold, oversold uint64
	refused        int
	left           int64 // the stock level node 0 shows once converged
	converged      bool
}

// stockDesigns are the three ways to keep the stock, each a run in the
// scenario sc.
var stockDesigns = []func(sc scenario, seed uint64) (inventory, error){
	func(sc scenario, seed uint64) (inventory, error) {
		units, _ := stockFor(sc.duration)
		lww := &lwwStock{units: units}
		inv, err := runStock(sc, seed, "stock level in an LWW register", sim.Model[*crdt.LWWRegister[int64]](lww), func(c *sim.Cluster[*crdt.LWWRegister[int64]]) {
			lww.cluster = c
		})
		return inv.withSales(lww.sold, lww.refused), err
	},
	func(sc scenario, seed uint64) (inventory, error) {
		units, _ := stockFor(sc.duration)
		pn := &counterStock{units: units}
		inv, err := runStock(sc, seed, "stock in a counter (PNCounter)", sim.Model[*crdt.PNCounter](pn), nil)
		return inv.withSales(pn.sold, pn.refused), err
	},
	func(sc scenario, seed uint64) (inventory, error) {
		units, _ := stockFor(sc.duration)
		bc := &sim.StockModel{Stock: units, Ask: 50}
		inv, err := runStock(sc, seed, "bounded counter (BCounter, escrow)", sim.Model[*crdt.BCounter](bc), nil)
		return inv.withSales(bc.Sold(), bc.Refused()), err
	},
}

// withSales returns inv with the units its model sold and the sales it
// refused, and the units sold beyond the stock.
func (inv inventory) withSales(sold uint64, refused int) inventory {
	inv.sold, inv.refused = sold, refused
	inv.oversold = sold - min(sold, inv.units)
	return inv
}

// runStock runs model on a Cluster in the scenario; ready, if set, is
// called with the Cluster before it runs.
func runStock[T crdt.State[T]](sc scenario, seed uint64, name string, model sim.Model[T], ready func(*sim.Cluster[T])) (inventory, error) {
	regions := sim.DefaultRegions()
	for i := range regions {
		regions[i].Nodes = 2
		if regions[i].Name == sim.EUWest {
			regions[i].Skew = sc.skew
		}
	}
	s, err := sim.New(sim.Config{
		Seed: seed, Regions: regions,
		Loss: 0.01, Duplicate: 0.01, Reorder: 0.01,
		Partitions: []sim.Partition{{Start: sc.partStart, End: sc.partEnd,
			A: []string{sim.USEast, sim.USWest}, B: []string{sim.EUWest}}},
		Outages: []sim.Outage{{Start: sc.outageStart, End: sc.outageEnd, Region: sim.USEast}},
	})
	if err != nil {
		return inventory{}, err
	}
	units, sales := stockFor(sc.duration)
	c, err := sim.NewCluster(s, model, sim.ClusterConfig{Ops: sales + 1, Duration: sc.duration, ReadFraction: -1})
	if err != nil {
		return inventory{}, err
	}
	if ready != nil {
		ready(c)
	}
	rep := c.Run()
	inv := inventory{name: name, units: units, sales: sales, converged: rep.Converged}
	switch st := any(c.Replica(0).State()).(type) {
	case *crdt.LWWRegister[int64]:
		inv.left, _ = st.Get()
	case *crdt.PNCounter:
		inv.left = st.Value()
	case *crdt.BCounter:
		inv.left = st.Value()
	}
	return inv, nil
}

// stockSale draws a sale of 1 to 3 units.
func stockSale(op sim.Op) int64 { return 1 + int64(op.Rand.IntN(3)) }

// An lwwStock keeps the stock level in a last-writer-wins register,
// stamped by each node's hybrid logical clock.
type lwwStock struct {
	units   uint64
	cluster *sim.Cluster[*crdt.LWWRegister[int64]]
	stocked bool
	sold    uint64
	refused int
}

func (m *lwwStock) New() *crdt.LWWRegister[int64] { return new(crdt.LWWRegister[int64]) }

func (m *lwwStock) Write(op sim.Op, r *crdt.LWWRegister[int64]) *crdt.LWWRegister[int64] {
	ts := m.cluster.Replica(op.Node).Clock().Now()
	if !m.stocked {
		m.stocked = true
		return r.Set(op.Replica, int64(m.units), ts)
	}
	n := stockSale(op)
	level, _ := r.Get()
	if level < n {
		m.refused++
		return nil
	}
	m.sold += uint64(n)
	return r.Set(op.Replica, level-n, ts)
}

func (m *lwwStock) Read(sim.Op, *crdt.LWWRegister[int64]) bool { return false }
func (m *lwwStock) Lost(*crdt.LWWRegister[int64]) int          { return 0 }

// A counterStock keeps the stock in a PNCounter.
type counterStock struct {
	units   uint64
	stocked bool
	sold    uint64
	refused int
}

func (m *counterStock) New() *crdt.PNCounter { return new(crdt.PNCounter) }

func (m *counterStock) Write(op sim.Op, c *crdt.PNCounter) *crdt.PNCounter {
	if !m.stocked {
		m.stocked = true
		return c.Inc(op.Replica, m.units)
	}
	n := stockSale(op)
	if c.Value() < n {
		m.refused++
		return nil
	}
	m.sold += uint64(n)
	return c.Dec(op.Replica, uint64(n))
}

func (m *counterStock) Read(sim.Op, *crdt.PNCounter) bool { return false }
func (m *counterStock) Lost(*crdt.PNCounter) int          { return 0 }

// reportInventory prints the inventory table.
func reportInventory(out io.Writer, invs []inventory) {
	fmt.Fprintf(out, "\ninventory: %d units sold in every region at once, %d sales of 1-3 units attempted\n", invs[0].units, invs[0].sales)
	fmt.Fprintf(out, "%-38s %7s %9s %8s %11s %10s\n", "design", "sold", "oversold", "refused", "stock shown", "converged")
	for _, inv := range invs {
		conv := "no"
		if inv.converged {
			conv = "yes"
		}
		fmt.Fprintf(out, "%-38s %7d %9d %8d %11d %10s\n", inv.name, inv.sold, inv.oversold, inv.refused, inv.left, conv)
	}
	fmt.Fprintln(out, `
sold: units the nodes sold; oversold: units sold beyond the stock; refused:
sales a node turned down, seeing too little stock (or, for the bounded
counter, holding too few rights: it asked for more); stock shown: the
level every region agrees on at the end. The LWW register forgets sales
that raced, so it shows stock that is gone; the counter counts every sale
but sells the last units in several regions at once, on both sides of the
partition; the bounded counter never sells a unit twice, and what it
shows unsold are rights no sale reached before the end: those of
us-east, down until then, and grants still in flight.`)
}
