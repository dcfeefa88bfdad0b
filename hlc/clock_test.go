package hlc_test

import (
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/converge-go/converge/hlc"
	"pgregory.net/rapid"
)

// A fakeClock is a physical clock that a test sets by hand.
type fakeClock struct{ ns atomic.Int64 }

func (f *fakeClock) now() int64     { return f.ns.Load() }
func (f *fakeClock) setMs(ms int64) { f.ns.Store(ms * int64(time.Millisecond)) }

// newFake returns a Clock reading a fakeClock set to ptMs milliseconds,
// with the given floor.
func newFake(ptMs int64, floor hlc.Timestamp, opts ...hlc.Option) (*hlc.Clock, *fakeClock) {
	f := new(fakeClock)
	f.setMs(ptMs)
	return hlc.New(append([]hlc.Option{hlc.WithPhysicalClock(f.now), hlc.WithFloor(floor)}, opts...)...), f
}

func ts(l uint64, c uint16) hlc.Timestamp { return hlc.MakeTimestamp(l, c) }

// Each case of the send rule of fig. 5: l := max(l', pt); c := c'+1 if
// l = l', else 0.
func TestNowFig5(t *testing.T) {
	for _, tc := range []struct {
		name       string
		last       hlc.Timestamp // (l', c')
		pt         int64
		want       hlc.Timestamp
		overflowed bool
	}{
		{"pt wins", ts(100, 7), 101, ts(101, 0), false},
		{"pt wins by far", ts(100, 65535), 5000, ts(5000, 0), false},
		{"l = l' = pt", ts(100, 7), 100, ts(100, 8), false},
		{"l = l' > pt", ts(100, 7), 90, ts(100, 8), false},
		{"first event", 0, 0, ts(0, 1), false},
		{"carry, pt behind", ts(100, 65535), 90, ts(101, 0), true},
		{"carry, l' = pt", ts(100, 65535), 100, ts(101, 0), true},
		{"pt = l'+1 is no carry", ts(100, 65535), 101, ts(101, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newFake(tc.pt, tc.last)
			if got := c.Now(); got != tc.want {
				t.Errorf("Now() = %v, want %v", got, tc.want)
			}
			if got, want := c.Stats().LogicalOverflows, b2u(tc.overflowed); got != want {
				t.Errorf("LogicalOverflows = %d, want %d", got, want)
			}
		})
	}
}

// Each case of the receive rule of fig. 5: l := max(l', l_m, pt); c :=
// max(c', c_m)+1 if l = l' = l_m, c'+1 if l = l', c_m+1 if l = l_m, else 0.
func TestUpdateFig5(t *testing.T) {
	for _, tc := range []struct {
		name       string
		last       hlc.Timestamp // (l', c')
		remote     hlc.Timestamp // (l_m, c_m)
		pt         int64
		want       hlc.Timestamp
		overflowed bool
	}{
		{"l = l' = l_m, c' > c_m", ts(100, 7), ts(100, 3), 90, ts(100, 8), false},
		{"l = l' = l_m, c_m > c'", ts(100, 3), ts(100, 7), 90, ts(100, 8), false},
		{"l = l' = l_m, c_m = c'", ts(100, 7), ts(100, 7), 90, ts(100, 8), false},
		{"l = l' = l_m = pt", ts(100, 3), ts(100, 7), 100, ts(100, 8), false},
		{"l = l' > l_m", ts(100, 7), ts(95, 500), 90, ts(100, 8), false},
		{"l = l' = pt > l_m", ts(100, 7), ts(95, 500), 100, ts(100, 8), false},
		{"l = l_m > l'", ts(95, 500), ts(100, 7), 90, ts(100, 8), false},
		{"l = l_m = pt > l'", ts(95, 500), ts(100, 7), 100, ts(100, 8), false},
		{"pt wins", ts(95, 500), ts(97, 65535), 100, ts(100, 0), false},
		{"pt wins, l' = l_m", ts(97, 3), ts(97, 9), 100, ts(100, 0), false},
		{"carry, l = l'", ts(100, 65535), ts(95, 0), 90, ts(101, 0), true},
		{"carry, l = l_m", ts(95, 0), ts(100, 65535), 90, ts(101, 0), true},
		{"carry, l = l' = l_m", ts(100, 65535), ts(100, 65535), 90, ts(101, 0), true},
		{"l_m+1 = pt is no carry", ts(95, 0), ts(100, 65535), 101, ts(101, 0), false},
		{"remote zero", ts(100, 7), 0, 90, ts(100, 8), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newFake(tc.pt, tc.last)
			got, err := c.Update(tc.remote)
			if err != nil || got != tc.want {
				t.Errorf("Update(%v) = %v, %v, want %v, nil", tc.remote, got, err, tc.want)
			}
			if got, want := c.Stats().LogicalOverflows, b2u(tc.overflowed); got != want {
				t.Errorf("LogicalOverflows = %d, want %d", got, want)
			}
			if got := c.Last(); got != tc.want {
				t.Errorf("Last() = %v, want %v", got, tc.want)
			}
		})
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// fig5 is the algorithm of fig. 5 as the paper writes it, with an
// unbounded counter c, as the reference for the integer formulas.
type fig5 struct{ l, c int64 }

func (s *fig5) send(pt int64) {
	l0 := s.l
	s.l = max(l0, pt)
	if s.l == l0 {
		s.c++
	} else {
		s.c = 0
	}
}

func (s *fig5) receive(lm, cm, pt int64) {
	l0 := s.l
	s.l = max(l0, lm, pt)
	switch {
	case s.l == l0 && s.l == lm:
		s.c = max(s.c, cm) + 1
	case s.l == l0:
		s.c++
	case s.l == lm:
		s.c = cm + 1
	default:
		s.c = 0
	}
}

// timestamp returns the Timestamp for the state, carrying a counter past
// 65535 into l (it can only reach 65536, from two counters that fit).
func (s *fig5) timestamp() hlc.Timestamp {
	return hlc.Timestamp(uint64(s.l)<<16 + uint64(s.c))
}

// Now and Update agree with fig. 5 on any history: any physical clock
// (forward, backward, frozen), any remote timestamps (behind, ahead, beyond
// the max offset, with a full counter).
func TestClockMatchesFig5(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const base = 1_800_000_000_000 // ms, in 2027
		const bound = 1000             // ms
		f := new(fakeClock)
		ns := rapid.Int64Range(0, 1e9).Draw(t, "start") + base*1e6
		f.ns.Store(ns)
		c := hlc.New(hlc.WithPhysicalClock(f.now), hlc.WithMaxOffset(bound*time.Millisecond))
		var model fig5
		var issued []hlc.Timestamp
		rejected := uint64(0)
		check := func(t *rapid.T, got hlc.Timestamp, ptNs int64) {
			want := model.timestamp()
			if got != want {
				t.Fatalf("got %v, want %v (fig. 5 state l=%d c=%d)", got, want, model.l, model.c)
			}
			model = fig5{int64(got.Physical()), int64(got.Logical())} // renormalise a carry
			if n := len(issued); n > 0 && got <= issued[n-1] {
				t.Fatalf("got %v after %v, want it greater", got, issued[n-1])
			}
			if got.Physical()*1e6 < uint64(ptNs) {
				t.Fatalf("got %v for a physical clock at %d ns: l < pt", got, ptNs)
			}
			issued = append(issued, got)
		}
		ceilMs := func(ns int64) int64 { return (ns + 999_999) / 1_000_000 }
		t.Repeat(map[string]func(*rapid.T){
			"tick": func(t *rapid.T) {
				f.ns.Add(rapid.Int64Range(0, 3e6).Draw(t, "step"))
			},
			"jump": func(t *rapid.T) {
				f.ns.Add(rapid.Int64Range(-2e9, 2e9).Draw(t, "jump"))
			},
			"now": func(t *rapid.T) {
				pt := f.now()
				model.send(ceilMs(pt))
				check(t, c.Now(), pt)
			},
			"update": func(t *rapid.T) {
				pt := f.now()
				lm := ceilMs(pt) + rapid.Int64Range(-2*bound, 2*bound).Draw(t, "remote ahead")
				cm := rapid.Uint16().Draw(t, "remote logical")
				remote := hlc.MakeTimestamp(uint64(lm), cm)
				before := c.Last()
				got, err := c.Update(remote)
				if lm-ceilMs(pt) > bound {
					rejected++
					if !errors.Is(err, hlc.ErrClockOffset) || got != 0 || c.Last() != before {
						t.Fatalf("Update(%v) = %v, %v with Last() %v → %v, want 0, ErrClockOffset and no change", remote, got, err, before, c.Last())
					}
					return
				}
				if err != nil {
					t.Fatalf("Update(%v): %v", remote, err)
				}
				if got <= remote {
					t.Fatalf("Update(%v) = %v, want greater", remote, got)
				}
				model.receive(lm, int64(cm), ceilMs(pt))
				check(t, got, pt)
			},
			"": func(t *rapid.T) {
				if got := c.Stats().Rejected; got != rejected {
					t.Fatalf("Stats().Rejected = %d, want %d", got, rejected)
				}
			},
		})
	})
}

// Now never repeats nor goes back, whatever the physical clock does, and
// its physical part is never behind the physical clock.
func TestNowIncreases(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := new(fakeClock)
		f.ns.Store(rapid.Int64().Draw(t, "start"))
		c := hlc.New(hlc.WithPhysicalClock(f.now), hlc.WithFloor(hlc.Timestamp(rapid.Uint64Range(0, 1<<63).Draw(t, "floor"))))
		prev := c.Last()
		n := rapid.IntRange(1, 200).Draw(t, "calls")
		for i := 0; i < n; i++ {
			if rapid.Bool().Draw(t, "move") {
				f.ns.Add(rapid.Int64Range(-1e10, 1e10).Draw(t, "by"))
			}
			pt := f.now()
			got := c.Now()
			if got <= prev {
				t.Fatalf("Now() = %v after %v, want it greater", got, prev)
			}
			// Compare in milliseconds: Physical()*1e6 overflows uint64 for
			// floors near the end of the range.
			if pt > 0 && got.Physical() < (uint64(pt)+999_999)/1_000_000 {
				t.Fatalf("Now() = %v for a physical clock at %d ns: l < pt", got, pt)
			}
			prev = got
		}
	})
}

// A simulated network: N nodes whose physical clocks read one virtual time
// plus a skew of at most ε, exchanging messages in any order. Every event
// gets a Timestamp and a vector clock; the properties are the paper's
// theorems: e happened-before f ⇒ ts(e) < ts(f) (theorem 1), l ≥ pt
// (theorem 2) and l − pt ≤ ε (theorem 3), in whole milliseconds.
func TestSimulatedNetwork(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 5).Draw(t, "nodes")
		eps := rapid.Int64Range(0, 200e6).Draw(t, "ε ns")
		vt := rapid.Int64Range(0, 4e18).Draw(t, "start ns")
		type node struct {
			skew  int64
			clock *hlc.Clock
			vc    []int
		}
		type event struct {
			node int
			ts   hlc.Timestamp
			vc   []int
		}
		type message struct {
			ts hlc.Timestamp
			vc []int
		}
		nodes := make([]*node, n)
		for i := range nodes {
			nd := &node{skew: rapid.Int64Range(0, eps).Draw(t, "skew"), vc: make([]int, n)}
			nd.clock = hlc.New(
				hlc.WithPhysicalClock(func() int64 { return vt + nd.skew }),
				// Remote offsets are at most ε, rounded up: nothing is rejected.
				hlc.WithMaxOffset(time.Duration(eps)+time.Millisecond),
			)
			nodes[i] = nd
		}
		epsMs := (eps + 999_999) / 1_000_000
		var events []event
		var inFlight []message

		stamp := func(t *rapid.T, i int, ts hlc.Timestamp) {
			nd := nodes[i]
			nd.vc[i]++
			pt := vt + nd.skew
			ptMs := (pt + 999_999) / 1_000_000
			if ts.Physical()*1e6 < uint64(pt) {
				t.Fatalf("node %d stamped %v at physical %d ns: l < pt", i, ts, pt)
			}
			if d := int64(ts.Physical()) - ptMs; d > epsMs {
				t.Fatalf("node %d stamped %v at physical %d ns: l − pt = %d ms, want ≤ ε = %d ms", i, ts, pt, d, epsMs)
			}
			e := event{node: i, ts: ts, vc: slices.Clone(nd.vc)}
			// Theorem 1 for the new event against every earlier one.
			for _, old := range events {
				if happenedBefore(old.vc, e.vc) && old.ts >= e.ts {
					t.Fatalf("event %v (vc %v) happened before %v (vc %v) but its timestamp is not less", old.ts, old.vc, e.ts, e.vc)
				}
				if happenedBefore(e.vc, old.vc) {
					t.Fatalf("vector clocks out of order: %v before earlier %v", e.vc, old.vc)
				}
			}
			events = append(events, e)
		}
		t.Repeat(map[string]func(*rapid.T){
			"advance": func(t *rapid.T) {
				vt += rapid.Int64Range(0, 5e6).Draw(t, "step ns")
			},
			"local": func(t *rapid.T) {
				i := rapid.IntRange(0, n-1).Draw(t, "node")
				stamp(t, i, nodes[i].clock.Now())
			},
			"send": func(t *rapid.T) {
				i := rapid.IntRange(0, n-1).Draw(t, "from")
				ts := nodes[i].clock.Now()
				stamp(t, i, ts)
				inFlight = append(inFlight, message{ts, slices.Clone(nodes[i].vc)})
			},
			"receive": func(t *rapid.T) {
				if len(inFlight) == 0 {
					t.Skip("nothing in flight")
				}
				k := rapid.IntRange(0, len(inFlight)-1).Draw(t, "message")
				m := inFlight[k]
				if !rapid.Bool().Draw(t, "duplicate") {
					inFlight = slices.Delete(inFlight, k, k+1)
				}
				j := rapid.IntRange(0, n-1).Draw(t, "to")
				ts, err := nodes[j].clock.Update(m.ts)
				if err != nil {
					t.Fatalf("node %d: Update(%v): %v", j, m.ts, err)
				}
				for x := range m.vc {
					nodes[j].vc[x] = max(nodes[j].vc[x], m.vc[x])
				}
				stamp(t, j, ts)
			},
		})
		for i, nd := range nodes {
			if s := nd.clock.Stats(); s.Rejected != 0 || s.LogicalOverflows != 0 || s.MaxRemoteOffset > time.Duration(epsMs)*time.Millisecond {
				t.Fatalf("node %d: Stats() = %+v, want nothing rejected, no overflow, max offset ≤ %d ms", i, s, epsMs)
			}
		}
	})
}

// happenedBefore reports whether the event with vector clock a happened
// before the one with b.
func happenedBefore(a, b []int) bool {
	less := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			less = true
		}
	}
	return less
}

// 8 goroutines calling Now concurrently never get the same Timestamp.
func TestNowConcurrentUnique(t *testing.T) {
	const goroutines, calls = 8, 100_000
	var c hlc.Clock
	got := make([][]hlc.Timestamp, goroutines)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]hlc.Timestamp, calls)
			for i := range out {
				out[i] = c.Now()
			}
			got[g] = out
		}()
	}
	wg.Wait()
	var all []hlc.Timestamp
	for g, out := range got {
		for i := 1; i < len(out); i++ {
			if out[i] <= out[i-1] {
				t.Fatalf("goroutine %d: Now() = %v after %v, want it greater", g, out[i], out[i-1])
			}
		}
		all = append(all, out...)
	}
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("Now() returned %v twice", all[i])
		}
	}
	if got, want := len(all), goroutines*calls; got != want {
		t.Fatalf("got %d timestamps, want %d", got, want)
	}
}

// Update and Now racing from several goroutines keep every result unique.
func TestUpdateConcurrentUnique(t *testing.T) {
	const goroutines, calls = 4, 20_000
	var remoteClock, c hlc.Clock
	got := make([][]hlc.Timestamp, goroutines)
	var wg sync.WaitGroup
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]hlc.Timestamp, 0, calls)
			for i := 0; i < calls; i++ {
				if i%2 == 0 {
					out = append(out, c.Now())
					continue
				}
				ts, err := c.Update(remoteClock.Now())
				if err != nil {
					t.Error(err)
					return
				}
				out = append(out, ts)
			}
			got[g] = out
		}()
	}
	wg.Wait()
	all := slices.Concat(got...)
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("got %v twice", all[i])
		}
	}
}

// A remote timestamp beyond the max offset is rejected with the typed
// error, counted, and changes nothing: a twin clock that never saw it
// issues the same next Timestamp.
func TestUpdateBeyondMaxOffset(t *testing.T) {
	const pt = 1_800_000_000_000
	for _, tc := range []struct {
		name      string
		opts      []hlc.Option
		ahead     int64 // ms
		maxOffset time.Duration
	}{
		{"default", nil, 501, hlc.DefaultMaxOffset},
		{"far", nil, 1 << 40, hlc.DefaultMaxOffset},
		{"configured", []hlc.Option{hlc.WithMaxOffset(50 * time.Millisecond)}, 51, 50 * time.Millisecond},
		{"sub-millisecond bound", []hlc.Option{hlc.WithMaxOffset(time.Microsecond)}, 1, time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, fa := newFake(pt, 0, tc.opts...)
			twin, ft := newFake(pt, 0, tc.opts...)
			// Some history, the same on both.
			for _, c := range []*hlc.Clock{a, twin} {
				c.Now()
				if _, err := c.Update(ts(pt, 9)); err != nil {
					t.Fatal(err)
				}
				c.Now()
			}
			remote := ts(uint64(pt+tc.ahead), 5)
			got, err := a.Update(remote)
			if got != 0 {
				t.Errorf("Update(%v) = %v, want 0", remote, got)
			}
			if !errors.Is(err, hlc.ErrClockOffset) {
				t.Fatalf("Update(%v) error = %v, want one matching ErrClockOffset", remote, err)
			}
			var oe *hlc.OffsetError
			if !errors.As(err, &oe) {
				t.Fatalf("Update(%v) error = %T, want *OffsetError", remote, err)
			}
			want := hlc.OffsetError{Remote: remote, Offset: time.Duration(tc.ahead) * time.Millisecond, MaxOffset: tc.maxOffset}
			if tc.ahead > math.MaxInt64/int64(time.Millisecond) {
				want.Offset = math.MaxInt64
			}
			if *oe != want {
				t.Errorf("got %+v, want %+v", *oe, want)
			}
			if s := a.Stats(); s.Rejected != 1 || s.MaxRemoteOffset != want.Offset {
				t.Errorf("Stats() = %+v, want Rejected 1 and MaxRemoteOffset %v", s, want.Offset)
			}
			if got, want := a.Last(), twin.Last(); got != want {
				t.Errorf("Last() = %v, twin %v, want equal", got, want)
			}
			for _, d := range []int64{0, 1, 7} {
				fa.setMs(pt + d)
				ft.setMs(pt + d)
				if got, want := a.Now(), twin.Now(); got != want {
					t.Fatalf("after the rejection Now() = %v, twin's %v, want equal", got, want)
				}
			}
		})
	}
}

func TestOffsetErrorMessage(t *testing.T) {
	c, _ := newFake(1_800_000_000_000, 0)
	_, err := c.Update(ts(1_800_000_000_750, 3))
	want := "hlc: remote timestamp 2027-01-15T08:00:00.750Z/3 is 750ms ahead of the local clock, beyond the max offset of 500ms"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// Remote timestamps ahead within the bound are accepted and tracked.
func TestMaxRemoteOffset(t *testing.T) {
	const pt = 1_800_000_000_000
	c, _ := newFake(pt, 0)
	for _, ahead := range []int64{-300, 20, 500, 100, 0} {
		if _, err := c.Update(ts(uint64(pt+ahead), 0)); err != nil {
			t.Fatalf("Update %d ms ahead: %v", ahead, err)
		}
	}
	if got, want := c.Stats(), (hlc.Stats{MaxRemoteOffset: 500 * time.Millisecond}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// The rejected one counts too.
	if _, err := c.Update(ts(pt+900, 0)); err == nil {
		t.Fatal("Update 900 ms ahead: got nil, want an error")
	}
	if got, want := c.Stats(), (hlc.Stats{Rejected: 1, MaxRemoteOffset: 900 * time.Millisecond}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestWithMaxOffset(t *testing.T) {
	const pt = 1_800_000_000_000
	far := ts(pt+1<<30, 0)
	for _, tc := range []struct {
		name    string
		opts    []hlc.Option
		want    time.Duration
		bounded bool
	}{
		{"default", nil, hlc.DefaultMaxOffset, true},
		{"1s", []hlc.Option{hlc.WithMaxOffset(time.Second)}, time.Second, true},
		{"zero disables", []hlc.Option{hlc.WithMaxOffset(0)}, 0, false},
		{"negative disables", []hlc.Option{hlc.WithMaxOffset(-time.Second)}, 0, false},
		{"last wins", []hlc.Option{hlc.WithMaxOffset(0), hlc.WithMaxOffset(time.Second)}, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newFake(pt, 0, tc.opts...)
			if got := c.MaxOffset(); got != tc.want {
				t.Errorf("MaxOffset() = %v, want %v", got, tc.want)
			}
			ok := ts(uint64(pt)+uint64(tc.want/time.Millisecond), 0)
			if _, err := c.Update(ok); err != nil {
				t.Errorf("Update(%v) exactly at the bound: %v", ok, err)
			}
			_, err := c.Update(far)
			if tc.bounded != (err != nil) {
				t.Errorf("Update(%v) error = %v, want an error: %v", far, err, tc.bounded)
			}
		})
	}
}

// The zero Clock and New() behave the same: system clock, 500 ms bound.
func TestZeroClock(t *testing.T) {
	var zero hlc.Clock
	for name, c := range map[string]*hlc.Clock{"zero": &zero, "New()": hlc.New()} {
		before := hlc.FromTime(time.Now())
		got := c.Now()
		after := hlc.FromTime(time.Now())
		if got < before || got.Physical() > after.Physical() {
			t.Errorf("%s: Now() = %v, want between %v and %v", name, got, before, after)
		}
		if got := c.MaxOffset(); got != hlc.DefaultMaxOffset {
			t.Errorf("%s: MaxOffset() = %v, want %v", name, got, hlc.DefaultMaxOffset)
		}
		now := hlc.FromTime(time.Now())
		if _, err := c.Update(now + 400<<16); err != nil {
			t.Errorf("%s: Update 400 ms ahead: %v", name, err)
		}
		if _, err := c.Update(now + 2000<<16); !errors.Is(err, hlc.ErrClockOffset) {
			t.Errorf("%s: Update 2 s ahead: got %v, want ErrClockOffset", name, err)
		}
		if got := c.Stats().Rejected; got != 1 {
			t.Errorf("%s: Rejected = %d, want 1", name, got)
		}
	}
}

// A frozen physical clock: 70,000 calls carry into the physical part and
// keep increasing.
func TestLogicalOverflow(t *testing.T) {
	const pt = 1_800_000_000_000
	c, _ := newFake(pt, 0)
	prev := c.Now()
	if prev != ts(pt, 0) {
		t.Fatalf("first Now() = %v, want %v", prev, ts(pt, 0))
	}
	for i := 1; i < 70_000; i++ {
		got := c.Now()
		if got <= prev {
			t.Fatalf("call %d: Now() = %v after %v, want it greater", i, got, prev)
		}
		prev = got
	}
	if want := ts(pt+1, 70_000-65_536-1); prev != want {
		t.Errorf("last Now() = %v, want %v", prev, want)
	}
	if got := c.Stats().LogicalOverflows; got != 1 {
		t.Errorf("LogicalOverflows = %d, want 1", got)
	}
}

// After a restart with the floor and a physical clock that went back,
// Now is still greater than everything issued before.
func TestRestartFloor(t *testing.T) {
	const pt = 1_800_000_000_000
	old, _ := newFake(pt, 0)
	for i := 0; i < 1000; i++ {
		old.Now()
	}
	if _, err := old.Update(ts(pt+400, 65535)); err != nil {
		t.Fatal(err)
	}
	floor := old.Last()

	restarted, f := newFake(pt-10_000, floor) // the clock went back 10 s
	if got := restarted.Last(); got != floor {
		t.Errorf("Last() before any Now = %v, want the floor %v", got, floor)
	}
	prev := floor
	for i := 0; i < 100; i++ {
		got := restarted.Now()
		if got <= prev {
			t.Fatalf("Now() = %v after %v (floor %v), want it greater", got, prev, floor)
		}
		prev = got
	}
	// Once the physical clock passes the floor, it takes over again.
	f.setMs(pt + 1000)
	if got, want := restarted.Now(), ts(pt+1000, 0); got != want {
		t.Errorf("Now() = %v, want %v", got, want)
	}
	// A lower floor does not lower a higher one.
	c, _ := newFake(0, floor, hlc.WithFloor(1))
	if got := c.Last(); got != floor {
		t.Errorf("Last() = %v, want %v", got, floor)
	}
}

func TestPhysicalRounding(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want hlc.Timestamp
	}{
		{-5e9, ts(0, 1)},
		{0, ts(0, 1)},
		{1, ts(1, 0)},
		{999_999, ts(1, 0)},
		{1_000_000, ts(1, 0)},
		{1_000_001, ts(2, 0)},
		{math.MaxInt64, ts(9_223_372_036_855, 0)},
	} {
		c := hlc.New(hlc.WithPhysicalClock(func() int64 { return tc.ns }))
		if got := c.Now(); got != tc.want {
			t.Errorf("physical clock at %d ns: Now() = %v, want %v", tc.ns, got, tc.want)
		}
	}
	c := hlc.New(hlc.WithPhysicalClock(nil))
	if got, min := c.Now(), hlc.FromTime(time.Now().Add(-time.Second)); got < min {
		t.Errorf("WithPhysicalClock(nil): Now() = %v, want the system clock", got)
	}
}

// The end of the range: no remote timestamp can bring a Clock near it, so
// that no message can make Now panic (a remote of MaxTimestamp-1 with the
// offset check disabled used to leave the Clock exhausted); only a floor
// can, and then Now panics and Update fails.
func TestExhausted(t *testing.T) {
	c, _ := newFake(1000, 0, hlc.WithMaxOffset(0))
	for _, remote := range []hlc.Timestamp{hlc.MaxTimestamp, hlc.MaxTimestamp - 1, ts(1<<47, 0)} {
		if _, err := c.Update(remote); !errors.Is(err, hlc.ErrExhausted) {
			t.Errorf("Update(%#x) error = %v, want ErrExhausted", uint64(remote), err)
		}
	}
	if got := c.Last(); got != 0 {
		t.Errorf("Last() = %v after rejected updates, want 0", got)
	}
	if got, err := c.Update(ts(1<<47-1, 65535)); err != nil || got != ts(1<<47, 0) {
		t.Errorf("Update of the last remote accepted = %v, %v, want %v, nil", got, err, ts(1<<47, 0))
	}
	if got := c.Now(); got != ts(1<<47, 1) {
		t.Errorf("Now() = %v, want %v", got, ts(1<<47, 1))
	}
	if got := c.Stats().Rejected; got != 3 {
		t.Errorf("Rejected = %d, want 3", got)
	}

	e, _ := newFake(1000, 0, hlc.WithFloor(hlc.MaxTimestamp))
	if _, err := e.Update(5); !errors.Is(err, hlc.ErrExhausted) {
		t.Errorf("Update on an exhausted clock: got %v, want ErrExhausted", err)
	}
	func() {
		defer func() {
			if r := recover(); r != hlc.ErrExhausted {
				t.Errorf("Now on an exhausted clock panicked with %v, want ErrExhausted", r)
			}
		}()
		e.Now()
	}()
	if got := e.Last(); got != hlc.MaxTimestamp {
		t.Errorf("Last() = %v, want MaxTimestamp", got)
	}
}

// TestUpdateBoundsTheReceiveEvent: a remote at exactly the max offset with
// logical part 65535 used to carry the receiving clock 1 ms past the bound,
// so that the receiver's next message broke the bound at a third clock
// with the same physical time. The bound now holds for the receive event:
// no remote can move a clock beyond it.
func TestUpdateBoundsTheReceiveEvent(t *testing.T) {
	const pt = 1_800_000_000_000
	bound := uint64(hlc.DefaultMaxOffset / time.Millisecond)
	a, _ := newFake(pt, 0)
	if _, err := a.Update(ts(pt+bound, 65535)); !errors.Is(err, hlc.ErrClockOffset) {
		t.Fatalf("Update at the bound with logical 65535: got %v, want ErrClockOffset", err)
	}
	if got := a.Last(); got != 0 {
		t.Fatalf("Last() = %v after a refused update, want 0", got)
	}
	for _, l := range []uint16{0, 65534} {
		got, err := a.Update(ts(pt+bound, l))
		if err != nil {
			t.Fatalf("Update at the bound with logical %d: %v", l, err)
		}
		if got.Physical() > pt+bound {
			t.Errorf("Update at the bound with logical %d moved the clock to %v, beyond the bound", l, got)
		}
	}
}

func TestStatsNotTouchedByNow(t *testing.T) {
	c, f := newFake(1_800_000_000_000, 0)
	for i := 0; i < 1000; i++ {
		c.Now()
		f.ns.Add(int64(i) * 1000)
	}
	if got := c.Stats(); got != (hlc.Stats{}) {
		t.Errorf("Stats() = %+v, want zero", got)
	}
}

func TestNowAllocs(t *testing.T) {
	var c hlc.Clock
	remote := c.Now()
	if got := testing.AllocsPerRun(1000, func() { c.Now() }); got != 0 {
		t.Errorf("Now allocates %v times, want 0", got)
	}
	if got := testing.AllocsPerRun(1000, func() { _, _ = c.Update(remote) }); got != 0 {
		t.Errorf("Update allocates %v times, want 0", got)
	}
}

func TestZeroOption(t *testing.T) {
	c := hlc.New(hlc.Option{}, hlc.WithFloor(5), hlc.Option{})
	if got := c.Last(); got != 5 {
		t.Errorf("Last() = %v, want %v", got, hlc.Timestamp(5))
	}
	if got := c.MaxOffset(); got != hlc.DefaultMaxOffset {
		t.Errorf("MaxOffset() = %v, want %v", got, hlc.DefaultMaxOffset)
	}
}

// TestNowIncreasesNearTheEnd is the case rapid found: a floor whose
// physical part times 10^6 overflows uint64 made the check itself wrong.
func TestNowIncreasesNearTheEnd(t *testing.T) {
	f := new(fakeClock)
	f.ns.Store(9223372036854775807)
	c := hlc.New(hlc.WithPhysicalClock(f.now), hlc.WithFloor(hlc.Timestamp(0x10c6f7a0b5edffff)))
	got := c.Now()
	if got <= 0x10c6f7a0b5edffff || got.Physical() < (uint64(f.now())+999_999)/1_000_000 {
		t.Fatalf("Now() = %v (%#x), want above the floor and not behind the physical clock", got, uint64(got))
	}
}

// TestPeek: Peek reads the physical clock, or the last Timestamp when that
// is ahead, and issues nothing.
func TestPeek(t *testing.T) {
	pt := int64(5_000_000) // 5 ms
	c := hlc.New(hlc.WithPhysicalClock(func() int64 { return pt }))
	if got := c.Peek(); got != hlc.MakeTimestamp(5, 0) || c.Last() != 0 {
		t.Errorf("Peek %v, Last %v; want 5 ms and nothing issued", got, c.Last())
	}
	c.Now()
	c.Now()
	if got, last := c.Peek(), c.Last(); got != last || last != hlc.MakeTimestamp(5, 1) {
		t.Errorf("Peek %v, Last %v; want both 5 ms /1", got, last)
	}
	pt = 9_000_001
	if got := c.Peek(); got != hlc.MakeTimestamp(10, 0) || c.Now() < got {
		t.Errorf("Peek %v: want 10 ms, and Now not before it", got)
	}
}
