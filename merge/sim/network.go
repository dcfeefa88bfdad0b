package sim

import (
	"fmt"
	"time"
)

// An RTT is a range of round-trip times: each message takes, one way, half
// a round trip drawn uniformly in [Min, Max].
type RTT struct{ Min, Max time.Duration }

// A Link names a pair of regions, in either order: the class of the route
// between them, which fixes its latency and under which traffic is
// counted. A region paired with itself is the route between its nodes.
// [LinkBetween] puts the names in ascending order, the form [Sim.Traffic]
// reports; a latency table may use either order.
type Link struct{ A, B string }

// LinkBetween returns the Link of regions a and b, names in ascending
// order.
func LinkBetween(a, b string) Link {
	if b < a {
		a, b = b, a
	}
	return Link{a, b}
}

// String returns "a ↔ b".
func (l Link) String() string { return l.A + " ↔ " + l.B }

// DefaultLatency returns typical round-trip times between the default
// regions:
//
//	route (round trip)        ms
//	same region, other zone   1–2    (Config.LocalRTT)
//	US East ↔ US West         60–80
//	US ↔ Europe               80–120
//	US ↔ Asia                 150–250
//	Europe ↔ Asia             200–300
func DefaultLatency() map[Link]RTT {
	ms := time.Millisecond
	return map[Link]RTT{
		LinkBetween(USEast, USWest):  {60 * ms, 80 * ms},
		LinkBetween(USEast, EUWest):  {80 * ms, 120 * ms},
		LinkBetween(USWest, EUWest):  {80 * ms, 120 * ms},
		LinkBetween(USEast, APSouth): {150 * ms, 250 * ms},
		LinkBetween(USWest, APSouth): {150 * ms, 250 * ms},
		LinkBetween(EUWest, APSouth): {200 * ms, 300 * ms},
	}
}

// A Partition cuts the network between two sets of regions from Start
// until End, virtual times: a message between a node of A and a node of
// B is dropped if it is sent, or arrives, while the partition lasts.
// Messages within A, within B, and to or from other regions pass.
type Partition struct {
	Start, End time.Duration
	// A lists regions on one side; B those on the other, nil meaning
	// every region not in A. A and B must not overlap.
	A, B []string
}

// An Outage takes every node of Region down from Start until End,
// virtual times. A down node receives nothing — messages to it are
// dropped on arrival, as are those it sends — and should do nothing:
// the replication layer sends no syncs and places no operations on it.
// It keeps its state: an outage is a region cut off or paused, not a
// loss of disk. Overlapping outages of one region keep it down until
// the last ends.
type Outage struct {
	Start, End time.Duration
	Region     string
}

// A Count is a number of messages and their size in bytes.
type Count struct{ Messages, Bytes uint64 }

func (c *Count) add(n int) {
	c.Messages++
	c.Bytes += uint64(n)
}

// Traffic counts the messages of one link class. A message sent becomes
// one or two copies (Duplicated counts the second ones); each copy is
// then delivered or dropped, and is in flight meanwhile:
//
//	Sent + Duplicated = Delivered + Lost + Partitioned + Down + in flight
type Traffic struct {
	Link Link
	// Sent counts the messages given to Send; Duplicated the extra copies
	// the network made.
	Sent, Duplicated Count
	// Delivered counts copies handed to the recipient.
	Delivered Count
	// Lost counts copies the network dropped at random ([Config].Loss);
	// Partitioned those dropped by a partition, when sent or on arrival;
	// Down those sent by or to a node that was down.
	Lost, Partitioned, Down Count
}

func (t *Traffic) addAll(o *Traffic) {
	for _, p := range [][2]*Count{
		{&t.Sent, &o.Sent}, {&t.Duplicated, &o.Duplicated}, {&t.Delivered, &o.Delivered},
		{&t.Lost, &o.Lost}, {&t.Partitioned, &o.Partitioned}, {&t.Down, &o.Down},
	} {
		p[0].Messages += p[1].Messages
		p[0].Bytes += p[1].Bytes
	}
}

// netModel is the network configuration, resolved.
type netModel struct {
	rtt          []RTT // per link class
	jitter       float64
	loss, dup    float64
	reorder      float64
	reorderDelay int64
}

func (s *Sim) initNetwork(cfg Config, index map[string]int) error {
	s.rng = s.Rand("network")
	s.net = netModel{
		jitter:       float64(cfg.Jitter),
		loss:         cfg.Loss,
		dup:          cfg.Duplicate,
		reorder:      cfg.Reorder,
		reorderDelay: int64(cfg.ReorderDelay),
	}
	for l := range cfg.Latency {
		for _, name := range []string{l.A, l.B} {
			if _, ok := index[name]; !ok {
				return fmt.Errorf("sim: latency given for %v, but there is no region %s", l, name)
			}
		}
	}
	n := len(s.regions)
	s.cut = make([]int32, n*n)
	s.linkOf = make([]int, n*n)
	for i, a := range s.regions {
		for j := i; j < n; j++ {
			b := s.regions[j]
			rtt, ok := cfg.Latency[Link{a.Name, b.Name}]
			if !ok {
				rtt, ok = cfg.Latency[Link{b.Name, a.Name}]
			}
			switch {
			case !ok && i == j:
				rtt = cfg.LocalRTT
			case !ok:
				return fmt.Errorf("sim: no latency given between %s and %s", a.Name, b.Name)
			}
			if rtt.Min < 0 || rtt.Max < rtt.Min {
				return fmt.Errorf("sim: latency %v–%v between %s and %s", rtt.Min, rtt.Max, a.Name, b.Name)
			}
			k := len(s.links)
			s.linkOf[i*n+j], s.linkOf[j*n+i] = k, k
			s.links = append(s.links, LinkBetween(a.Name, b.Name))
			s.net.rtt = append(s.net.rtt, rtt)
		}
	}
	s.traffic = make([]Traffic, len(s.links))
	for k, l := range s.links {
		s.traffic[k].Link = l
	}
	return nil
}

func (s *Sim) pair(from, to NodeID) int { return s.region[from]*len(s.regions) + s.region[to] }

// Connected reports whether a message sent from one node to another now
// would pass: both are up and no partition separates them. It may still
// be lost at random, and the path may be cut before the message arrives.
func (s *Sim) Connected(from, to NodeID) bool {
	return s.down[from] == 0 && s.down[to] == 0 && s.cut[s.pair(from, to)] == 0
}

// Send sends msg from one node to another: unless the network drops it,
// the recipient's Handler receives it after the latency of their link
// (see the package documentation). Send takes msg over: the network
// delivers that very slice, so the caller must not modify it afterwards.
// It costs a few random draws and O(log n) to queue each copy.
func (s *Sim) Send(from, to NodeID, msg []byte) {
	p := s.pair(from, to)
	k := s.linkOf[p]
	t := &s.traffic[k]
	t.Sent.add(len(msg))
	switch {
	case s.down[from] > 0 || s.down[to] > 0:
		t.Down.add(len(msg))
		return
	case s.cut[p] > 0:
		t.Partitioned.add(len(msg))
		return
	}
	copies := 1
	if s.net.dup > 0 && s.rng.Float64() < s.net.dup {
		copies = 2
		t.Duplicated.add(len(msg))
	}
	for range copies {
		if s.net.loss > 0 && s.rng.Float64() < s.net.loss {
			t.Lost.add(len(msg))
			continue
		}
		s.push(event{at: s.now + s.delay(k), msg: msg, from: from, to: to})
	}
}

// delay draws the one-way delay of a message on link class k.
func (s *Sim) delay(k int) time.Duration {
	r := s.net.rtt[k]
	d := int64(r.Min)
	if r.Max > r.Min {
		d += s.rng.Int64N(int64(r.Max-r.Min) + 1)
	}
	d /= 2
	if s.net.jitter > 0 {
		d += int64(s.rng.ExpFloat64() * s.net.jitter)
	}
	if s.net.reorder > 0 && s.rng.Float64() < s.net.reorder && s.net.reorderDelay > 0 {
		d += s.rng.Int64N(s.net.reorderDelay)
	}
	return time.Duration(d)
}

// deliver hands a message that arrives to its recipient, unless the
// recipient is down or a partition now separates the two.
func (s *Sim) deliver(e *event) {
	p := s.pair(e.from, e.to)
	t := &s.traffic[s.linkOf[p]]
	switch {
	case s.down[e.to] > 0:
		t.Down.add(len(e.msg))
	case s.cut[p] > 0:
		t.Partitioned.add(len(e.msg))
	default:
		t.Delivered.add(len(e.msg))
		if h := s.handlers[e.to]; h != nil {
			h.Receive(e.from, e.msg)
		}
	}
}

// Traffic returns the traffic counted on each link class: local links
// and links between regions, in the order of the regions' pairs (i, j),
// i ≤ j, by configured index.
func (s *Sim) Traffic() []Traffic { return append([]Traffic(nil), s.traffic...) }

// TotalTraffic returns the traffic of all link classes added up; its Link
// is zero.
func (s *Sim) TotalTraffic() Traffic {
	var t Traffic
	for i := range s.traffic {
		t.addAll(&s.traffic[i])
	}
	return t
}

// Partition schedules a partition. It fails if a region is unknown, the
// sides overlap or A is empty, or the partition does not start at or
// after Now and end after it starts.
func (s *Sim) Partition(p Partition) error {
	if p.Start < s.now || p.End <= p.Start {
		return fmt.Errorf("sim: partition from %v to %v, at %v", p.Start, p.End, s.now)
	}
	sideA, err := s.regionSet(p.A)
	if err != nil {
		return err
	}
	sideB, err := s.regionSet(p.B)
	if err != nil {
		return err
	}
	if p.B == nil {
		sideB = ^sideA
	}
	if sideA == 0 || sideA&sideB != 0 {
		return fmt.Errorf("sim: partition between %v and %v: sides empty or overlapping", p.A, p.B)
	}
	n := len(s.regions)
	apply := func(d int32) func() {
		return func() {
			for i := range n {
				for j := range n {
					if sideA>>i&1 == 1 && sideB>>j&1 == 1 {
						s.cut[i*n+j] += d
						s.cut[j*n+i] += d
					}
				}
			}
		}
	}
	s.Schedule(p.Start, apply(1))
	s.Schedule(p.End, apply(-1))
	s.lastHeal = max(s.lastHeal, p.End)
	return nil
}

func (s *Sim) regionSet(names []string) (uint64, error) {
	var set uint64
	for _, name := range names {
		i := s.regionIndex(name)
		if i < 0 {
			return 0, fmt.Errorf("sim: no region %s", name)
		}
		set |= 1 << i
	}
	return set, nil
}

func (s *Sim) regionIndex(name string) int {
	for i, r := range s.regions {
		if r.Name == name {
			return i
		}
	}
	return -1
}

// Outage schedules an outage. It fails if the region is unknown, or the
// outage does not start at or after Now and end after it starts.
func (s *Sim) Outage(o Outage) error {
	if o.Start < s.now || o.End <= o.Start {
		return fmt.Errorf("sim: outage from %v to %v, at %v", o.Start, o.End, s.now)
	}
	ids := s.RegionNodes(o.Region)
	if s.regionIndex(o.Region) < 0 {
		return fmt.Errorf("sim: no region %s", o.Region)
	}
	apply := func(d int32) func() {
		return func() {
			for _, id := range ids {
				was := s.down[id] == 0
				s.down[id] += d
				if up := s.down[id] == 0; up != was {
					for _, f := range s.onStatus {
						f(id, up)
					}
				}
			}
		}
	}
	s.Schedule(o.Start, apply(1))
	s.Schedule(o.End, apply(-1))
	s.lastHeal = max(s.lastHeal, o.End)
	return nil
}

// LastHeal returns the time the last fault scheduled so far ends; 0 if
// there is none.
func (s *Sim) LastHeal() time.Duration { return s.lastHeal }
