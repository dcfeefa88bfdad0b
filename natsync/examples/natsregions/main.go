// Command natsregions runs converge's keyspaces over a real NATS
// supercluster on 127.0.0.1 and prints, with the replication-lag metrics
// an operator would watch, what converged when through a region outage
// and a gateway partition.
//
// Four regions (us-east, us-west, eu-west, ap-south) are four embedded
// nats-server clusters joined by gateways. Each gateway connection runs
// through a proxy that delays it by the one-way latency between the two
// regions (half of merge/sim's round-trip table) and can be cut. Each
// region has app nodes; each node holds three durable merge.Keyspaces
// (carts of ORSets, likes of GCounters, profiles of LWWRegisters), each
// on a bbolt file (boltstore, in a temporary directory) and carried by a
// natsync.Transport, and writes to random keys all along. The timeline,
// in phases of -phase each:
//
//	all up          writes everywhere
//	ap-south down   its server shut down, its nodes stopped (Transports,
//	                keyspaces and files closed)
//	ap-south back   its server restarted on its ports, its nodes started
//	                again from their files, as new incarnations; longer, up
//	                to three phases, until every region caught up
//	gateway cut     the gateway between us-east and eu-west drops
//	healed          the gateway back
//	quiet           writes stop; the program waits for every node to agree
//
// Every sample prints, per region, the largest
// converge_peer_oldest_unacked_seconds of its nodes (the age of the oldest
// write some peer has not acknowledged: the figure natsync/alerts.yml
// alerts on) and the unacknowledged deltas. At the end it prints when
// every node of every keyspace held the same states, whether every write
// is on every node, and the bytes that crossed each gateway.
//
//	go run ./natsync/examples/natsregions [-phase 3s] [-nodes 2] [-every 20ms] [-seed 1]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	var cfg config
	flag.DurationVar(&cfg.phase, "phase", 3*time.Second, "length of each phase of the timeline")
	flag.IntVar(&cfg.nodes, "nodes", 2, "app nodes per region")
	flag.DurationVar(&cfg.every, "every", 20*time.Millisecond, "time between two writes of a node")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the writes")
	flag.Parse()
	if _, err := run(os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "natsregions:", err)
		os.Exit(1)
	}
}

// A config is what the flags set.
type config struct {
	phase time.Duration
	nodes int
	every time.Duration
	seed  uint64
}

func (c config) check() error {
	switch {
	case c.phase < 500*time.Millisecond || c.phase > time.Minute:
		return fmt.Errorf("-phase %v: want 500ms to 1m", c.phase)
	case c.nodes < 1 || c.nodes > 8:
		return fmt.Errorf("-nodes %d: want 1 to 8", c.nodes)
	case c.every < time.Millisecond || c.every > time.Second:
		return fmt.Errorf("-every %v: want 1ms to 1s", c.every)
	}
	return nil
}

// run runs the timeline, printing to out, and returns what it measured.
func run(out io.Writer, cfg config) (*report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	f, err := startFleet(cfg)
	if err != nil {
		return nil, err
	}
	defer f.stop()
	fmt.Fprintf(out, "%d regions as %d NATS clusters joined by gateways on 127.0.0.1, one-way latency half of merge/sim's round trips;\n", len(regions), len(regions))
	plural := "s"
	if cfg.nodes == 1 {
		plural = ""
	}
	fmt.Fprintf(out, "%d node%s per region, each with %d keyspaces (%s) over natsync, a write every %v per node.\n\n", cfg.nodes, plural, len(sets), setNames(), cfg.every)
	rep := &report{}
	f.startWriting()
	f.timeline(out, rep)
	f.stopWriting()
	f.waitConverged(out, rep)
	f.summary(out, rep)
	return rep, nil
}
