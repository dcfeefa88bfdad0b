package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// The regions of the default topology, with the latencies of
// [DefaultLatency] between them.
const (
	USEast  = "us-east"
	USWest  = "us-west"
	EUWest  = "eu-west"
	APSouth = "ap-south"
)

// DefaultNodes is the number of nodes of a [Region] whose Nodes is 0: one
// per availability zone of a typical region.
const DefaultNodes = 3

// DefaultEpoch is the Unix time that virtual time 0 stands for when
// [Config].Epoch is zero, so that clocks read plausible dates.
var DefaultEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultRegions returns the default topology: us-east, us-west, eu-west
// and ap-south, [DefaultNodes] nodes each, with correct clocks.
func DefaultRegions() []Region {
	return []Region{{Name: USEast}, {Name: USWest}, {Name: EUWest}, {Name: APSouth}}
}

// A Region is a group of nodes that share a latency class: nodes of one
// region talk over [Config].LocalRTT, nodes of two regions over the
// [Config].Latency entry for the pair.
type Region struct {
	// Name identifies the region; node names are Name-1, Name-2, ...
	Name string
	// Nodes is the number of nodes; 0 means DefaultNodes.
	Nodes int
	// Skew is added to the clock offset of every node of the region (on
	// top of the offset drawn for each node, see [Config].ClockSkew).
	Skew time.Duration
	// Drift, in parts per million, is added to the drift of every node
	// of the region: 100 makes its clocks gain 100 µs per second.
	Drift float64
}

// A Config describes a simulation: the topology, the network model, the
// clocks and the scheduled faults. The zero Config is valid: four regions
// of three nodes with the latencies of [DefaultLatency], a network that neither
// loses, duplicates nor delays beyond those latencies, correct clocks,
// and no faults, all seeded with 0. Fields whose zero value is a useful
// setting (probabilities, skew) default to it; the others say their
// default.
type Config struct {
	// Seed seeds every random choice: the same Config gives the same run.
	Seed uint64
	// Epoch is the wall-clock time that virtual time 0 stands for;
	// the zero Time means DefaultEpoch.
	Epoch time.Time

	// Regions lists the regions, in the order that numbers their nodes
	// and orders reports; nil means DefaultRegions(). Names must be
	// unique and non-empty; at most 64 regions.
	Regions []Region
	// Latency gives the round-trip time range between two regions; every
	// pair of distinct regions needs an entry (under either order). nil
	// means the entries of DefaultLatency() between configured regions.
	// An entry pairing a region with itself overrides LocalRTT for that
	// region.
	Latency map[Link]RTT
	// LocalRTT is the round trip between two nodes of one region, in
	// different availability zones; the zero RTT means 1–2 ms.
	LocalRTT RTT

	// Jitter is the mean of an exponentially distributed delay added to
	// each message on top of its latency: a few messages are late by
	// several times Jitter, as queues make them. 0 adds none.
	Jitter time.Duration
	// Loss is the probability that the network drops a message (each
	// copy of a duplicated message independently).
	Loss float64
	// Duplicate is the probability that the network delivers a message
	// twice, each copy with its own delay.
	Duplicate float64
	// Reorder is the probability that a message is held back by an
	// extra delay drawn uniformly in [0, ReorderDelay), which makes it
	// overtake-able by later messages. Independent per-message delays
	// already reorder messages whose send times are closer than the
	// latency range; Reorder adds reordering at larger distances.
	Reorder float64
	// ReorderDelay bounds the extra delay of a reordered message; 0
	// means 100 ms.
	ReorderDelay time.Duration

	// ClockSkew bounds the constant offset of each node's physical
	// clock, drawn uniformly in [-ClockSkew, ClockSkew] (plus its
	// Region's Skew). 0 draws none.
	ClockSkew time.Duration
	// ClockDrift bounds the drift of each node's physical clock, in
	// parts per million, drawn uniformly in [-ClockDrift, ClockDrift]
	// (plus its Region's Drift). 0 draws none.
	ClockDrift float64

	// Partitions and Outages are the faults to schedule; [Sim.Partition]
	// and [Sim.Outage] add more.
	Partitions []Partition
	Outages    []Outage
}

// A NodeID numbers a node: 0, 1, ... in the order of [Config].Regions,
// then of the nodes within a region.
type NodeID int

// A Node is one simulated machine.
type Node struct {
	ID     NodeID
	Name   string // Region-k, k from 1
	Region string
	// Skew is the constant offset of the node's physical clock from true
	// (virtual) time, and Drift its rate error in parts per million: at
	// virtual time t the clock reads Epoch + t + Skew + t·Drift/10⁶.
	Skew  time.Duration
	Drift float64
}

// A Handler receives the messages delivered to a node. Receive runs on the
// simulator's only goroutine, at the virtual time of the delivery; it may
// call [Sim.Send], [Sim.Schedule] and the rest of the Sim, and must not
// modify or keep msg past the call unless it copies it: the network
// delivers the very slice given to Send, to every copy of a duplicated
// message.
type Handler interface {
	Receive(from NodeID, msg []byte)
}

// A HandlerFunc is a func used as a [Handler].
type HandlerFunc func(from NodeID, msg []byte)

// Receive calls f(from, msg).
func (f HandlerFunc) Receive(from NodeID, msg []byte) { f(from, msg) }

// A Sim is a deterministic discrete-event simulation of a network of
// nodes in virtual time (see the package documentation). Make one with
// [New]; it must not be copied. A Sim is not safe for concurrent use: it
// runs everything — events, handlers, clock readings — on the goroutine
// that calls Run or Step, one event at a time.
type Sim struct {
	seed    uint64
	epoch   int64         // Unix ns at virtual time 0
	now     time.Duration // virtual time of the event being run
	q       queue
	seq     uint64
	stopped bool

	regions  []Region
	nodes    []Node
	region   []int   // region index of each node
	clockOff []int64 // per node: clock offset, ns
	clockPPB []int64 // per node: drift, parts per billion
	handlers []Handler
	onStatus []func(NodeID, bool)

	net      netModel
	rng      *rand.Rand // the network's draws
	down     []int32    // per node: outages in progress
	cut      []int32    // per region pair (i*R+j): partitions in progress
	links    []Link     // per link class
	linkOf   []int      // per region pair (i*R+j): link class
	traffic  []Traffic  // per link class
	lastHeal time.Duration
}

// New returns a Sim configured by cfg, at virtual time 0 with the faults
// of cfg scheduled. It reports an error if cfg is inconsistent: an
// unknown or duplicate region, a missing latency, a probability outside
// [0, 1], a fault that ends before it starts.
func New(cfg Config) (*Sim, error) {
	s := &Sim{seed: cfg.Seed}
	defaultLatency := cfg.Latency == nil
	cfg.fill()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s.epoch = cfg.Epoch.UnixNano()
	index, err := s.addRegions(cfg)
	if err != nil {
		return nil, err
	}
	s.handlers = make([]Handler, len(s.nodes))
	s.down = make([]int32, len(s.nodes))
	if defaultLatency { // keep the routes between regions configured
		for l := range cfg.Latency {
			if _, ok := index[l.A]; !ok {
				delete(cfg.Latency, l)
			} else if _, ok := index[l.B]; !ok {
				delete(cfg.Latency, l)
			}
		}
	}
	if err := s.initNetwork(cfg, index); err != nil {
		return nil, err
	}
	for _, p := range cfg.Partitions {
		if err := s.Partition(p); err != nil {
			return nil, err
		}
	}
	for _, o := range cfg.Outages {
		if err := s.Outage(o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// fill sets the defaults of the fields cfg leaves zero.
func (cfg *Config) fill() {
	if cfg.Epoch.IsZero() {
		cfg.Epoch = DefaultEpoch
	}
	if cfg.Regions == nil {
		cfg.Regions = DefaultRegions()
	}
	if cfg.Latency == nil {
		cfg.Latency = DefaultLatency()
	}
	if cfg.LocalRTT == (RTT{}) {
		cfg.LocalRTT = RTT{time.Millisecond, 2 * time.Millisecond}
	}
	if cfg.ReorderDelay == 0 {
		cfg.ReorderDelay = 100 * time.Millisecond
	}
}

// check returns an error if a field of cfg is out of range.
func (cfg *Config) check() error {
	if len(cfg.Regions) == 0 || len(cfg.Regions) > 64 {
		return fmt.Errorf("sim: %d regions, want 1 to 64", len(cfg.Regions))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"Loss", cfg.Loss}, {"Duplicate", cfg.Duplicate}, {"Reorder", cfg.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("sim: %s = %v, want a probability in [0, 1]", p.name, p.v)
		}
	}
	if cfg.Jitter < 0 || cfg.ReorderDelay < 0 || cfg.ClockSkew < 0 || !(cfg.ClockDrift >= 0 && cfg.ClockDrift < maxDrift) {
		return errors.New("sim: negative Jitter, ReorderDelay, ClockSkew or ClockDrift, or ClockDrift too large")
	}
	return nil
}

// addRegions adds the regions of cfg and their nodes, each with its
// clock, and returns the index of each region by name.
func (s *Sim) addRegions(cfg Config) (map[string]int, error) {
	clockRand := s.Rand("clock")
	index := make(map[string]int, len(cfg.Regions))
	for ri, r := range cfg.Regions {
		switch _, dup := index[r.Name]; {
		case r.Name == "":
			return nil, errors.New("sim: a region without a name")
		case dup:
			return nil, fmt.Errorf("sim: region %s listed twice", r.Name)
		case r.Nodes < 0:
			return nil, fmt.Errorf("sim: region %s has %d nodes", r.Name, r.Nodes)
		case r.Nodes == 0:
			r.Nodes = DefaultNodes
		}
		index[r.Name] = ri
		s.regions = append(s.regions, r)
		for k := 1; k <= r.Nodes; k++ {
			if err := s.addNode(cfg, ri, k, clockRand); err != nil {
				return nil, err
			}
		}
	}
	return index, nil
}

// addNode adds node k of region ri, its clock skewed and drifting as the
// region says, plus the random share cfg asks for.
func (s *Sim) addNode(cfg Config, ri, k int, clockRand *rand.Rand) error {
	r := s.regions[ri]
	n := Node{ID: NodeID(len(s.nodes)), Name: fmt.Sprintf("%s-%d", r.Name, k), Region: r.Name}
	skew := r.Skew
	if cfg.ClockSkew > 0 {
		skew += time.Duration(clockRand.Int64N(2*int64(cfg.ClockSkew)+1)) - cfg.ClockSkew
	}
	drift := r.Drift
	if cfg.ClockDrift > 0 {
		drift += (2*clockRand.Float64() - 1) * cfg.ClockDrift
	}
	s.nodes = append(s.nodes, n)
	s.region = append(s.region, ri)
	s.clockOff = append(s.clockOff, 0)
	s.clockPPB = append(s.clockPPB, 0)
	return s.SetClock(n.ID, skew, drift)
}

// maxDrift bounds drift, in ppm: a clock 10% off is broken hardware, and
// the bound keeps the integer arithmetic of clock readings exact.
const maxDrift = 1e5

// Seed returns the seed the Sim was made with.
func (s *Sim) Seed() uint64 { return s.seed }

// Rand returns a new random source seeded by the Sim's seed and name:
// the same name gives the same sequence, different names independent
// ones. Use one source per concern ("workload", "faults", ...) so that
// changing one concern's draws leaves the others' unchanged. The Sim
// uses the names "network" and "clock" itself.
func (s *Sim) Rand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(s.seed, h.Sum64()))
}

// Entropy returns a reader of random bytes seeded from the simulation's
// seed and name, as Rand is: pass it to merge.WithRandom, so that the
// replicas' incarnation numbers, and so their writer IDs, are the same on
// every run of a seed.
func (s *Sim) Entropy(name string) io.Reader {
	h := fnv.New64a()
	h.Write([]byte(name))
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], s.seed)
	binary.LittleEndian.PutUint64(key[8:16], h.Sum64())
	return rand.NewChaCha8(key)
}

// Now returns the virtual time: the time since the start of the
// simulation, at the event being run.
func (s *Sim) Now() time.Duration { return s.now }

// Epoch returns the wall-clock time that virtual time 0 stands for.
func (s *Sim) Epoch() time.Time { return time.Unix(0, s.epoch).UTC() }

// Nodes returns every node, in NodeID order.
func (s *Sim) Nodes() []Node { return append([]Node(nil), s.nodes...) }

// Node returns node id. It panics if there is no such node.
func (s *Sim) Node(id NodeID) Node { return s.nodes[id] }

// Regions returns the regions, in the configured order, with Nodes filled
// in.
func (s *Sim) Regions() []Region { return append([]Region(nil), s.regions...) }

// RegionNodes returns the nodes of region name, in NodeID order; none if
// there is no such region.
func (s *Sim) RegionNodes(name string) []NodeID {
	var ids []NodeID
	for _, n := range s.nodes {
		if n.Region == name {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// Handle makes h receive the messages delivered to node id, replacing any
// handler set before. Messages delivered to a node without a handler are
// counted as delivered and discarded.
func (s *Sim) Handle(id NodeID, h Handler) { s.handlers[id] = h }

// OnStatus registers f to be called each time a node goes down or comes
// back up ([Outage]), with up reporting which, at the virtual time of the
// change; nodes of a region change in NodeID order. A node coming back
// is a natural time to catch up (merge.Replica.SyncDigest).
func (s *Sim) OnStatus(f func(id NodeID, up bool)) { s.onStatus = append(s.onStatus, f) }

// Up reports whether node id is up: in no outage.
func (s *Sim) Up(id NodeID) bool { return s.down[id] == 0 }

// SetClock sets node id's clock offset and drift (in parts per million),
// replacing those New drew. It fails if drift is 10% or more either way.
// The clock reading jumps at once, as a stepped clock does; the
// hlc.Clock above it does not go back (see [Sim.PhysicalClock]).
func (s *Sim) SetClock(id NodeID, skew time.Duration, drift float64) error {
	if !(math.Abs(drift) < maxDrift) {
		return fmt.Errorf("sim: node %s: drift %v ppm out of range", s.nodes[id].Name, drift)
	}
	s.clockOff[id] = int64(skew)
	s.clockPPB[id] = int64(math.Round(drift * 1000))
	s.nodes[id].Skew = skew
	s.nodes[id].Drift = float64(s.clockPPB[id]) / 1000
	return nil
}

// PhysicalClock returns node id's physical clock: a func returning Unix
// nanoseconds, Epoch + t + Skew + t·Drift/10⁶ at virtual time t, for
// hlc.WithPhysicalClock. It reads the Sim's virtual time, so it must be
// called only from the simulation's goroutine. With a negative Skew it
// may read before the epoch at the very start; it never goes backwards
// unless SetClock steps it back.
func (s *Sim) PhysicalClock(id NodeID) func() int64 {
	return func() int64 { return s.clockAt(id, s.now) }
}

func (s *Sim) clockAt(id NodeID, t time.Duration) int64 {
	ns, ppb := int64(t), s.clockPPB[id]
	// ns·ppb/10⁹ without overflow: |ppb| < 10⁸ and ns%10⁹ < 10⁹.
	drift := ns/1e9*ppb + ns%1e9*ppb/1e9
	return s.epoch + ns + s.clockOff[id] + drift
}

// An event is a function to run or a message to deliver at a virtual
// time; seq, the order of scheduling, breaks ties so that events at one
// time run in the order they were scheduled.
type event struct {
	at       time.Duration
	seq      uint64
	fn       func()
	msg      []byte
	from, to NodeID
}

// queue is a binary min-heap of events by (at, seq). It holds events by
// value, rather than going through container/heap, whose interface
// boxes each pushed event in an allocation: the queue is the simulator's
// hot path, one push and one pop per message.
type queue []event

func (q queue) less(i, j int) bool {
	a, b := &q[i], &q[j]
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() event {
	h := *q
	e := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = event{} // let msg and fn go
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return e
}

func (s *Sim) push(e event) {
	e.seq = s.seq
	s.seq++
	s.q.push(e)
}

// Schedule makes f run at virtual time at, after every event already
// scheduled for that time. It panics if at is before Now: the past is
// done. Scheduling costs O(log n) in the number of pending events.
func (s *Sim) Schedule(at time.Duration, f func()) {
	if at < s.now {
		panic(fmt.Sprintf("sim: Schedule at %v, before now (%v)", at, s.now))
	}
	s.push(event{at: at, fn: f})
}

// After makes f run d after Now; a negative d counts as 0.
func (s *Sim) After(d time.Duration, f func()) { s.Schedule(s.now+max(d, 0), f) }

// Every makes f run at first, then every period after that, for ever, or
// until f returns false. It panics if period is not positive.
func (s *Sim) Every(first, period time.Duration, f func() bool) {
	if period <= 0 {
		panic("sim: Every with a non-positive period")
	}
	var tick func()
	tick = func() {
		if f() {
			s.Schedule(s.now+period, tick)
		}
	}
	s.Schedule(first, tick)
}

// Pending returns the number of events scheduled and not yet run,
// messages in flight included.
func (s *Sim) Pending() int { return len(s.q) }

// Step runs the next event, advancing Now to its time, and reports
// whether there was one.
func (s *Sim) Step() bool {
	if len(s.q) == 0 {
		return false
	}
	e := s.q.pop()
	s.now = e.at
	if e.fn != nil {
		e.fn()
	} else {
		s.deliver(&e)
	}
	return true
}

// Run runs the events scheduled up to virtual time until, in order, then
// sets Now to until; or returns early, at the time of the event that
// called Stop. Events scheduled after until stay pending for the next
// Run.
func (s *Sim) Run(until time.Duration) {
	s.stopped = false
	for !s.stopped && len(s.q) > 0 && s.q[0].at <= until {
		s.Step()
	}
	if !s.stopped && s.now < until {
		s.now = until
	}
	s.stopped = false
}

// Stop makes the Run in progress return once the current event is done.
func (s *Sim) Stop() { s.stopped = true }
