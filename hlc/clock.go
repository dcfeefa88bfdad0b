package hlc

import (
	"errors"
	"math"
	"sync/atomic"
	"time"
)

// DefaultMaxOffset is the max offset of a Clock made without
// [WithMaxOffset], and of the zero Clock.
const DefaultMaxOffset = 500 * time.Millisecond

// A Clock is a hybrid logical clock: it issues strictly increasing
// [Timestamp]s that stay within a bounded distance of its physical clock and
// that respect causality across the nodes that exchange them through
// [Clock.Update].
//
// The zero Clock is ready to use and behaves exactly like New() with no
// options: it reads the system clock and rejects remote timestamps more than
// [DefaultMaxOffset] ahead of it. A Clock is safe for concurrent use and
// lock-free: its whole state is one atomic word holding the last Timestamp
// issued. A Clock must not be copied after first use (go vet reports it).
type Clock struct {
	// last is the last Timestamp issued, or the floor before the first.
	// Now and Update only ever move it up, with a compare-and-swap.
	last atomic.Uint64

	// Configuration, set by New before the Clock is shared. The zero
	// values mean the defaults, so that the zero Clock is New().
	phys      func() int64  // Unix nanoseconds; nil means the system clock
	maxOffset time.Duration // 0 means DefaultMaxOffset, < 0 no check

	// Counters, written only on the rare paths so that Now stays one CAS.
	rejected  atomic.Uint64
	overflows atomic.Uint64
	maxSeen   atomic.Int64 // largest remote offset seen, in ms

	// Jump detection, for the system clock: at most once per ~1 ms the
	// wall clock is compared with the monotonic one (see checkJump).
	checked atomic.Int64 // ns>>20 of the last check
	// base is the wall clock minus the monotonic clock at the last
	// check, in ns, once based is set.
	base     atomic.Int64
	based    atomic.Bool
	forward  atomic.Uint64
	backward atomic.Uint64
}

// monoNs reads the monotonic clock, in nanoseconds since the package was
// loaded; tests replace it.
var monoNs = func() int64 { return int64(time.Since(monoStart)) }

var monoStart = time.Now()

// checkJump compares the wall clock reading ns with the monotonic clock,
// if it has not done so in this ~1 ms: a change of their difference by
// more than the max offset is a jump of the wall clock (a step of NTP, an
// operator's change, a suspended machine) and is counted. It costs one
// atomic load when it has checked, and a few atomic operations, once per
// ~1 ms, when not. Of goroutines that check at once, the one whose
// compare-and-swap moves the base counts the jump.
func (c *Clock) checkJump(ns int64) {
	slot := ns >> 20
	if c.checked.Load() == slot {
		return
	}
	c.checked.Store(slot)
	off := ns - monoNs()
	if !c.based.Load() {
		c.base.Store(off)
		c.based.Store(true)
		return
	}
	base := c.base.Load()
	bound := int64(c.MaxOffset())
	if bound == 0 {
		bound = int64(DefaultMaxOffset)
	}
	d := off - base
	if d >= -bound && d <= bound || !c.base.CompareAndSwap(base, off) {
		return
	}
	if d > 0 {
		c.forward.Add(1)
	} else {
		c.backward.Add(1)
	}
}

// An Option configures a [Clock] made by [New]. Options apply in order, so
// of two options of the same kind the last wins (but see [WithFloor]). It is opaque so that a
// Clock's configuration cannot change once the Clock is shared.
type Option struct{ apply func(*Clock) }

// WithMaxOffset sets the largest distance, d, by which a remote timestamp
// passed to [Clock.Update] may be ahead of the local physical clock;
// beyond it Update rejects the timestamp with an [*OffsetError]. The bound
// keeps a node with a bad clock (or a corrupt message) from dragging every
// clock it talks to into the future, from which the HLC cannot come back.
// It should be above the worst clock skew expected between nodes: too low
// rejects honest messages, too high lets a wrong clock do more harm.
//
// The offset is measured in whole milliseconds, the unit of the physical
// part, so d is effectively rounded down to the millisecond.
//
// d <= 0 disables the check: every remote timestamp is accepted, except
// those in the reserved upper half of the range (see [ErrExhausted]). That trusts
// every peer's clock; use it only when something else bounds skew, as in a
// simulation. It follows net/http's reading of a zero timeout as "none"
// rather than "reject everything ahead", which no deployment could use.
// Without this option the bound is [DefaultMaxOffset].
func WithMaxOffset(d time.Duration) Option {
	if d <= 0 {
		d = -1 // 0 in the Clock means the default
	}
	return Option{func(c *Clock) { c.maxOffset = d }}
}

// WithPhysicalClock makes the Clock read its physical time from now, which
// returns nanoseconds since the Unix epoch, instead of the system clock.
// It is meant for tests and simulations (a virtual time, an injected skew);
// now must be safe for concurrent use if the Clock is used concurrently,
// and should not go backwards (the Clock stays monotonic if it does, but
// its timestamps then run ahead of the physical time). A nil now means the
// system clock.
func WithPhysicalClock(now func() int64) Option {
	return Option{func(c *Clock) { c.phys = now }}
}

// WithFloor makes every Timestamp the Clock issues greater than floor; of
// several floors the highest counts.
// Persist [Clock.Last] (or any Timestamp issued since) and pass it here
// after a restart, so that a physical clock that went back while the
// process was down cannot make the new Clock issue a Timestamp twice.
func WithFloor(floor Timestamp) Option {
	return Option{func(c *Clock) {
		if uint64(floor) > c.last.Load() {
			c.last.Store(uint64(floor))
		}
	}}
}

// New returns a Clock configured by opts. New() with no options is
// equivalent to a zero Clock.
func New(opts ...Option) *Clock {
	c := new(Clock)
	for _, o := range opts {
		if o.apply != nil { // the zero Option does nothing
			o.apply(c)
		}
	}
	return c
}

// readNs returns the physical clock reading in Unix nanoseconds.
func (c *Clock) readNs() int64 {
	if c.phys != nil {
		return c.phys()
	}
	ns := wallNs()
	c.checkJump(ns)
	return ns
}

// ceilMs rounds a physical clock reading up to the millisecond, so that
// the physical part of a Timestamp is never behind the physical clock
// (l ≥ pt). Readings before 1970 count as 0. Unsigned division by a
// constant compiles to a multiply and a shift. int64 nanoseconds end in
// 2262, far below MaxPhysical, so the result always fits in 48 bits.
func ceilMs(ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	return (uint64(ns) + 999_999) / 1_000_000
}

// Now returns a new Timestamp for a local or send event, by the send rule
// of the HLC algorithm (Kulkarni et al. 2014, fig. 5), which on the integer
// layout reads
//
//	new = max(last+1, pt<<16)
//
// where last is the previous Timestamp and pt the physical clock in
// milliseconds, rounded up. Fig. 5 says l := max(l', pt), and c := c'+1
// when l = l', else c := 0:
//
//   - pt > l': then pt<<16 ≥ (l'+1)<<16 ≥ last+1, so new = pt<<16,
//     that is l = pt and c = 0.
//   - pt ≤ l': then pt<<16 ≤ l'<<16 ≤ last < last+1, so new = last+1,
//     that is l = l' and c = c'+1.
//
// Where fig. 5 lets c grow without bound, the 16-bit logical part carries
// into the physical part instead (counted in [Stats].LogicalOverflows): the
// result stays unique and increasing and runs ahead of pt by 1 ms per 65536
// timestamps issued within one millisecond.
//
// Each result is greater than every Timestamp the Clock issued before, even
// across goroutines, and its physical part is not behind the physical
// clock. Now costs one physical clock reading and one compare-and-swap
// (retried under contention); it does not allocate.
//
// Now panics with [ErrExhausted] if the Clock has issued [MaxTimestamp],
// which only a floor at the very end of the range can cause: Update
// refuses remote timestamps in the upper half of the range, and the
// physical clock cannot reach it before the year 10889.
func (c *Clock) Now() Timestamp {
	var ns int64
	if c.phys == nil {
		ns = wallNs() // a direct call unless WithPhysicalClock
		c.checkJump(ns)
	} else {
		ns = c.phys()
	}
	p := ceilMs(ns) << logicalBits
	for {
		last := c.last.Load()
		next := last + 1
		carried := false
		if next&logicalMask == 0 { // rare: a carry, or the end of the range
			if next == 0 {
				panic(ErrExhausted)
			}
			carried = next > p // if next == p, pt wins and nothing carried
		}
		if next < p {
			next = p
		}
		if c.last.CompareAndSwap(last, next) {
			if carried {
				c.overflows.Add(1)
			}
			return Timestamp(next)
		}
	}
}

// Update merges a Timestamp received from another node into the Clock and
// returns a new Timestamp for the receive event, by the receive rule of the
// HLC algorithm (Kulkarni et al. 2014, fig. 5), which on the integer layout
// reads
//
//	new = max(last+1, remote+1, pt<<16)
//
// Fig. 5 says l := max(l', l_m, pt), then c := max(c', c_m)+1 if
// l = l' = l_m, c'+1 if only l = l', c_m+1 if only l = l_m, else 0. Since
// x+1 ≤ (l_x+1)<<16 for any timestamp x with physical part l_x:
//
//   - l = l' = l_m: pt<<16 ≤ l<<16 ≤ min(last, remote), so new is
//     max(last, remote)+1, that is l and max(c', c_m)+1.
//   - l = l' > l_m: remote+1 ≤ l'<<16 ≤ last and pt<<16 ≤ last, so new is
//     last+1, that is l' and c'+1.
//   - l = l_m > l': symmetrically, new is remote+1, that is l_m and c_m+1.
//   - pt > l', pt > l_m: last+1 and remote+1 are at most pt<<16, so new is
//     pt<<16, that is pt and 0.
//
// As in [Clock.Now], a logical part of 65535 carries into the physical part.
// The result is greater than both remote and every Timestamp the Clock
// issued before; so is every later one.
//
// If the receive event's physical part would be more than the max offset
// (see [WithMaxOffset]) ahead of the physical clock, Update returns an
// [*OffsetError], which matches [ErrClockOffset]. The bound applies to
// remote+1, not to remote: a remote at exactly the bound with logical part
// 65535 would otherwise carry the clock 1 ms past it, and the next
// message this node sends would break the bound at a third node. If
// remote's physical part is in the upper half of the range (at or after
// the year 6429, which no physical clock reaches), Update returns
// [ErrExhausted] even with the offset check disabled: a Clock driven there
// could run out of timestamps, and the reserve keeps 2^63 of them for
// [Clock.Now] whatever a peer sends. Update also returns ErrExhausted if
// the Clock itself has issued [MaxTimestamp]. In every case the Clock is
// left unchanged, [Stats].Rejected counts the update, and the returned
// Timestamp is zero.
//
// Update costs one physical clock reading and one compare-and-swap
// (retried under contention); it does not allocate unless it fails.
func (c *Clock) Update(remote Timestamp) (Timestamp, error) {
	pt := ceilMs(c.readNs())
	if remote.Physical() >= remoteCeiling {
		c.rejected.Add(1)
		return 0, ErrExhausted
	}
	// The receive event is remote+1 or later: bound that, so that a remote
	// at the bound with logical part 65535 cannot carry the clock past it.
	// remote+1 cannot wrap below remoteCeiling.
	if ahead := int64((remote + 1).Physical()) - int64(pt); ahead > 0 {
		c.noteOffset(ahead)
		if bound := c.boundMs(); bound >= 0 && ahead > bound {
			c.rejected.Add(1)
			return 0, &OffsetError{Remote: remote, Offset: msDuration(ahead), MaxOffset: c.MaxOffset()}
		}
	}
	p := pt << logicalBits
	for {
		last := c.last.Load()
		m := max(last, uint64(remote))
		if m == math.MaxUint64 {
			c.rejected.Add(1)
			return 0, ErrExhausted
		}
		next := m + 1
		carried := next&logicalMask == 0 && next > p
		if next < p {
			next = p
		}
		if c.last.CompareAndSwap(last, next) {
			if carried {
				c.overflows.Add(1)
			}
			return Timestamp(next), nil
		}
	}
}

// Raise raises the Clock so that every later Timestamp is greater than
// floor, as [WithFloor] does for a new Clock: for a floor learned after
// the Clock was made, such as one a restarted replica loads from its
// store. It does not check the max offset: a floor is this node's own
// past, not a peer's claim. It does nothing if the Clock is already past
// floor.
func (c *Clock) Raise(floor Timestamp) {
	for {
		last := c.last.Load()
		if uint64(floor) <= last || c.last.CompareAndSwap(last, uint64(floor)) {
			return
		}
	}
}

// Last returns the last Timestamp the Clock issued (or its floor, if it has
// issued none) without issuing a new one. Every later Timestamp will be
// greater, so Last is the value to persist for [WithFloor]. It costs one
// atomic load.
func (c *Clock) Last() Timestamp { return Timestamp(c.last.Load()) }

// Peek returns the later of Last and the physical clock's reading (at
// logical 0) without issuing a Timestamp: it reads the time as the Clock
// sees it, as a replica does to number a new incarnation, and every
// Timestamp Now issues after it is greater or equal.
func (c *Clock) Peek() Timestamp {
	return Timestamp(max(c.last.Load(), ceilMs(c.readNs())<<logicalBits))
}

// MaxOffset returns the bound on remote timestamps set by [WithMaxOffset],
// or [DefaultMaxOffset]; 0 means the check is disabled.
func (c *Clock) MaxOffset() time.Duration {
	switch {
	case c.maxOffset == 0:
		return DefaultMaxOffset
	case c.maxOffset < 0:
		return 0
	}
	return c.maxOffset
}

// boundMs returns the max offset in whole ms, or -1 if the check is
// disabled.
func (c *Clock) boundMs() int64 {
	switch {
	case c.maxOffset == 0:
		return int64(DefaultMaxOffset / time.Millisecond)
	case c.maxOffset < 0:
		return -1
	}
	return int64(c.maxOffset / time.Millisecond)
}

// noteOffset raises the largest offset seen to ahead ms.
func (c *Clock) noteOffset(ahead int64) {
	for {
		seen := c.maxSeen.Load()
		if ahead <= seen || c.maxSeen.CompareAndSwap(seen, ahead) {
			return
		}
	}
}

// Stats are counters for operators, read by [Clock.Stats].
type Stats struct {
	// Rejected counts the calls to Update that returned an error and left
	// the Clock unchanged.
	Rejected uint64

	// MaxRemoteOffset is the largest distance seen by which a remote
	// timestamp's physical part was ahead of the local physical clock
	// (rounded up to the millisecond), rejected updates included. A value
	// that creeps towards the max offset warns of clock trouble before
	// updates start failing.
	MaxRemoteOffset time.Duration

	// LogicalOverflows counts the Timestamps whose logical part carried
	// into the physical part: more than 65536 Timestamps in one
	// millisecond, or a remote Timestamp with logical part 65535. Each
	// carry moves the Clock 1 ms ahead of its physical clock.
	LogicalOverflows uint64

	// ForwardJumps and BackwardJumps count the jumps of the system's wall
	// clock, against its monotonic clock, by more than the max offset
	// (DefaultMaxOffset if the check is disabled): an NTP step, an
	// operator setting the time, a machine suspended. A backward jump
	// makes the Clock run ahead of the physical time until the physical
	// time catches up; a forward one makes its timestamps jump, and other
	// nodes refuse them if it passes their max offset. Neither is counted
	// for a physical clock set by WithPhysicalClock.
	ForwardJumps, BackwardJumps uint64
}

// Stats returns the Clock's counters. Each counter is read atomically, but
// the Stats are not one snapshot: an update racing with Stats may show in
// some counters and not in others. Stats costs five atomic loads.
func (c *Clock) Stats() Stats {
	return Stats{
		Rejected:         c.rejected.Load(),
		MaxRemoteOffset:  msDuration(c.maxSeen.Load()),
		LogicalOverflows: c.overflows.Load(),
		ForwardJumps:     c.forward.Load(),
		BackwardJumps:    c.backward.Load(),
	}
}

// msDuration converts ms milliseconds (at most 2^48) to a Duration,
// saturating where a Duration ends, 292 years.
func msDuration(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// ErrClockOffset is matched (errors.Is) by the error [Clock.Update] returns
// for a remote timestamp too far ahead of the physical clock; the concrete
// type is [*OffsetError].
var ErrClockOffset = errors.New("hlc: remote timestamp beyond the max clock offset")

// ErrExhausted is returned by [Clock.Update] for a remote timestamp in the
// upper half of the range, which would leave the Clock too few timestamps
// (see Update), and panicked by [Clock.Now] when no Timestamp is left to
// issue: the Clock would have to go past [MaxTimestamp]. Only a floor
// ([WithFloor]) at the very end of the range can make Now panic; no remote
// timestamp can, whatever the max offset.
var ErrExhausted = errors.New("hlc: no timestamp left after +010889-08-02T05:31:50.655Z/65535, or a remote timestamp in the reserved upper half of the range, from 6429-10-17T02:45:55.328Z/0")

// remoteCeiling is the first physical part Update refuses from a remote:
// the upper half of the range, the year 6429 onwards.
const remoteCeiling = (MaxPhysical + 1) / 2

// An OffsetError reports a remote timestamp rejected by [Clock.Update]
// because its physical part was further ahead of the local physical clock
// than the max offset. It matches [ErrClockOffset].
type OffsetError struct {
	Remote    Timestamp     // the rejected timestamp
	Offset    time.Duration // how far Remote was ahead, in whole ms
	MaxOffset time.Duration // the bound it broke, as configured
}

// Error returns a message with the remote timestamp, the offset and the
// bound.
func (e *OffsetError) Error() string {
	return "hlc: remote timestamp " + e.Remote.String() + " is " + e.Offset.String() +
		" ahead of the local clock, beyond the max offset of " + e.MaxOffset.String()
}

// Unwrap returns [ErrClockOffset].
func (e *OffsetError) Unwrap() error { return ErrClockOffset }
