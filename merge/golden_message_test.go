package merge

// TestGoldenMessages pins the four messages of merge.Replica byte for
// byte, as docs/wire-format.md specifies them in "Merge messages (kinds
// 32–35)", with the vectors of testdata/golden/messages.json:
//
//   - the vectors the code builds must be the file (go test -run
//     GoldenMessages ./merge/ -update rewrites it, as go test -run Golden
//     . -update rewrites the root package's);
//   - each vector's fields, read from the file, encode with the real
//     encoder to exactly its bytes, and with an encoder written here from
//     the document alone, which computes the CRC-32C over every byte
//     before the checksum's bin header;
//   - each vector decodes with the real decoder to exactly its fields, and
//     its payload decodes to the value the file names;
//   - each rejected input fails the decoder with the error the file names;
//   - TestGoldenMessageExamples: each annotated example of the
//     document's merge-message section is the vector it names.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/spectest"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

var updateMessages = flag.Bool("update", false, "rewrite testdata/golden/messages.json from the code")

const (
	goldenMessagesPath = "testdata/golden/messages.json"
	wireFormatPath     = "../docs/wire-format.md"
)

// The replicas, incarnations and writers of the vectors. goldenIncUS is the
// incarnation of the document's writer ID example; goldenIncEU has its top
// bit set.
const (
	goldenUS    vclock.ReplicaID = "us-east"
	goldenEU    vclock.ReplicaID = "eu-west"
	goldenIncUS uint64           = 0x0123456789abcdef
	goldenIncEU uint64           = 0xfedcba9876543210
)

// goldenMs is the physical time of the vectors, in milliseconds since the
// Unix epoch: 2026-11-25T17:38:35.123Z, as in the root golden vectors.
const goldenMs = 1795628315123

// msgFields is everything a message carries. from is used by deltas, to
// by deltas and states, flag (push, reply) by states and digests, payload
// by deltas and states, digest by digests.
type msgFields struct {
	kind     wire.Kind
	env      envelope
	from, to uint64
	flag     bool
	payload  []byte
	digest   Digest
}

// A goldenMsg is one valid vector as the code builds it.
type goldenMsg struct {
	name, desc string
	f          msgFields
	payload    *crdt.GCounter // the payload's value, for deltas and states
}

// A rejectedMsg is one rejected input as the code builds it.
type rejectedMsg struct {
	name, desc string
	b          []byte
	sumOK      bool   // the checksum is valid: the defect is elsewhere
	err        string // ErrMalformed or ErrUnsupported
}

// messagesFile is the JSON form of testdata/golden/messages.json.
type messagesFile struct {
	Kinds    map[string]int `json:"kinds"`
	Cases    []messageJSON  `json:"cases"`
	Rejected []rejectedJSON `json:"rejected"`
}

// messageJSON is the JSON form of one valid vector. The integers are
// decimal strings, since they may exceed 2^53; the byte fields are
// lowercase hexadecimal. A field the kind does not carry is absent.
type messageJSON struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	Kind           string `json:"kind"`
	Tag            int    `json:"tag"`
	Sender         string `json:"sender"`
	Recipient      string `json:"recipient"`
	Incarnation    string `json:"incarnation"`
	Time           string `json:"time"`
	TimeString     string `json:"timeString"`
	AckIncarnation string `json:"ackIncarnation"`
	Ack            string `json:"ack"`
	From           string `json:"from,omitempty"`
	To             string `json:"to,omitempty"`
	Push           *bool  `json:"push,omitempty"`
	Reply          *bool  `json:"reply,omitempty"`
	Payload        string `json:"payload,omitempty"`
	PayloadType    string `json:"payloadType,omitempty"`
	PayloadString  string `json:"payloadString,omitempty"`
	Digest         string `json:"digest,omitempty"`
	Checksum       string `json:"checksum"`
	Hex            string `json:"hex"`
}

// rejectedJSON is the JSON form of one rejected input. ChecksumValid says
// whether its last six bytes are c4 04 and the CRC-32C of the bytes before
// them: if so, the decoder must find the defect in the fields.
type rejectedJSON struct {
	Name          string `json:"name"`
	Description   string `json:"description"`
	Hex           string `json:"hex"`
	ChecksumValid bool   `json:"checksumValid"`
	Error         string `json:"error"`
}

var goldenMsgKinds = map[wire.Kind]string{
	kindDelta:  "MergeDelta",
	kindState:  "MergeState",
	kindAck:    "MergeAck",
	kindDigest: "MergeDigest",
}

var goldenMsgErrors = map[string]error{"ErrMalformed": ErrMalformed, "ErrUnsupported": ErrUnsupported}

func goldenTime(dms int64, logical uint16) hlc.Timestamp {
	return hlc.MakeTimestamp(uint64(goldenMs+dms), logical)
}

func goldenEncode(t *testing.T, v *crdt.GCounter) []byte {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenMessages returns the valid vectors: a conversation of us-east and
// eu-west, each a writer of a GCounter.
func goldenMessages(t *testing.T) []goldenMsg {
	wUS, wEU := writerOf(goldenUS, goldenIncUS), writerOf(goldenEU, goldenIncEU)
	if wUS != "us-east~028t5cy4tqkff" || wEU != "eu-west~fxq5tk1v58cgg" {
		t.Fatalf("writer IDs %s and %s", wUS, wEU)
	}
	var delta, state crdt.GCounter
	delta.Inc(wUS, 3)
	state.Inc(wEU, 200)
	state.Inc(wUS, 3)
	deltaB, stateB := goldenEncode(t, &delta), goldenEncode(t, &state)
	digest := Digest(sha256.Sum256(stateB))
	if d, err := DigestOf(&state); err != nil || d != digest {
		t.Fatalf("DigestOf: %v, %v; want %v", d, err, digest)
	}
	fromUS := func(dms int64, logical uint16, ackInc, ack uint64) envelope {
		return envelope{goldenUS, goldenEU, goldenIncUS, goldenTime(dms, logical), ackInc, ack}
	}
	fromEU := func(dms int64, logical uint16, ackInc, ack uint64) envelope {
		return envelope{goldenEU, goldenUS, goldenIncEU, goldenTime(dms, logical), ackInc, ack}
	}
	return []goldenMsg{
		{"greeting", "eu-west greets us-east, whose incarnation it has not heard from: an ack with ackIncarnation and ack 0, which asks for an ack in return",
			msgFields{kind: kindAck, env: fromEU(-73, 0, 0, 0)}, nil},
		{"delta", "us-east sends eu-west its deltas 1 and 2, joined: its writer's count, 3; it holds eu-west's 200 deltas",
			msgFields{kind: kindDelta, env: fromUS(0, 0, goldenIncEU, 200), from: 1, to: 3, payload: deltaB}, &delta},
		{"ack", "eu-west, its clock having taken in the delta's time, acknowledges us-east's deltas 0 to 2",
			msgFields{kind: kindAck, env: fromEU(0, 1, goldenIncUS, 3)}, nil},
		{"state-push", "eu-west answers a digest that differed from its own with its whole state, which holds its deltas 0 to 199, asking (push) for us-east's state in return if that holds more",
			msgFields{kind: kindState, env: fromEU(2, 0, goldenIncUS, 3), to: 200, flag: true, payload: stateB}, &state},
		{"digest", "us-east, having merged the state, sends the SHA-256 of its own, now the state of state-push",
			msgFields{kind: kindDigest, env: fromUS(3, 0, goldenIncEU, 200), digest: digest}, nil},
		{"digest-reply", "eu-west's state is equal: it answers with its own digest, reply true, and nothing more",
			msgFields{kind: kindDigest, env: fromEU(3, 1, goldenIncUS, 3), flag: true, digest: digest}, nil},
	}
}

// encodeReal encodes f with the package's encoder.
func encodeReal(f msgFields) []byte {
	switch f.kind {
	case kindDelta:
		return appendDelta(&f.env, f.from, f.to, f.payload)
	case kindState:
		return appendState(&f.env, f.to, f.flag, f.payload)
	case kindAck:
		return appendAck(&f.env)
	case kindDigest:
		return appendDigest(&f.env, f.flag, f.digest)
	}
	panic("unknown message kind")
}

// The encoder below is written from docs/wire-format.md alone, without
// package wire or the encoder of message.go.

var specCastagnoli = crc32.MakeTable(crc32.Castagnoli)

func specUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= 0xff:
		return append(b, 0xcc, byte(v))
	case v <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func specStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= 0xff:
		b = append(b, 0xd9, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func specBin(b, p []byte) []byte {
	switch n := len(p); {
	case n <= 0xff:
		b = append(b, 0xc4, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

func specBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// encodeSpec encodes f as the document lays the messages out:
// [1, kind, sender, recipient, incarnation, time, ackIncarnation, ack,
// fields of the kind..., checksum].
func encodeSpec(f msgFields) []byte {
	var tail []byte
	switch f.kind {
	case kindDelta:
		tail = specBin(specUint(specUint(tail, f.from), f.to), f.payload)
	case kindState:
		tail = specBin(specBool(specUint(tail, f.to), f.flag), f.payload)
	case kindDigest:
		tail = specBin(specBool(tail, f.flag), f.digest[:])
	}
	// The field counts of the kind table, the checksum included.
	fields := map[wire.Kind]byte{kindDelta: 10, kindState: 10, kindAck: 7, kindDigest: 9}[f.kind]
	b := []byte{0x90 | (2 + fields), 1, byte(f.kind)}
	b = specStr(b, string(f.env.sender))
	b = specStr(b, string(f.env.recipient))
	b = specUint(b, f.env.inc)
	b = specUint(b, uint64(f.env.time))
	b = specUint(b, f.env.ackInc)
	b = specUint(b, f.env.ack)
	b = append(b, tail...)
	sum := crc32.Checksum(b, specCastagnoli) // every byte before the checksum's bin header
	return binary.BigEndian.AppendUint32(append(b, 0xc4, 0x04), sum)
}

// specChecksumValid reports whether b ends with c4 04 and the big-endian
// CRC-32C of the bytes before them.
func specChecksumValid(b []byte) bool {
	n := len(b)
	return n >= 6 && b[n-6] == 0xc4 && b[n-5] == 0x04 &&
		binary.BigEndian.Uint32(b[n-4:]) == crc32.Checksum(b[:n-6], specCastagnoli)
}

// goldenReseal replaces the checksum of b, a message, with a valid one.
func goldenReseal(b []byte) []byte {
	body := bytes.Clone(b[:len(b)-checksumLen])
	return binary.BigEndian.AppendUint32(append(body, 0xc4, 0x04), crc32.Checksum(body, specCastagnoli))
}

// rejectedMessages returns the rejected inputs, each one change away from
// a valid vector of vs.
func rejectedMessages(t *testing.T, vs []goldenMsg) []rejectedMsg {
	byName := map[string]msgFields{}
	for _, v := range vs {
		byName[v.name] = v.f
	}
	ack, delta, digest := byName["ack"], byName["delta"], byName["digest"]
	ackB := encodeReal(ack)
	n := len(ackB)
	with := func(f msgFields, change func(*msgFields)) []byte {
		change(&f)
		return encodeReal(f)
	}

	badSum := bytes.Clone(ackB)
	badSum[n-1] ^= 0x01
	corrupted := with(ack, func(f *msgFields) { f.env.ack = 4 })
	copy(corrupted[n-4:], ackB[n-4:])
	overHeader := bytes.Clone(ackB[:n-4]) // up to and with c4 04
	overHeader = binary.BigEndian.AppendUint32(overHeader, crc32.Checksum(overHeader, specCastagnoli))
	notShortest := goldenReseal(append(append(bytes.Clone(ackB[:n-7]), 0xcc, 0x03), ackB[n-6:]...))
	version2 := bytes.Clone(ackB)
	version2[1] = 0x02
	kind36 := bytes.Clone(ackB)
	kind36[2] = 0x24
	extraField := bytes.Clone(ackB)
	extraField[0]++ // 9a: one field more
	extraField = goldenReseal(append(extraField[:n-6:n-6], append([]byte{0x00}, ackB[n-6:]...)...))
	gcounter := goldenReseal([]byte{0x94, 0x01, 0x10, 0x80, 0xc4, 0x04, 0, 0, 0, 0}) // 4 entries: the checksum is one
	shortDigest := appendEnvelope(nil, kindDigest, &digest.env)
	shortDigest = wire.AppendBool(shortDigest, false)
	shortDigest = seal(wire.AppendBytes(shortDigest, digest.digest[:31]))

	// The checksum field as a bin of 10 bytes — c4 0a, four zero bytes,
	// then c4 04 and the CRC-32C of everything before that c4 04: the
	// last 6 bytes check, but the last field is not a 4-byte bin.
	longSum := append(bytes.Clone(ackB[:n-checksumLen]), 0xc4, 0x0a, 0, 0, 0, 0)
	longSum = binary.BigEndian.AppendUint32(append(longSum, 0xc4, 0x04), crc32.Checksum(longSum, specCastagnoli))

	return []rejectedMsg{
		{"long-checksum-field", "ack whose last field is a bin of 10 bytes ending with c4 04 and the CRC-32C of the bytes before them", longSum, true, "ErrMalformed"},
		{"bad-checksum", "ack with the last byte of its checksum changed", badSum, false, "ErrMalformed"},
		{"corrupted-field", "ack with its ack changed from 3 to 4 and its checksum kept: the checksum covers every field", corrupted, false, "ErrMalformed"},
		{"checksum-over-its-header", "ack whose checksum was computed over the bytes before it and its own bin header c4 04 too", overHeader, false, "ErrMalformed"},
		{"trailing-byte", "ack with a byte 00 after its checksum: the checksum must be the last 6 bytes", append(bytes.Clone(ackB), 0x00), false, "ErrMalformed"},
		{"empty-sender", "greeting with the empty string as its sender", with(byName["greeting"], func(f *msgFields) { f.env.sender = "" }), true, "ErrMalformed"},
		{"empty-recipient", "greeting with the empty string as its recipient", with(byName["greeting"], func(f *msgFields) { f.env.recipient = "" }), true, "ErrMalformed"},
		{"zero-incarnation", "ack with incarnation 0", with(ack, func(f *msgFields) { f.env.inc = 0 }), true, "ErrMalformed"},
		{"ack-without-incarnation", "ack with ackIncarnation 0 and ack 3: an acknowledgement of no incarnation", with(ack, func(f *msgFields) { f.env.ackInc = 0 }), true, "ErrMalformed"},
		{"empty-interval", "delta with from 3 and to 3", with(delta, func(f *msgFields) { f.from = 3 }), true, "ErrMalformed"},
		{"reversed-interval", "delta with from 3 and to 1", with(delta, func(f *msgFields) { f.from, f.to = 3, 1 }), true, "ErrMalformed"},
		{"short-digest", "digest whose digest is a bin of 31 bytes, not 32", shortDigest, true, "ErrMalformed"},
		{"not-shortest", "ack with its ack 3 written cc 03", notShortest, true, "ErrMalformed"},
		{"extra-field", "ack with one field more (9a, and a 00 before the checksum)", extraField, true, "ErrMalformed"},
		{"version-2", "ack with format version 2", goldenReseal(version2), true, "ErrUnsupported"},
		{"unknown-kind", "ack with kind 36, not assigned in this release", goldenReseal(kind36), true, "ErrUnsupported"},
		{"crdt-value", "an empty GCounter (kind 16) sealed like a message (94: its checksum counted as a field): a value, not a message", gcounter, true, "ErrMalformed"},
	}
}

// decimalString writes an integer of the golden file.
func decimalString(v uint64) string { return strconv.FormatUint(v, 10) }

// toJSON returns the JSON form of v.
func (v goldenMsg) toJSON() messageJSON {
	f := v.f
	b := encodeReal(f)
	j := messageJSON{
		Name: v.name, Description: v.desc,
		Kind: goldenMsgKinds[f.kind], Tag: int(f.kind),
		Sender: string(f.env.sender), Recipient: string(f.env.recipient),
		Incarnation: decimalString(f.env.inc), Time: decimalString(uint64(f.env.time)), TimeString: f.env.time.String(),
		AckIncarnation: decimalString(f.env.ackInc), Ack: decimalString(f.env.ack),
		Checksum: hex.EncodeToString(b[len(b)-4:]), Hex: hex.EncodeToString(b),
	}
	flag := f.flag
	switch f.kind {
	case kindDelta:
		j.From, j.To = decimalString(f.from), decimalString(f.to)
	case kindState:
		j.To, j.Push = decimalString(f.to), &flag
	case kindDigest:
		j.Reply, j.Digest = &flag, hex.EncodeToString(f.digest[:])
	}
	if f.kind == kindDelta || f.kind == kindState {
		j.Payload, j.PayloadType, j.PayloadString = hex.EncodeToString(f.payload), "crdt.GCounter", v.payload.String()
	}
	return j
}

// renderMessages returns testdata/golden/messages.json as the code writes it.
func renderMessages(t *testing.T) []byte {
	t.Helper()
	vs := goldenMessages(t)
	f := messagesFile{Kinds: map[string]int{}}
	seen := map[string]bool{}
	for k, name := range goldenMsgKinds {
		f.Kinds[name] = int(k)
	}
	for _, v := range vs {
		if seen[v.name] {
			t.Fatalf("two vectors named %q", v.name)
		}
		seen[v.name] = true
		f.Cases = append(f.Cases, v.toJSON())
	}
	for _, r := range rejectedMessages(t, vs) {
		if seen[r.name] {
			t.Fatalf("two vectors named %q", r.name)
		}
		seen[r.name] = true
		f.Rejected = append(f.Rejected, rejectedJSON{r.name, r.desc, hex.EncodeToString(r.b), r.sumOK, r.err})
	}
	return spectest.JSON(t, f)
}

// reportChanges says which vectors of the file, want, differ from what
// the code writes, got.
func reportChanges(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w messagesFile
	_ = json.Unmarshal(got, &g)
	if err := json.Unmarshal(want, &w); err != nil {
		t.Errorf("%s: %v", goldenMessagesPath, err)
		return
	}
	wantHex := map[string]string{}
	for _, c := range w.Cases {
		wantHex[c.Name] = c.Hex
	}
	for _, r := range w.Rejected {
		wantHex[r.Name] = r.Hex
	}
	var names []string // in the code's order
	gotHex := map[string]string{}
	for _, c := range g.Cases {
		names, gotHex[c.Name] = append(names, c.Name), c.Hex
	}
	for _, r := range g.Rejected {
		names, gotHex[r.Name] = append(names, r.Name), r.Hex
	}
	for _, name := range names {
		switch wh, ok := wantHex[name]; {
		case !ok:
			t.Errorf("%s: %q is built by the code but not in the file", goldenMessagesPath, name)
		case gotHex[name] != wh:
			t.Errorf("%s/%s: encoding changed:\ngot  %s\nwant %s", goldenMessagesPath, name, gotHex[name], wh)
		}
	}
	for name := range wantHex {
		if _, ok := gotHex[name]; !ok {
			t.Errorf("%s: %q is in the file but the code no longer builds it", goldenMessagesPath, name)
		}
	}
}

// goldenParseUint parses a decimal field of the golden file.
func goldenParseUint(t *testing.T, at, what, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s: %s: %v", at, what, err)
	}
	return v
}

// goldenParseHex parses a hexadecimal field of the golden file.
func goldenParseHex(t *testing.T, at, what, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %s: %v", at, what, err)
	}
	return b
}

// fields returns the fields of a vector as the golden file states them,
// checking that it states those of its kind and no other.
func (c messageJSON) fields(t *testing.T) msgFields {
	t.Helper()
	at := goldenMessagesPath + "/" + c.Name
	var f msgFields
	for k, name := range goldenMsgKinds {
		if name == c.Kind {
			f.kind = k
		}
	}
	if f.kind == 0 || int(f.kind) != c.Tag {
		t.Fatalf("%s: kind %q, tag %d", at, c.Kind, c.Tag)
	}
	f.env = envelope{
		sender: vclock.ReplicaID(c.Sender), recipient: vclock.ReplicaID(c.Recipient),
		inc:    goldenParseUint(t, at, "incarnation", c.Incarnation),
		time:   hlc.Timestamp(goldenParseUint(t, at, "time", c.Time)),
		ackInc: goldenParseUint(t, at, "ackIncarnation", c.AckIncarnation),
		ack:    goldenParseUint(t, at, "ack", c.Ack),
	}
	if got := f.env.time.String(); got != c.TimeString {
		t.Errorf("%s: time %v, timeString %q", at, f.env.time, c.TimeString)
	}
	has := func(present bool, what string) bool {
		want := map[wire.Kind]string{kindDelta: " from to payload ", kindState: " to push payload ", kindDigest: " reply digest "}[f.kind]
		if present != strings.Contains(want, " "+what+" ") {
			t.Fatalf("%s: a %s with%s %s", at, c.Kind, map[bool]string{true: "", false: "out"}[present], what)
		}
		return present
	}
	if has(c.From != "", "from") {
		f.from = goldenParseUint(t, at, "from", c.From)
	}
	if has(c.To != "", "to") {
		f.to = goldenParseUint(t, at, "to", c.To)
	}
	if has(c.Push != nil, "push") {
		f.flag = *c.Push
	}
	if has(c.Reply != nil, "reply") {
		f.flag = *c.Reply
	}
	if has(c.Payload != "", "payload") {
		f.payload = goldenParseHex(t, at, "payload", c.Payload)
		if c.PayloadType != "crdt.GCounter" {
			t.Fatalf("%s: payload type %q", at, c.PayloadType)
		}
		var g crdt.GCounter
		if err := g.UnmarshalBinary(f.payload); err != nil {
			t.Fatalf("%s: payload: %v", at, err)
		}
		if out, _ := g.MarshalBinary(); !bytes.Equal(out, f.payload) || g.String() != c.PayloadString {
			t.Errorf("%s: payload decodes to %v (%x), want %s", at, &g, out, c.PayloadString)
		}
	}
	if has(c.Digest != "", "digest") {
		d := goldenParseHex(t, at, "digest", c.Digest)
		if len(d) != len(f.digest) {
			t.Fatalf("%s: a digest of %d bytes", at, len(d))
		}
		copy(f.digest[:], d)
	}
	return f
}

// fieldsOfMessage returns what m says, in the form of msgFields.
func fieldsOfMessage(m message) msgFields {
	return msgFields{
		kind: m.kind,
		env:  envelope{m.sender, vclock.ReplicaID(m.recipient), m.inc, m.time, m.ackInc, m.ack},
		from: m.from, to: m.to, flag: m.flag, payload: m.payload, digest: m.digest,
	}
}

func sameFields(a, b msgFields) bool {
	return a.kind == b.kind && a.env == b.env && a.from == b.from && a.to == b.to &&
		a.flag == b.flag && bytes.Equal(a.payload, b.payload) && a.digest == b.digest
}

func readMessagesFile(t *testing.T) messagesFile {
	t.Helper()
	data, err := os.ReadFile(goldenMessagesPath)
	if err != nil {
		t.Fatalf("%v (run go test -run GoldenMessages ./merge/ -update to create it)", err)
	}
	var f messagesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", goldenMessagesPath, err)
	}
	return f
}

func TestGoldenMessages(t *testing.T) {
	got := renderMessages(t)
	if *updateMessages {
		if err := os.MkdirAll(filepath.Dir(goldenMessagesPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenMessagesPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(goldenMessagesPath); err != nil {
		t.Fatalf("%v (run go test -run GoldenMessages ./merge/ -update to create it)", err)
	} else if !bytes.Equal(got, want) {
		reportChanges(t, got, want)
		t.Errorf("%s differs from what the code writes; if the change is intended, run go test -run GoldenMessages ./merge/ -update", goldenMessagesPath)
	}

	f := readMessagesFile(t)
	kinds := map[wire.Kind]bool{}
	for _, c := range f.Cases {
		at := goldenMessagesPath + "/" + c.Name
		b := goldenParseHex(t, at, "hex", c.Hex)
		want := c.fields(t)
		kinds[want.kind] = true

		// (a) The real encoder, and one written from the document.
		if out := encodeReal(want); !bytes.Equal(out, b) {
			t.Errorf("%s: the encoder writes\n%x, want\n%x", at, out, b)
		}
		if out := encodeSpec(want); !bytes.Equal(out, b) {
			t.Errorf("%s: the document's layout gives\n%x, want\n%x", at, out, b)
		}
		if !specChecksumValid(b) || hex.EncodeToString(b[len(b)-4:]) != c.Checksum {
			t.Errorf("%s: the checksum is not c4 04 and the CRC-32C of the bytes before them, or not %s", at, c.Checksum)
		}

		// (b) The real decoder.
		m, err := decodeMessage(b, wire.Limits{})
		if err != nil {
			t.Errorf("%s: decode: %v", at, err)
			continue
		}
		if got := fieldsOfMessage(m); !sameFields(got, want) {
			t.Errorf("%s: decodes to\n%+v, want\n%+v", at, got, want)
		}
	}
	for k, name := range goldenMsgKinds {
		if !kinds[k] {
			t.Errorf("%s: no vector of %s", goldenMessagesPath, name)
		}
	}

	// (c) The rejected inputs.
	built := map[string]rejectedMsg{}
	for _, r := range rejectedMessages(t, goldenMessages(t)) {
		built[r.name] = r
	}
	for _, r := range f.Rejected {
		at := goldenMessagesPath + "/" + r.Name
		b := goldenParseHex(t, at, "hex", r.Hex)
		want := goldenMsgErrors[r.Error]
		if want == nil {
			t.Errorf("%s: unknown error %q", at, r.Error)
			continue
		}
		if valid := specChecksumValid(b); valid != r.ChecksumValid || valid != built[r.Name].sumOK {
			t.Errorf("%s: checksum valid: %v, the file says %v", at, valid, r.ChecksumValid)
		}
		if _, err := decodeMessage(b, wire.Limits{}); !errors.Is(err, want) {
			t.Errorf("%s: decode: got %v, want an error matching %s", at, err, r.Error)
		}
	}
}

// TestGoldenMessageExamples checks that each annotated example of the
// document's merge messages is the golden vector it names, and that each
// message kind has one.
func TestGoldenMessageExamples(t *testing.T) {
	f := readMessagesFile(t)
	vectors := map[string][]byte{}
	kindOf := map[string]int{}
	for _, c := range f.Cases {
		vectors[c.Name] = goldenParseHex(t, c.Name, "hex", c.Hex)
		kindOf[c.Name] = c.Tag
	}
	for _, r := range f.Rejected {
		vectors[r.Name] = goldenParseHex(t, r.Name, "hex", r.Hex)
	}
	kinds := map[int]bool{}
	examples, _ := spectest.Blocks(t, wireFormatPath, "message", regexp.MustCompile(`^<!-- message: (.+) -->$`))
	for _, ex := range examples {
		want, ok := vectors[ex.Name]
		switch {
		case !ok:
			t.Errorf("%s:%d: no vector %q in %s", wireFormatPath, ex.Line, ex.Name, goldenMessagesPath)
		case !bytes.Equal(ex.Bytes, want):
			t.Errorf("%s:%d (%s): the example is\n%x, the vector\n%x", wireFormatPath, ex.Line, ex.Name, ex.Bytes, want)
		default:
			kinds[kindOf[ex.Name]] = true
		}
	}
	for k, name := range goldenMsgKinds {
		if !kinds[int(k)] {
			t.Errorf("%s: no example of a %s message", wireFormatPath, name)
		}
	}
}
