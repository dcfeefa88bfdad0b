package hlc_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/converge-go/converge/hlc"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzParse checks that Parse and UnmarshalText never panic, agree, fail
// with a *ParseError matching ErrSyntax, and accept only what String
// produces: a parsed string re-encodes to identical bytes. The committed
// corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"1970-01-01T00:00:00.000Z/0",
		"2026-11-25T17:38:35.123Z/42",
		"2024-02-29T23:59:59.999Z/65535",
		"9999-12-31T23:59:59.999Z/0",
		"+010000-01-01T00:00:00.000Z/0",
		"+010889-08-02T05:31:50.655Z/65535",
		"+010889-08-02T05:31:50.656Z/0",
		"2026-11-25T17:38:35.123Z/042",
		"2026-11-25T17:38:35.123+01:00/1",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := hlc.Parse(s)
		var fromText hlc.Timestamp
		textErr := fromText.UnmarshalText([]byte(s))
		if (err == nil) != (textErr == nil) || fromText != ts {
			t.Fatalf("Parse(%q) = %v, %v but UnmarshalText gives %v, %v", s, ts, err, fromText, textErr)
		}
		if err != nil {
			var pe *hlc.ParseError
			if !errors.Is(err, hlc.ErrSyntax) || !errors.As(err, &pe) || pe.Input != s || !strings.HasPrefix(err.Error(), "hlc: ") {
				t.Fatalf("Parse(%q) error = %#v, want a *ParseError matching ErrSyntax", s, err)
			}
			return
		}
		if got := ts.String(); got != s {
			t.Fatalf("Parse(%q) = %#x, whose String is %q", s, uint64(ts), got)
		}
	})
}

// FuzzUnmarshalBinary checks that UnmarshalBinary and the DecodeMsgpack
// hook never panic, fail only with errors matching ErrMalformed or
// ErrUnsupported, and accept only canonical bytes: whatever UnmarshalBinary
// decodes re-encodes to identical bytes, and whatever DecodeMsgpack decodes
// re-encodes to the bytes it consumed (a prefix of the input; the rest is
// left in the stream). The committed corpus is in
// testdata/fuzz/FuzzUnmarshalBinary.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, ts := range []hlc.Timestamp{0, 1, 0x7f, 0x80, 0xffff, 0x1_0000, 0x1a3185c5000002a, hlc.MaxTimestamp} {
		b, _ := ts.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{0x93, 0x01, 0x01, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5})
	f.Add([]byte{0x93, 0x02, 0x01, 0x00})
	f.Add([]byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts hlc.Timestamp
		err := ts.UnmarshalBinary(data)
		if err != nil {
			checkDecodeError(t, "UnmarshalBinary", data, err)
		} else if canon := marshal(t, ts); !bytes.Equal(canon, data) {
			t.Fatalf("UnmarshalBinary(%x) = %v, which re-encodes as %x", data, ts, canon)
		}

		var viaHook hlc.Timestamp
		hookErr := viaHook.DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader(data)))
		if hookErr != nil {
			checkDecodeError(t, "DecodeMsgpack", data, hookErr)
			if err == nil {
				t.Fatalf("UnmarshalBinary(%x) = %v but DecodeMsgpack fails: %v", data, ts, hookErr)
			}
			return
		}
		if canon := marshal(t, viaHook); !bytes.HasPrefix(data, canon) {
			t.Fatalf("DecodeMsgpack(%x) = %v, which re-encodes as %x, not a prefix of the input", data, viaHook, canon)
		}
		if err == nil && viaHook != ts {
			t.Fatalf("UnmarshalBinary(%x) = %v but DecodeMsgpack gives %v", data, ts, viaHook)
		}
	})
}

func checkDecodeError(t *testing.T, fn string, data []byte, err error) {
	t.Helper()
	if !errors.Is(err, hlc.ErrMalformed) && !errors.Is(err, hlc.ErrUnsupported) {
		t.Fatalf("%s(%x) error = %v, want one matching ErrMalformed or ErrUnsupported", fn, data, err)
	}
	if !strings.HasPrefix(err.Error(), "hlc: ") {
		t.Fatalf("%s(%x) error = %q, want the prefix \"hlc: \"", fn, data, err)
	}
}

func marshal(t *testing.T, ts hlc.Timestamp) []byte {
	t.Helper()
	b, err := ts.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
