package merge

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

// The kind tags of the four messages, listed with all others in
// internal/wire/kind.go.
const (
	kindDelta  = wire.KindMergeDelta
	kindState  = wire.KindMergeState
	kindAck    = wire.KindMergeAck
	kindDigest = wire.KindMergeDigest
)

// Field counts after [version, kind], the checksum included.
const (
	deltaFields  = 6 + 3 + 1 // from, to, payload
	stateFields  = 6 + 3 + 1 // to, push, payload
	ackFields    = 6 + 1
	digestFields = 6 + 2 + 1 // reply, digest
)

// A message ends with its checksum: a msgpack bin of 4 bytes holding the
// CRC-32C (Castagnoli) of every byte before it, big-endian.
const (
	checksumLen = 6
	bin8        = 0xc4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func fieldsOf(k wire.Kind) int {
	switch k {
	case kindDelta:
		return deltaFields
	case kindState:
		return stateFields
	case kindAck:
		return ackFields
	case kindDigest:
		return digestFields
	}
	return -1
}

// A message is a decoded message; payload aliases the input.
// addressed checks that m is addressed to self and, when the transport
// names its sender (from not empty), sent by from.
func (m *message) addressed(from, self vclock.ReplicaID) error {
	switch {
	case from != "" && m.sender != from:
		return fmt.Errorf("%w: a message from %s names %s as its sender", ErrMisaddressed, from, m.sender)
	case string(m.recipient) != string(self):
		return fmt.Errorf("%w: %s is not %s", ErrMisaddressed, m.recipient, self)
	}
	return nil
}

type message struct {
	kind      wire.Kind
	sender    vclock.ReplicaID
	recipient []byte
	inc       uint64        // the sender's incarnation
	time      hlc.Timestamp // the sender's clock when it sent
	ackInc    uint64        // the recipient's incarnation the ack is about, 0 if none
	ack       uint64        // the sender has the recipient's deltas [0, ack)
	from, to  uint64        // delta: the payload joins deltas [from, to); state: [0, to)
	flag      bool          // state: push; digest: reply
	payload   []byte        // delta, state: the canonical encoding of a state
	digest    Digest        // digest
}

// envelope is what every message says about its sender and the recipient.
type envelope struct {
	sender, recipient vclock.ReplicaID
	inc               uint64
	time              hlc.Timestamp
	ackInc, ack       uint64
}

func appendEnvelope(b []byte, k wire.Kind, e *envelope) []byte {
	b = wire.AppendHeader(b, k, fieldsOf(k))
	b = wire.AppendString(b, string(e.sender))
	b = wire.AppendString(b, string(e.recipient))
	b = wire.AppendUint(b, e.inc)
	b = wire.AppendUint(b, uint64(e.time))
	b = wire.AppendUint(b, e.ackInc)
	return wire.AppendUint(b, e.ack)
}

// seal appends the checksum of b.
func seal(b []byte) []byte {
	return binary.BigEndian.AppendUint32(append(b, bin8, 4), crc32.Checksum(b, castagnoli))
}

// envelopeCap is an upper bound of an envelope's and a checksum's size.
func envelopeCap(e *envelope) int {
	return 8 + len(e.sender) + len(e.recipient) + 5 + 4*9 + checksumLen
}

func appendDelta(e *envelope, from, to uint64, payload []byte) []byte {
	b := make([]byte, 0, envelopeCap(e)+18+5+len(payload))
	b = appendEnvelope(b, kindDelta, e)
	b = wire.AppendUint(b, from)
	b = wire.AppendUint(b, to)
	return seal(wire.AppendBytes(b, payload))
}

func appendState(e *envelope, to uint64, push bool, payload []byte) []byte {
	b := make([]byte, 0, envelopeCap(e)+10+5+len(payload))
	b = appendEnvelope(b, kindState, e)
	b = wire.AppendUint(b, to)
	b = wire.AppendBool(b, push)
	return seal(wire.AppendBytes(b, payload))
}

func appendAck(e *envelope) []byte {
	return seal(appendEnvelope(make([]byte, 0, envelopeCap(e)), kindAck, e))
}

func appendDigest(e *envelope, reply bool, d Digest) []byte {
	b := make([]byte, 0, envelopeCap(e)+3+len(d))
	b = appendEnvelope(b, kindDigest, e)
	b = wire.AppendBool(b, reply)
	return seal(wire.AppendBytes(b, d[:]))
}

// decodeMessage decodes a message, checking its checksum first and then
// every field; it does not decode the payload.
func decodeMessage(b []byte, lim wire.Limits) (message, error) {
	var m message
	r, err := openFrame(b, lim, fieldsOf, "message", &m)
	if err != nil {
		return m, err
	}
	readBody(&r, &m)
	if err := closeFrame(&r, len(b)); err != nil {
		return message{}, err
	}
	return m, nil
}

// openFrame checks the checksum of b, a message of the merge framing,
// then reads its header — fields gives the number of fields of each kind
// of what ("message", "keyspace message"), -1 for any other — and its
// envelope into m. The body follows in the Reader it returns.
func openFrame(b []byte, lim wire.Limits, fields func(wire.Kind) int, what string, m *message) (wire.Reader, error) {
	if err := checkSum(b); err != nil {
		return wire.Reader{}, err
	}
	r := wire.NewReader(b, lim)
	k, err := r.PeekKind()
	if err != nil {
		return r, err
	}
	nf := fields(k)
	if nf < 0 {
		if k.Known() {
			return r, &wire.Error{Reason: "a " + k.String() + " value, not a " + what, Err: ErrMalformed}
		}
		return r, &wire.Error{Reason: "unknown " + what + " kind " + strconv.Itoa(int(k)), Err: ErrUnsupported}
	}
	r.Header(k, nf)
	m.kind = k
	readEnvelope(&r, m)
	return r, nil
}

// closeFrame reads the checksum field that ends a message of n bytes,
// whose body r has read, and checks that nothing follows.
func closeFrame(r *wire.Reader, n int) error {
	// The last field is the checksum, already checked: a bin of exactly 4
	// bytes, so it starts where the checked bytes do.
	if at := r.Offset(); !r.Failed() && at != n-checksumLen {
		r.FailAt(at, "the last field is not the 4-byte checksum")
	}
	r.Bytes()
	return r.End()
}

// checkSum checks that b ends with its checksum: a bin of 4 bytes
// holding the CRC-32C of the bytes before it.
func checkSum(b []byte) error {
	n := len(b)
	if n < checksumLen || b[n-checksumLen] != bin8 || b[n-checksumLen+1] != 4 {
		return &wire.Error{Offset: max(n-checksumLen, 0), Reason: "no checksum at the end", Err: ErrMalformed}
	}
	if got, want := binary.BigEndian.Uint32(b[n-4:]), crc32.Checksum(b[:n-checksumLen], castagnoli); got != want {
		return &wire.Error{Offset: n - 4, Reason: "checksum mismatch: the message was corrupted", Err: ErrMalformed}
	}
	return nil
}

// readEnvelope reads the fields every message has, after its header:
// sender, recipient, incarnation, time and acknowledgement.
func readEnvelope(r *wire.Reader, m *message) {
	at := r.Offset()
	m.sender = vclock.ReplicaID(r.Str())
	if !r.Failed() && m.sender == "" {
		r.FailAt(at, "empty sender")
	}
	at = r.Offset()
	m.recipient = r.StrBytes()
	if !r.Failed() && len(m.recipient) == 0 {
		r.FailAt(at, "empty recipient")
	}
	at = r.Offset()
	m.inc = r.Uint()
	if !r.Failed() && m.inc == 0 {
		r.FailAt(at, "zero incarnation")
	}
	m.time = hlc.Timestamp(r.Uint())
	m.ackInc = r.Uint()
	at = r.Offset()
	m.ack = r.Uint()
	if !r.Failed() && m.ackInc == 0 && m.ack != 0 {
		r.FailAt(at, "an acknowledgement without the incarnation it is about")
	}
}

// readBody reads the fields of m's kind, between the envelope and the
// checksum.
func readBody(r *wire.Reader, m *message) {
	switch m.kind {
	case kindDelta:
		at := r.Offset()
		m.from, m.to = r.Uint(), r.Uint()
		if !r.Failed() && m.from >= m.to {
			r.FailAt(at, "empty delta interval ["+strconv.FormatUint(m.from, 10)+", "+strconv.FormatUint(m.to, 10)+")")
		}
		m.payload = r.Bytes()
	case kindState:
		m.to = r.Uint()
		m.flag = r.Bool()
		m.payload = r.Bytes()
	case kindDigest:
		m.flag = r.Bool()
		at := r.Offset()
		if d := r.Bytes(); !r.Failed() {
			if len(d) != len(m.digest) {
				r.FailAt(at, "a digest of "+strconv.Itoa(len(d))+" bytes, want "+strconv.Itoa(len(m.digest)))
			}
			copy(m.digest[:], d)
		}
	}
	if m.payload == nil && (m.kind == kindDelta || m.kind == kindState) && !r.Failed() {
		m.payload = []byte{} // an empty bin: the payload decoder will say why it is wrong
	}
}
