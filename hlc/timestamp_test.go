package hlc_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/hlc"
	"pgregory.net/rapid"
)

// anyTimestamp draws any uint64, rapid's edge cases (0, 1, max) included.
func anyTimestamp() *rapid.Generator[hlc.Timestamp] {
	return rapid.Custom(func(t *rapid.T) hlc.Timestamp {
		return hlc.Timestamp(rapid.Uint64().Draw(t, "ts"))
	})
}

func TestLayout(t *testing.T) {
	ts := hlc.MakeTimestamp(0x0123_4567_89ab, 0xcdef)
	if got, want := uint64(ts), uint64(0x0123_4567_89ab_cdef); got != want {
		t.Errorf("uint64(MakeTimestamp(...)) = %#x, want %#x", got, want)
	}
	if got, want := ts.Physical(), uint64(0x0123_4567_89ab); got != want {
		t.Errorf("Physical() = %#x, want %#x", got, want)
	}
	if got, want := ts.Logical(), uint16(0xcdef); got != want {
		t.Errorf("Logical() = %#x, want %#x", got, want)
	}
	if got, want := hlc.MaxTimestamp.Physical(), uint64(hlc.MaxPhysical); got != want {
		t.Errorf("MaxTimestamp.Physical() = %d, want %d", got, want)
	}
	if got, want := hlc.MakeTimestamp(1_700_000_000_123, 0).Time(), time.UnixMilli(1_700_000_000_123).UTC(); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Time() = %v, want %v", got, want)
	}
}

func TestMakeTimestampPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("MakeTimestamp(MaxPhysical+1, 0) did not panic")
		}
	}()
	hlc.MakeTimestamp(hlc.MaxPhysical+1, 0)
}

func TestFromTime(t *testing.T) {
	base := time.Date(2026, 11, 25, 17, 38, 35, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		want hlc.Timestamp
	}{
		{base, hlc.MakeTimestamp(uint64(base.UnixMilli()), 0)},
		{base.Add(1), hlc.MakeTimestamp(uint64(base.UnixMilli())+1, 0)},
		{base.Add(time.Millisecond - 1), hlc.MakeTimestamp(uint64(base.UnixMilli())+1, 0)},
		{base.Add(time.Millisecond), hlc.MakeTimestamp(uint64(base.UnixMilli())+1, 0)},
		{base.In(time.FixedZone("X", 3600)), hlc.MakeTimestamp(uint64(base.UnixMilli()), 0)},
		{time.Unix(0, 0), 0},
		{time.Unix(-1, 999_999_999), 0},
		{time.Unix(-100, 0), 0},
		{time.UnixMilli(hlc.MaxPhysical), hlc.MakeTimestamp(hlc.MaxPhysical, 0)},
		{time.UnixMilli(hlc.MaxPhysical).Add(1), hlc.MakeTimestamp(hlc.MaxPhysical, 0)},
		{time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), hlc.MakeTimestamp(hlc.MaxPhysical, 0)},
	} {
		if got := hlc.FromTime(tc.in); got != tc.want {
			t.Errorf("FromTime(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FromTime(t) is the smallest Timestamp whose Time is not before t.
func TestFromTimeIsLowerBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := time.Unix(0, rapid.Int64Range(0, math.MaxInt64).Draw(t, "ns"))
		ts := hlc.FromTime(in)
		if ts.Time().Before(in) {
			t.Fatalf("FromTime(%v) = %v, before it", in, ts)
		}
		if ts.Logical() != 0 {
			t.Fatalf("FromTime(%v).Logical() = %d, want 0", in, ts.Logical())
		}
		if ts.Physical() > 0 && !(ts - 1).Time().Before(in) {
			t.Fatalf("FromTime(%v) = %v, but %v is not before it either", in, ts, ts-1)
		}
	})
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		ts   hlc.Timestamp
		want string
	}{
		{0, "1970-01-01T00:00:00.000Z/0"},
		{1, "1970-01-01T00:00:00.000Z/1"},
		{hlc.MakeTimestamp(uint64(time.Date(2026, 11, 25, 17, 38, 35, 123e6, time.UTC).UnixMilli()), 42), "2026-11-25T17:38:35.123Z/42"},
		{hlc.MakeTimestamp(uint64(time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC).UnixMilli()), 65535), "2024-02-29T23:59:59.999Z/65535"},
		{hlc.MakeTimestamp(uint64(time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()), 7), "9999-12-31T23:59:59.999Z/7"},
		{hlc.MakeTimestamp(uint64(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()), 0), "+010000-01-01T00:00:00.000Z/0"},
		{hlc.MaxTimestamp, "+010889-08-02T05:31:50.655Z/65535"},
	} {
		if got := tc.ts.String(); got != tc.want {
			t.Errorf("Timestamp(%#x).String() = %q, want %q", uint64(tc.ts), got, tc.want)
		}
		got, err := hlc.Parse(tc.want)
		if err != nil || got != tc.ts {
			t.Errorf("Parse(%q) = %#x, %v, want %#x, nil", tc.want, uint64(got), err, uint64(tc.ts))
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"2026-11-25T17:38:35.123Z",
		"2026-11-25T17:38:35.123Z/",
		"2026-11-25T17:38:35.123Z/042",
		"2026-11-25T17:38:35.123Z/00",
		"2026-11-25T17:38:35.123Z/+1",
		"2026-11-25T17:38:35.123Z/-1",
		"2026-11-25T17:38:35.123Z/65536",
		"2026-11-25T17:38:35.123Z/100000",
		"2026-11-25T17:38:35.123Z/1 ",
		"2026-11-25T17:38:35.123Z/1x",
		" 2026-11-25T17:38:35.123Z/1",
		"2026-11-25T17:38:35Z/1",
		"2026-11-25T17:38:35.12Z/1",
		"2026-11-25T17:38:35.1234Z/1",
		"2026-11-25T17:38:35.123+00:00/1",
		"2026-11-25t17:38:35.123Z/1",
		"2026-11-25T17:38:35.123z/1",
		"2026-11-25 17:38:35.123Z/1",
		"2026-1-25T17:38:35.123Z/1",
		"2026-00-25T17:38:35.123Z/1",
		"2026-13-25T17:38:35.123Z/1",
		"2026-11-00T17:38:35.123Z/1",
		"2026-11-31T17:38:35.123Z/1",
		"2025-02-29T17:38:35.123Z/1",
		"2100-02-29T17:38:35.123Z/1",
		"2026-11-25T24:00:00.000Z/1",
		"2026-11-25T17:60:35.123Z/1",
		"2026-11-25T17:38:60.123Z/1",
		"1969-12-31T23:59:59.999Z/0",
		"0000-01-01T00:00:00.000Z/0",
		"+2026-11-25T17:38:35.123Z/1",
		"+002026-11-25T17:38:35.123Z/1",
		"+009999-12-31T23:59:59.999Z/0",
		"-010000-01-01T00:00:00.000Z/0",
		"10000-01-01T00:00:00.000Z/0",
		"+10000-01-01T00:00:00.000Z/0",
		"+0010000-01-01T00:00:00.000Z/0",
		"+010889-08-02T05:31:50.656Z/0",
		"+010890-01-01T00:00:00.000Z/0",
		"+999999-12-31T23:59:59.999Z/0",
		"２026-11-25T17:38:35.123Z/1",
	} {
		got, err := hlc.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, nil, want an error", in, got)
			continue
		}
		var pe *hlc.ParseError
		if !errors.Is(err, hlc.ErrSyntax) || !errors.As(err, &pe) || pe.Input != in {
			t.Errorf("Parse(%q) error = %#v, want a *ParseError for the input matching ErrSyntax", in, err)
		}
		if !strings.HasPrefix(err.Error(), "hlc: ") {
			t.Errorf("Parse(%q) error = %q, want the prefix \"hlc: \"", in, err)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := hlc.Parse("2026-11-25T17:38:35.123Z/65536")
	if got, want := err.Error(), `hlc: parsing timestamp "2026-11-25T17:38:35.123Z/65536": logical part above 65535`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = hlc.Parse(strings.Repeat("x", 1000))
	if got := err.Error(); len(got) > 120 {
		t.Errorf("error for a 1000-byte input is %d bytes long, want it cut short: %q", len(got), got)
	}
}

// Parse is the exact inverse of String for every uint64.
func TestParseStringRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ts := anyTimestamp().Draw(t, "ts")
		s := ts.String()
		got, err := hlc.Parse(s)
		if err != nil || got != ts {
			t.Fatalf("Parse(%q) = %#x, %v, want %#x, nil", s, uint64(got), err, uint64(ts))
		}
		text, err := ts.MarshalText()
		if err != nil || string(text) != s {
			t.Fatalf("MarshalText() = %q, %v, want %q, nil", text, err, s)
		}
		var back hlc.Timestamp
		if err := back.UnmarshalText(text); err != nil || back != ts {
			t.Fatalf("UnmarshalText(%q) = %v, %#x, want nil, %#x", text, err, uint64(back), uint64(ts))
		}
		if got := ts.Time(); !got.Equal(time.UnixMilli(int64(ts.Physical()))) {
			t.Fatalf("Time() = %v, want %v", got, time.UnixMilli(int64(ts.Physical())))
		}
	})
}

// Up to the year 9999 the string of a Timestamp agrees with time.Time's
// RFC 3339 form.
func TestStringMatchesTimeFormat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		ms := rapid.Int64Range(0, end-1).Draw(t, "ms")
		ts := hlc.MakeTimestamp(uint64(ms), rapid.Uint16().Draw(t, "logical"))
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got, _, _ := strings.Cut(ts.String(), "/"); got != want {
			t.Fatalf("String() before the slash = %q, want %q", got, want)
		}
	})
}

func TestCompare(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := anyTimestamp().Draw(t, "a")
		b := rapid.OneOf(anyTimestamp(), rapid.Just(a), rapid.Just(a+1)).Draw(t, "b")
		want := 0
		if uint64(a) < uint64(b) {
			want = -1
		} else if uint64(a) > uint64(b) {
			want = 1
		}
		if got := a.Compare(b); got != want {
			t.Fatalf("%v.Compare(%v) = %d, want %d", a, b, got, want)
		}
		// Physical first, then logical.
		hlcOrder := 0
		switch {
		case a.Physical() != b.Physical():
			hlcOrder = cmpUint(a.Physical(), b.Physical())
		default:
			hlcOrder = cmpUint(uint64(a.Logical()), uint64(b.Logical()))
		}
		if hlcOrder != want {
			t.Fatalf("HLC order of %v and %v is %d, integer order %d", a, b, hlcOrder, want)
		}
	})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestJSON(t *testing.T) {
	type doc struct {
		At hlc.Timestamp `json:"at"`
	}
	in := doc{At: hlc.MakeTimestamp(uint64(time.Date(2026, 11, 25, 17, 38, 35, 123e6, time.UTC).UnixMilli()), 42)}
	b, err := json.Marshal(in)
	if got, want := string(b), `{"at":"2026-11-25T17:38:35.123Z/42"}`; err != nil || got != want {
		t.Fatalf("json.Marshal = %s, %v, want %s, nil", got, err, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("json.Unmarshal = %v, %v, want %v, nil", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"at":"yesterday"}`), &out); !errors.Is(err, hlc.ErrSyntax) {
		t.Fatalf("json.Unmarshal of a bad timestamp: got %v, want an error matching ErrSyntax", err)
	}
}

func TestParseAllocs(t *testing.T) {
	s := hlc.MaxTimestamp.String()
	if got := testing.AllocsPerRun(100, func() { _, _ = hlc.Parse(s) }); got != 0 {
		t.Errorf("Parse allocates %v times, want 0", got)
	}
	var buf [64]byte
	if got := testing.AllocsPerRun(100, func() { _, _ = hlc.MaxTimestamp.AppendText(buf[:0]) }); got != 0 {
		t.Errorf("AppendText allocates %v times, want 0", got)
	}
}

// Every year of the range, at its edges and around February 29.
func TestParseStringEveryYear(t *testing.T) {
	for y := 1970; y <= 10889; y++ {
		for _, tm := range []time.Time{
			time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(y, 2, 28, 23, 59, 59, 999e6, time.UTC),
			time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC).Add(-time.Millisecond),
			time.Date(y, 12, 31, 23, 59, 59, 999e6, time.UTC),
		} {
			ms := tm.UnixMilli()
			if ms > hlc.MaxPhysical {
				continue
			}
			ts := hlc.MakeTimestamp(uint64(ms), 65535)
			s := ts.String()
			if got, err := hlc.Parse(s); err != nil || got != ts {
				t.Fatalf("Parse(%q) = %v, %v, want %v, nil", s, got, err, ts)
			}
		}
	}
}

func TestErrExhaustedNamesMaxTimestamp(t *testing.T) {
	want := "hlc: no timestamp left after " + hlc.MaxTimestamp.String() +
		", or a remote timestamp in the reserved upper half of the range, from " + hlc.MakeTimestamp((hlc.MaxPhysical+1)/2, 0).String()
	if got := hlc.ErrExhausted.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
