package hlc_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/converge-go/converge/hlc"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

func TestMarshalBinaryGolden(t *testing.T) {
	for _, tc := range []struct {
		ts   hlc.Timestamp
		want string // hex
	}{
		{0, "930101" + "00"},
		{0x7f, "930101" + "7f"},
		{0x80, "930101" + "cc80"},
		{0xffff, "930101" + "cdffff"},
		{0x1_0000, "930101" + "ce00010000"},
		{ts(1_800_000_000_000, 42), "930101" + "cf01a3185c5000002a"},
		{hlc.MaxTimestamp, "930101" + "cfffffffffffffffff"},
	} {
		got, err := tc.ts.MarshalBinary()
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("%v.MarshalBinary() = %x, %v, want %s, nil", tc.ts, got, err, tc.want)
		}
		got, err = tc.ts.AppendBinary([]byte("prefix"))
		if err != nil || string(got) != "prefix"+string(mustHex(t, tc.want)) {
			t.Errorf("%v.AppendBinary(prefix) = %x, %v, want prefix then %s", tc.ts, got, err, tc.want)
		}
		var back hlc.Timestamp
		if err := back.UnmarshalBinary(mustHex(t, tc.want)); err != nil || back != tc.ts {
			t.Errorf("UnmarshalBinary(%s) = %v, %v, want nil, %v", tc.want, err, back, tc.ts)
		}
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalBinaryRejects(t *testing.T) {
	for _, tc := range []struct {
		in   string // hex
		want error
	}{
		{"", hlc.ErrMalformed},
		{"93", hlc.ErrMalformed},
		{"9301", hlc.ErrMalformed},
		{"930101", hlc.ErrMalformed},
		{"930101cc", hlc.ErrMalformed},
		{"930101cf00000000000000", hlc.ErrMalformed},
		{"93010100" + "00", hlc.ErrMalformed},          // trailing byte
		{"930101ff", hlc.ErrMalformed},                 // negative fixint
		{"930101d0ff", hlc.ErrMalformed},               // negative int8
		{"930101c0", hlc.ErrMalformed},                 // nil
		{"930101a130", hlc.ErrMalformed},               // string "0"
		{"930101cb3ff0000000000000", hlc.ErrMalformed}, // float 1.0
		{"9401010000", hlc.ErrMalformed},               // two fields
		{"920101", hlc.ErrMalformed},                   // no field
		{"930102" + "00", hlc.ErrMalformed},            // kind Clock
		{"930164" + "00", hlc.ErrUnsupported},          // unknown kind
		{"930201" + "00", hlc.ErrUnsupported},          // version 2
		{"930001" + "00", hlc.ErrMalformed},            // version 0 is never valid
		{"830101", hlc.ErrMalformed},                   // map
		{"00", hlc.ErrMalformed},
		{"c0", hlc.ErrMalformed},
		{"dd7fffffff0101", hlc.ErrMalformed}, // huge claimed length
		// Longer forms than the shortest: not canonical.
		{"930101" + "cc05", hlc.ErrMalformed},
		{"930101" + "cd0080", hlc.ErrMalformed},
		{"930101" + "cf0000000000000005", hlc.ErrMalformed},
		{"930101" + "cf00000000ffffffff", hlc.ErrMalformed},
		{"930101" + "d005", hlc.ErrMalformed},               // int8
		{"930101" + "d30000000000010000", hlc.ErrMalformed}, // int64
		{"dc0003" + "0101" + "05", hlc.ErrMalformed},        // array 16
		{"dd00000003" + "0101" + "05", hlc.ErrMalformed},    // array 32
		{"93cc0101" + "05", hlc.ErrMalformed},               // version as uint8
	} {
		ts := hlc.Timestamp(77)
		err := ts.UnmarshalBinary(mustHex(t, tc.in))
		if !errors.Is(err, tc.want) {
			t.Errorf("UnmarshalBinary(%s) error = %v, want one matching %v", tc.in, err, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "hlc: ") {
			t.Errorf("UnmarshalBinary(%s) error = %q, want the prefix \"hlc: \"", tc.in, err)
		}
		if ts != 77 {
			t.Errorf("UnmarshalBinary(%s) changed the Timestamp to %v on error", tc.in, ts)
		}
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want := anyTimestamp().Draw(t, "ts")
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got hlc.Timestamp
		if err := got.UnmarshalBinary(b); err != nil || got != want {
			t.Fatalf("UnmarshalBinary(%x) = %v, %v, want nil, %v", b, err, got, want)
		}
	})
}

func TestMsgpackRoundTrip(t *testing.T) {
	type doc struct {
		Name string
		At   hlc.Timestamp
		Ats  []hlc.Timestamp
	}
	rapid.Check(t, func(t *rapid.T) {
		want := doc{
			Name: "x",
			At:   anyTimestamp().Draw(t, "at"),
			Ats:  rapid.SliceOfN(anyTimestamp(), 0, 5).Draw(t, "ats"),
		}
		b, err := msgpack.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		bin, _ := want.At.MarshalBinary()
		if !bytes.Contains(b, bin) {
			t.Fatalf("msgpack.Marshal(%+v) = %x, want it to contain MarshalBinary %x", want, b, bin)
		}
		var got doc
		if err := msgpack.Unmarshal(b, &got); err != nil {
			t.Fatalf("msgpack.Unmarshal(%x): %v", b, err)
		}
		if got.At != want.At || !equalTimestamps(got.Ats, want.Ats) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
}

func equalTimestamps(a, b []hlc.Timestamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The hooks write and read exactly the MarshalBinary bytes, and leave what
// follows in the stream.
func TestMsgpackHooks(t *testing.T) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	a, b := ts(1_800_000_000_000, 1), hlc.Timestamp(3)
	if err := a.EncodeMsgpack(enc); err != nil {
		t.Fatal(err)
	}
	if err := b.EncodeMsgpack(enc); err != nil {
		t.Fatal(err)
	}
	wa, _ := a.MarshalBinary()
	wb, _ := b.MarshalBinary()
	if got, want := buf.Bytes(), append(wa, wb...); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	dec := msgpack.NewDecoder(&buf)
	var ga, gb hlc.Timestamp
	if err := ga.DecodeMsgpack(dec); err != nil || ga != a {
		t.Fatalf("first DecodeMsgpack = %v, %v, want nil, %v", err, ga, a)
	}
	if err := gb.DecodeMsgpack(dec); err != nil || gb != b {
		t.Fatalf("second DecodeMsgpack = %v, %v, want nil, %v", err, gb, b)
	}
	if err := gb.DecodeMsgpack(dec); !errors.Is(err, hlc.ErrMalformed) {
		t.Fatalf("DecodeMsgpack at the end: got %v, want ErrMalformed", err)
	}
	// A bare integer is not a Timestamp.
	bad := hlc.Timestamp(9)
	if err := msgpack.Unmarshal([]byte{0x05}, &bad); !errors.Is(err, hlc.ErrMalformed) || bad != 9 {
		t.Fatalf("msgpack.Unmarshal(05) = %v, %v, want ErrMalformed, 9", err, bad)
	}
}

func TestMarshalAllocs(t *testing.T) {
	var buf [16]byte
	ts := hlc.MaxTimestamp
	if got := testing.AllocsPerRun(100, func() { _, _ = ts.AppendBinary(buf[:0]) }); got != 0 {
		t.Errorf("AppendBinary allocates %v times, want 0", got)
	}
	b, _ := ts.MarshalBinary()
	if got := testing.AllocsPerRun(100, func() { _ = ts.UnmarshalBinary(b) }); got != 0 {
		t.Errorf("UnmarshalBinary allocates %v times, want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { _, _ = ts.MarshalBinary() }); got > 1 {
		t.Errorf("MarshalBinary allocates %v times, want at most 1", got)
	}
}
