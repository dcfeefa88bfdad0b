package sim_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge/sim"
)

// faultyConfig is the faulty scenario: four regions of three nodes,
// 10% loss, 5% duplication, reordering, clock skew and drift, a
// 30-second partition between the US and the rest, and an outage of
// eu-west that starts during the partition and ends 5 s after it.
func faultyConfig(seed uint64) sim.Config {
	return sim.Config{
		Seed:       seed,
		Jitter:     2 * ms,
		Loss:       0.10,
		Duplicate:  0.05,
		Reorder:    0.10,
		ClockSkew:  50 * ms,
		ClockDrift: 100,
		Partitions: []sim.Partition{{
			Start: 10 * time.Second, End: 40 * time.Second,
			A: []string{sim.USEast, sim.USWest},
		}},
		Outages: []sim.Outage{{Start: 25 * time.Second, End: 45 * time.Second, Region: sim.EUWest}},
	}
}

// scenarioOps is the number of operations the scenario test plays of
// each type: 100,000, or 10,000 under the race detector,
// which slows the simulation about tenfold. CI runs every test with
// -race, so there the scenario runs with 10,000; run go test without
// -race for the full 100,000. BenchmarkSimulate1M plays the same
// scenario with 1,000,000.
func scenarioOps() int {
	if raceEnabled {
		return 10000
	}
	return 100000
}

// play runs model on a Cluster over s and returns the cluster and its
// report.
func play[T crdt.State[T]](t testing.TB, s *sim.Sim, model sim.Model[T], cfg sim.ClusterConfig) (*sim.Cluster[T], sim.Report) {
	t.Helper()
	c, err := sim.NewCluster(s, model, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, c.Run()
}

// scenario plays ops operations of model over 50 s in the faulty
// scenario.
func scenario[T crdt.State[T]](t testing.TB, seed uint64, model sim.Model[T], ops int) (*sim.Cluster[T], sim.Report) {
	t.Helper()
	return play(t, newSim(t, faultyConfig(seed)), model, sim.ClusterConfig{Ops: ops, Duration: 50 * time.Second})
}

// TestScenario is the simulator's acceptance test: 100,000 random operations
// on an ORSet and on a PNCounter, each played twice with one seed in the
// faulty scenario. After the heal every replica must hold the same
// state, no write may be lost, and the two reports must be identical.
// The runs are independent Sims, so they run in parallel.
func TestScenario(t *testing.T) {
	t.Run("ORSet", func(t *testing.T) {
		t.Parallel()
		checkScenario(t, func() sim.Model[*crdt.ORSet[string]] { return &sim.ORSetModel{} })
	})
	t.Run("PNCounter", func(t *testing.T) {
		t.Parallel()
		checkScenario(t, func() sim.Model[*crdt.PNCounter] { return &sim.CounterModel{} })
	})
}

type equaler[T any] interface {
	crdt.State[T]
	Equal(T) bool
}

func checkScenario[T equaler[T]](t *testing.T, model func() sim.Model[T]) {
	ops := scenarioOps()
	type result struct {
		c   *sim.Cluster[T]
		rep sim.Report
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			c, rep := scenario(t, 1, model(), ops)
			results <- result{c, rep}
		}()
	}
	a, b := <-results, <-results
	if sa, sb := a.rep.String(), b.rep.String(); sa != sb {
		t.Fatalf("two runs with seed 1 differ:\n%s\n%s", sa, sb)
	}
	if !reflect.DeepEqual(a.rep, b.rep) {
		t.Fatalf("two runs with seed 1 give equal strings but different reports:\n%+v\n%+v", a.rep, b.rep)
	}
	rep := a.rep
	t.Logf("\n%s", rep)

	if !rep.Converged {
		t.Fatalf("not converged within %v of the heal", rep.End-rep.Quiet)
	}
	first := a.c.Replica(0).State()
	for id, n := range a.c.Sim().Nodes() {
		if st := a.c.Replica(sim.NodeID(id)).State(); !st.Equal(first) {
			t.Fatalf("replica %s differs from %s after convergence", n.Name, a.c.Sim().Node(0).Name)
		}
	}
	if rep.Ops != ops || rep.Writes+rep.Reads+rep.Rejected != ops || rep.Rejected != 0 {
		t.Errorf("got %d ops (%d writes, %d reads, %d rejected), want %d, none rejected", rep.Ops, rep.Writes, rep.Reads, rep.Rejected, ops)
	}
	if rep.LostWrites != 0 || rep.Refused != 0 || rep.Errors != 0 {
		t.Errorf("got %d lost writes, %d refused messages, %d errors (%s); want none", rep.LostWrites, rep.Refused, rep.Errors, rep.FirstError)
	}
	tr := rep.Total
	if tr.Lost.Messages == 0 || tr.Duplicated.Messages == 0 || tr.Partitioned.Messages == 0 || tr.Down.Messages == 0 {
		t.Errorf("faults did not happen: %+v", tr)
	}
	if rep.StaleReads == 0 {
		t.Errorf("no stale read through a 30-second partition")
	}
	if rep.FullStates == 0 {
		t.Errorf("no full state sent, though eu-west came back from an outage")
	}
	for _, n := range rep.Nodes {
		if n.MaxOldestUnacked < 10*time.Second {
			t.Errorf("%s: worst lag %v, want above 10 s after a 30-second partition", n.Node, n.MaxOldestUnacked)
		}
	}
}

// TestStockNeverOversold sells 10,000 units of stock in four regions at
// once, in the faulty scenario (loss, duplication, reordering, skew, a
// partition and an outage), through merge.Replica and a bounded counter:
// no node ever reads the counter below zero, nothing is sold beyond the
// stock, no sale is lost, the replicas converge, and the rights move to
// where the sales are, so that nearly all the stock is sold.
func TestStockNeverOversold(t *testing.T) {
	ops := 40000
	if raceEnabled {
		ops = 10000
	}
	model := &sim.StockModel{}
	c, rep := play(t, newSim(t, faultyConfig(1)), sim.Model[*crdt.BCounter](model),
		sim.ClusterConfig{Ops: ops, Duration: 50 * time.Second, ReadFraction: 0.2})
	t.Logf("\n%s\nsold %d, refused %d sales for want of rights", rep, model.Sold(), model.Refused())
	if !rep.Converged {
		t.Fatalf("not converged within %v of the heal", rep.End-rep.Quiet)
	}
	if n := model.Negative(); n != 0 {
		t.Fatalf("%d reads or writes found the counter below zero", n)
	}
	if n := model.Oversold(); n != 0 {
		t.Fatalf("%d units oversold", n)
	}
	if rep.LostWrites != 0 {
		t.Fatalf("%d sales lost", rep.LostWrites)
	}
	final := c.Replica(0).State()
	if v := final.Value(); v < 0 || uint64(v) != sim.DefaultStock-model.Sold() {
		t.Fatalf("converged value %d, want %d - %d sold", v, sim.DefaultStock, model.Sold())
	}
	// Demand is well above the stock (1.6 to 6 times): escrow must not
	// strand it.
	if model.Sold() < sim.DefaultStock*9/10 {
		t.Fatalf("only %d of %d units sold", model.Sold(), sim.DefaultStock)
	}
}
