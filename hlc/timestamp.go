package hlc

import (
	"cmp"
	"errors"
	"math"
	"strconv"
	"time"
)

// A Timestamp is a hybrid logical clock reading: one uint64 whose high 48
// bits hold the physical part, in milliseconds since the Unix epoch, and
// whose low 16 bits hold the logical part. The integer order of Timestamps is
// the HLC order (physical first, then logical), so Timestamps can be
// compared with <, used as map keys and sorted as plain integers.
//
// The zero Timestamp is 1970-01-01T00:00:00.000Z/0; every Timestamp a
// [Clock] issues is greater. A Timestamp is a value: copying it is free and
// it is safe for concurrent use.
type Timestamp uint64

const (
	logicalBits = 16
	logicalMask = 1<<logicalBits - 1
)

// MaxPhysical is the largest physical part a Timestamp can hold, in
// milliseconds since the Unix epoch: 2^48-1 ms, on 2 August 10889.
const MaxPhysical = 1<<48 - 1

// MaxTimestamp is the largest Timestamp: MaxPhysical with logical part
// 65535. No Timestamp follows it; see [ErrExhausted].
const MaxTimestamp Timestamp = math.MaxUint64

// MakeTimestamp returns the Timestamp with physical part ms (milliseconds
// since the Unix epoch) and logical part logical. It exists for decoding
// timestamps from foreign formats, for tests and for range bounds; clocks
// make Timestamps with [Clock.Now] and [Clock.Update].
//
// MakeTimestamp panics if ms > [MaxPhysical]: silently dropping high bits
// would reorder the result.
func MakeTimestamp(ms uint64, logical uint16) Timestamp {
	if ms > MaxPhysical {
		panic("hlc: MakeTimestamp: physical part " + strconv.FormatUint(ms, 10) + " ms exceeds MaxPhysical")
	}
	return Timestamp(ms<<logicalBits | uint64(logical))
}

// FromTime returns the smallest Timestamp whose [Timestamp.Time] is not
// before t: t rounded up to the millisecond, with logical part 0. It is the
// lower bound to use when selecting "everything stamped at or after t".
// Times before the Unix epoch give the zero Timestamp and times after
// [MaxPhysical] give MakeTimestamp(MaxPhysical, 0).
func FromTime(t time.Time) Timestamp {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if sec < 0 {
		return 0
	}
	const maxSec = MaxPhysical / 1000
	if sec > maxSec {
		return MakeTimestamp(MaxPhysical, 0)
	}
	ms := uint64(sec)*1000 + uint64(nsec+999_999)/1_000_000
	return MakeTimestamp(min(ms, MaxPhysical), 0)
}

// Physical returns the physical part of t in milliseconds since the Unix
// epoch; it is at most [MaxPhysical].
func (t Timestamp) Physical() uint64 { return uint64(t) >> logicalBits }

// Logical returns the logical part of t, the counter that orders
// Timestamps with the same physical part.
func (t Timestamp) Logical() uint16 { return uint16(t & logicalMask) }

// Time returns the physical part of t as a UTC time.Time. The logical part
// is dropped: use Time for telling time and the Timestamp itself for
// ordering. The returned Time has no monotonic clock reading.
func (t Timestamp) Time() time.Time {
	return time.UnixMilli(int64(t.Physical())).UTC()
}

// Compare returns -1 if t is before u, 0 if they are equal and +1 if t is
// after u, in HLC order, which is the integer order.
func (t Timestamp) Compare(u Timestamp) int { return cmp.Compare(t, u) }

// IsZero reports whether t is the zero Timestamp, which no [Clock] issues:
// it can mark "no timestamp".
func (t Timestamp) IsZero() bool { return t == 0 }

// String returns t as an RFC 3339 UTC time with exactly three fractional
// digits, a slash and the decimal logical part, like
// "2026-11-25T17:38:35.123Z/42". Years after 9999 (the last 890 years of
// the range) are written with a sign and six digits, as ECMAScript's
// Date.prototype.toISOString writes them: "+010889-08-02T05:31:50.655Z/65535".
// [Parse] is its exact inverse.
func (t Timestamp) String() string {
	var buf [maxTextLen]byte
	return string(t.appendText(buf[:0]))
}

// maxTextLen is the longest String: "+010889-08-02T05:31:50.655Z/65535".
const maxTextLen = len("+010889-08-02T05:31:50.655Z/65535")

// AppendText appends [Timestamp.String] to b and returns the extended
// slice; it never fails. It has the shape of encoding.TextAppender and does
// not allocate when b has room.
func (t Timestamp) AppendText(b []byte) ([]byte, error) {
	return t.appendText(b), nil
}

// MarshalText returns [Timestamp.String] as bytes, so that encoding/json and
// friends write the readable form rather than a 64-bit number (which
// JavaScript cannot hold exactly).
func (t Timestamp) MarshalText() ([]byte, error) {
	return t.appendText(make([]byte, 0, maxTextLen)), nil
}

// UnmarshalText sets *t to [Parse] of text. On error *t is unchanged.
func (t *Timestamp) UnmarshalText(text []byte) error {
	v, err := parse(text)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (t Timestamp) appendText(b []byte) []byte {
	ms := t.Physical()
	// time.Time handles the calendar for every year in range, but its
	// Format writes years after 9999 unsigned and its Parse reads at most
	// four digits, so the fields are written here.
	tm := time.UnixMilli(int64(ms)).UTC()
	year, month, day := tm.Date()
	hour, minute, sec := tm.Clock()
	if year > 9999 {
		b = append(b, '+')
		b = appendDigits(b, year, 6)
	} else {
		b = appendDigits(b, year, 4)
	}
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, int(ms%1000), 3)
	b = append(b, 'Z', '/')
	return strconv.AppendUint(b, uint64(t.Logical()), 10)
}

// appendDigits appends v, which is non-negative and below 10^width, as
// exactly width decimal digits.
func appendDigits(b []byte, v, width int) []byte {
	var d [6]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}

// ErrSyntax is matched (errors.Is) by every error from [Parse] and
// [Timestamp.UnmarshalText]; the concrete type is [*ParseError].
var ErrSyntax = errors.New("hlc: invalid timestamp syntax")

// A ParseError reports text that [Timestamp.String] would not produce. It
// wraps [ErrSyntax].
type ParseError struct {
	Input  string // the text given to Parse
	Reason string // what is wrong with it, for people
}

// Error returns "hlc: parsing timestamp <quoted input>: <reason>", with a
// long input cut short.
func (e *ParseError) Error() string {
	in := e.Input
	const maxQuoted = 48
	if len(in) > maxQuoted {
		in = in[:maxQuoted] + "..."
	}
	return "hlc: parsing timestamp " + strconv.Quote(in) + ": " + e.Reason
}

// Unwrap returns [ErrSyntax].
func (e *ParseError) Unwrap() error { return ErrSyntax }

// Parse returns the Timestamp whose [Timestamp.String] is s. It accepts
// exactly the strings String produces, for every Timestamp: no other time
// zone, precision, spacing, sign or leading zero, a four-digit year up to
// 9999 and a "+" and six digits after it. Any other input returns a
// [*ParseError], which matches [ErrSyntax].
//
// Parse does not allocate unless it fails.
func Parse(s string) (Timestamp, error) {
	return parse(s)
}

// parse is Parse for both strings and byte slices.
func parse[S string | []byte](s S) (Timestamp, error) {
	p := parser[S]{s: s}
	year := 0
	if len(s) > 0 && s[0] == '+' {
		p.i = 1
		year = p.digits(6, "year")
		if p.reason == "" && year <= 9999 {
			p.fail("a year before 10000 must be written with four digits and no sign")
		}
	} else {
		year = p.digits(4, "year")
		if p.reason == "" && year < 1970 {
			p.fail("year before 1970, the start of the range")
		}
	}
	p.sep('-')
	month := p.digits(2, "month")
	p.sep('-')
	day := p.digits(2, "day")
	p.sep('T')
	hour := p.digits(2, "hour")
	p.sep(':')
	minute := p.digits(2, "minute")
	p.sep(':')
	sec := p.digits(2, "second")
	p.sep('.')
	milli := p.digits(3, "millisecond")
	p.sep('Z')
	p.sep('/')
	logical := p.counter()
	switch {
	case p.reason != "":
	case month < 1 || month > 12:
		p.fail("month out of range")
	case day < 1 || day > daysIn(time.Month(month), year):
		p.fail("day out of range")
	case hour > 23:
		p.fail("hour out of range")
	case minute > 59:
		p.fail("minute out of range")
	case sec > 59:
		p.fail("second out of range")
	}
	if p.reason != "" {
		return 0, &ParseError{Input: string(s), Reason: p.reason}
	}
	unix := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix()
	ms := uint64(unix)*1000 + uint64(milli) // unix >= 0: the year is >= 1970
	if ms > MaxPhysical {
		return 0, &ParseError{Input: string(s), Reason: "time after the end of the range, " + MaxTimestamp.String()}
	}
	return Timestamp(ms<<logicalBits | uint64(logical)), nil
}

// A parser walks the fixed layout of a Timestamp string and keeps the first
// problem it meets.
type parser[S string | []byte] struct {
	s      S
	i      int
	reason string
}

func (p *parser[S]) fail(reason string) {
	if p.reason == "" {
		p.reason = reason
	}
}

// digits reads exactly n decimal digits.
func (p *parser[S]) digits(n int, what string) int {
	if p.reason != "" {
		return 0
	}
	v := 0
	for k := 0; k < n; k++ {
		if p.i >= len(p.s) || p.s[p.i] < '0' || p.s[p.i] > '9' {
			p.fail(what + ": want " + strconv.Itoa(n) + " digits at byte " + strconv.Itoa(p.i))
			return 0
		}
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
	}
	return v
}

// sep reads the separator c.
func (p *parser[S]) sep(c byte) {
	if p.reason != "" {
		return
	}
	if p.i >= len(p.s) || p.s[p.i] != c {
		p.fail("want " + strconv.QuoteRune(rune(c)) + " at byte " + strconv.Itoa(p.i))
		return
	}
	p.i++
}

// counter reads the rest of the input as a logical part: 0 to 65535 in
// decimal, without sign or leading zero.
func (p *parser[S]) counter() uint16 {
	if p.reason != "" {
		return 0
	}
	rest := p.s[p.i:]
	switch {
	case len(rest) == 0:
		p.fail("missing logical part after '/'")
		return 0
	case len(rest) > len("65535"):
		p.fail("logical part longer than 5 digits")
		return 0
	case len(rest) > 1 && rest[0] == '0':
		p.fail("logical part with a leading zero")
		return 0
	}
	v := 0
	for k := 0; k < len(rest); k++ {
		c := rest[k]
		if c < '0' || c > '9' {
			p.fail("logical part: want a decimal digit at byte " + strconv.Itoa(p.i+k))
			return 0
		}
		v = v*10 + int(c-'0')
	}
	if v > logicalMask {
		p.fail("logical part above 65535")
		return 0
	}
	return uint16(v)
}

// daysIn returns the number of days of month m in year y (proleptic
// Gregorian calendar, as package time).
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
