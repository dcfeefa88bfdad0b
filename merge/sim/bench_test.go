package sim_test

import (
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge/sim"
)

// BenchmarkSimulate1M plays the scenario of TestScenario — four regions
// of three nodes, 10% loss, 5% duplication, reordering, skewed and
// drifting clocks, a 30-second partition and a 20-second region outage —
// with 1,000,000 operations at 2,000 a second (500 s of virtual time),
// once per iteration, and reports operations simulated per second of
// wall time. b.N is 1 unless -benchtime asks for more.
func BenchmarkSimulate1M(b *testing.B) {
	b.Run("ORSet", func(b *testing.B) {
		benchSimulate(b, func() sim.Model[*crdt.ORSet[string]] { return &sim.ORSetModel{} })
	})
	b.Run("PNCounter", func(b *testing.B) {
		benchSimulate(b, func() sim.Model[*crdt.PNCounter] { return &sim.CounterModel{} })
	})
}

func benchSimulate[T crdt.State[T]](b *testing.B, model func() sim.Model[T]) {
	const ops = 1000000
	b.ReportAllocs()
	var rep sim.Report
	start := time.Now()
	for i := 0; i < b.N; i++ {
		_, rep = play(b, newSim(b, faultyConfig(1)), model(), sim.ClusterConfig{Ops: ops, Duration: 500 * time.Second})
		if !rep.Converged || rep.LostWrites != 0 {
			b.Fatalf("converged %v, %d lost writes", rep.Converged, rep.LostWrites)
		}
	}
	b.ReportMetric(float64(ops)*float64(b.N)/time.Since(start).Seconds(), "ops/s")
	b.ReportMetric(float64(rep.Total.Sent.Messages), "msgs")
	b.ReportMetric(float64(rep.ConvergenceTime.Milliseconds()), "converge-ms")
}
