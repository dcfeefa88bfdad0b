// Package hlc implements hybrid logical clocks (Kulkarni, Demirbas,
// Madappa, Avva and Leone, "Logical Physical Clocks and Consistent Snapshots
// in Globally Distributed Databases", 2014): timestamps that are close to
// physical time and yet consistent with causality across nodes whose
// physical clocks disagree.
//
// The physical part of a [Timestamp] is for telling time; the logical part,
// and the Timestamp as a whole, is for ordering. If event e happened before
// event f (same node earlier, or e sent the message f received, or a chain
// of those), then e's Timestamp is less than f's, whatever the physical
// clocks say. The converse does not hold: a smaller Timestamp may belong to
// a concurrent event.
//
// # Layout of a Timestamp
//
// A Timestamp is one uint64. The high 48 bits are the physical part l, in
// milliseconds since the Unix epoch (enough until the year 10889); the low
// 16 bits are the logical part c. The integer order is the HLC order, so
// Timestamps compare with < and sort as integers, and [Timestamp.Compare]
// is cmp.Compare.
//
// The physical clock is read in nanoseconds and rounded up to the
// millisecond, so that l ≥ pt holds for the physical time pt itself, not
// only for its truncation.
//
// # The send and receive rules
//
// A [Clock] keeps the last Timestamp it issued. [Clock.Now] is the paper's
// rule for a local or send event and [Clock.Update] its rule for receiving a
// message stamped remote (fig. 5). On the integer layout both reduce to a
// maximum:
//
//	Now:    new = max(last+1, pt<<16)
//	Update: new = max(last+1, remote+1, pt<<16)
//
// The doc comments of Now and Update check these formulas against each case
// of fig. 5. Where the paper's counter c is unbounded, ours is 16 bits: a
// logical part of 65535 plus one carries into the physical part, exactly as
// the integer +1 does. The carry keeps Timestamps unique and increasing; it
// is counted in [Stats].LogicalOverflows because it moves the clock 1 ms
// ahead of physical time.
//
// With physical clocks within ε of each other, l − pt never exceeds ε
// (theorem 3 of the paper), here rounded up to the millisecond, plus 1 ms
// per carry.
//
// # Max offset
//
// A remote Timestamp far in the future would drag the clock, and every
// clock it talks to afterwards, into that future: an HLC never goes back.
// [Clock.Update] therefore rejects a remote Timestamp if the receive event
// would be more than the max offset ([DefaultMaxOffset], 500 ms, or
// [WithMaxOffset]) ahead of the local physical clock, with an
// [*OffsetError] matching [ErrClockOffset], and leaves the clock unchanged:
// no remote moves a clock beyond the bound, not even by the carry of a
// logical part of 65535. Whatever the max offset, even with the check
// disabled, Update refuses remote Timestamps in the upper half of the range
// (the year 6429 onwards) with [ErrExhausted], so that no message can leave
// a clock without timestamps to issue. [Clock.Stats] reports rejected
// updates and the largest offset seen, for operators.
//
// # Restart floor
//
// A Clock lives in memory. If the physical clock goes back while a process
// is down, a new Clock could issue a Timestamp the old one already issued.
// Persist [Clock.Last] from time to time (or a Timestamp you stored anyway)
// and start the new Clock with [WithFloor]: every Timestamp it issues is
// greater than the floor. [Clock.Raise] raises a Clock already in use to a
// floor learnt later, as a replica restored from a store does (package
// merge's Open persists and restores the floor itself).
//
// # Clock jumps
//
// A Clock that reads the system clock compares, about once per
// millisecond, the wall clock with the process's monotonic clock: a
// change of their difference beyond the max offset is a jump of the wall
// clock (an NTP step, an operator's change, a suspended machine), counted
// in [Stats] as ForwardJumps or BackwardJumps. A backward jump never takes
// a Clock back — Timestamps keep growing on the logical part — but the
// count tells an operator that the clock it depends on misbehaves.
//
// # Concurrency
//
// A Clock is safe for concurrent use and lock-free. Its state is a single
// atomic word holding the last Timestamp issued; Now and Update compute the
// next value and install it with a compare-and-swap, retrying if another
// goroutine got there first. Neither allocates. The counters of [Stats] are
// separate atomics touched only on the rare paths (a remote ahead of the
// physical clock, a rejection, a carry, a jump check once per
// millisecond), so that Now costs one clock reading and one
// compare-and-swap. The zero Clock is ready to use, like New().
//
// # Text format
//
// [Timestamp.String] writes RFC 3339 in UTC with exactly three fractional
// digits, a slash and the decimal logical part:
//
//	2026-11-25T17:38:35.123Z/42
//
// Years after 9999 take a "+" and six digits, as in ECMAScript's
// Date.prototype.toISOString: +010889-08-02T05:31:50.655Z/65535. [Parse] is
// the exact inverse of String for every uint64 and rejects anything else
// with a [*ParseError] matching [ErrSyntax]. Strings do not sort like
// Timestamps (the logical part has no leading zeros, and years after 9999
// start with "+"): sort Timestamps, not strings.
//
// # Wire format
//
// [Timestamp.MarshalBinary], [Timestamp.AppendBinary] and the msgpack hook
// [Timestamp.EncodeMsgpack] write the top-level value
//
//	[1, 1, ts]
//
// a msgpack array of the format version (1), the kind tag of Timestamp (1)
// and the Timestamp as an unsigned integer in its shortest msgpack form:
// 0x93 0x01 0x01 then 1 to 9 bytes. [Timestamp.UnmarshalBinary] and
// [Timestamp.DecodeMsgpack] read it back. They accept only these canonical
// bytes (a longer integer form, which some msgpack writers produce, is
// rejected), so that equal Timestamps have equal encodings; they reject an
// unknown version or kind with [ErrUnsupported] and anything else that is
// not exactly one such value with [ErrMalformed], and never panic. See
// docs/wire-format.md.
package hlc
