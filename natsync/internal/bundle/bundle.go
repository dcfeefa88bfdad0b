package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/converge-go/converge/vclock"
)

// A bundle is what natsync's Transport publishes on its broadcast subject: the
// messages merge.Replica.Sync returned for each peer, in one NATS
// message that every peer receives. Messages that carry the same
// payload — peers at the same acknowledgement get the same delta-group —
// hold it once.
//
//	bundle  = magic "cv" | version 1 | uvarint len | sender
//	          | uvarint npayloads | { uvarint len | payload }
//	          | uvarint nentries  | { entry }
//	entry   = uvarint len | recipient | uvarint payload index + 1 (0: none)
//	          | uvarint len | head | uvarint len | tail
//
// An entry's merge message is head, the payload it names, then tail;
// head and tail are the bytes of the message before and after its
// payload, whose checksum, in tail, covers all of them, so that the
// recipient's Receive checks the reassembled message as it checks any.
//
// Only append to this list: the version moves for a new layout.
const (
	bundleMagic0  = 'c'
	bundleMagic1  = 'v'
	bundleVersion = 1
)

// ErrMalformed is the error of a bundle that cannot be read.
var ErrMalformed = errors.New("natsync: malformed bundle")

// A Part is one peer's message, split around its payload.
type Part struct {
	To         vclock.ReplicaID // the recipient
	Head, Tail []byte           // the message before and after its payload
	Payload    []byte           // nil: the whole message is Head
}

// Split splits a merge message around its Payload: the bin field
// 10 of a delta (kind 32) or a state (kind 33); see merge's package
// documentation, "Messages and wire format". A message of another kind,
// or one it cannot parse, is all head.
func Split(msg []byte) (head, payload, tail []byte) {
	const payloadField = 10
	if len(msg) < 3 || msg[0]&0xf0 != 0x90 || msg[1] != 1 || (msg[2] != 32 && msg[2] != 33) {
		return msg, nil, nil
	}
	i := 1
	for f := 0; f < payloadField; f++ {
		n, ok := skipValue(msg[i:])
		if !ok {
			return msg, nil, nil
		}
		i += n
	}
	if i >= len(msg) {
		return msg, nil, nil
	}
	var size, hdr int
	switch msg[i] {
	case 0xc4:
		hdr = 2
		if i+hdr > len(msg) {
			return msg, nil, nil
		}
		size = int(msg[i+1])
	case 0xc5:
		hdr = 3
		if i+hdr > len(msg) {
			return msg, nil, nil
		}
		size = int(binary.BigEndian.Uint16(msg[i+1:]))
	case 0xc6:
		hdr = 5
		if i+hdr > len(msg) {
			return msg, nil, nil
		}
		size = int(binary.BigEndian.Uint32(msg[i+1:]))
	default:
		return msg, nil, nil
	}
	start := i + hdr
	if size > len(msg)-start {
		return msg, nil, nil
	}
	return msg[:start], msg[start : start+size], msg[start+size:]
}

// skipValue returns the length of the msgpack value b starts with, for
// the kinds merge messages hold before their Payload: integers, strings
// and booleans.
func skipValue(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	c := b[0]
	var n int
	switch {
	case c <= 0x7f, c == 0xc2, c == 0xc3:
		n = 1
	case c >= 0xa0 && c <= 0xbf:
		n = 1 + int(c&0x1f)
	case c == 0xcc:
		n = 2
	case c == 0xcd:
		n = 3
	case c == 0xce:
		n = 5
	case c == 0xcf:
		n = 9
	case c == 0xd9:
		if len(b) < 2 {
			return 0, false
		}
		n = 2 + int(b[1])
	case c == 0xda:
		if len(b) < 3 {
			return 0, false
		}
		n = 3 + int(binary.BigEndian.Uint16(b[1:]))
	default:
		return 0, false
	}
	if n > len(b) {
		return 0, false
	}
	return n, true
}

// Append appends the bundle of parts from sender to b. Parts with
// equal payloads share one copy.
func Append(b []byte, sender vclock.ReplicaID, parts []Part) []byte {
	b = append(b, bundleMagic0, bundleMagic1, bundleVersion)
	b = appendBytes(b, []byte(sender))
	index := make([]int, len(parts)) // payload index + 1, per part
	var payloads [][]byte
	for i, p := range parts {
		if p.Payload == nil {
			continue
		}
		for j, q := range payloads {
			if string(q) == string(p.Payload) {
				index[i] = j + 1
				break
			}
		}
		if index[i] == 0 {
			payloads = append(payloads, p.Payload)
			index[i] = len(payloads)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(payloads)))
	for _, q := range payloads {
		b = appendBytes(b, q)
	}
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for i, p := range parts {
		b = appendBytes(b, []byte(p.To))
		b = binary.AppendUvarint(b, uint64(index[i]))
		b = appendBytes(b, p.Head)
		b = appendBytes(b, p.Tail)
	}
	return b
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// A bundleReader reads a bundle without copying: every slice it returns
// aliases the input.
type bundleReader struct {
	b   []byte
	err error
}

func (r *bundleReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrMalformed
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bundleReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrMalformed
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// Read returns the sender of bundle b and the message in it for
// recipient to, reassembled (a new slice), or nil if b holds none for it.
// It reads the whole bundle, so that a malformed one is an error whoever
// its entries are for, and allocates only the message it returns.
func Read(b []byte, to vclock.ReplicaID) (sender vclock.ReplicaID, msg []byte, err error) {
	if len(b) < 3 || b[0] != bundleMagic0 || b[1] != bundleMagic1 {
		return "", nil, ErrMalformed
	}
	if b[2] != bundleVersion {
		return "", nil, fmt.Errorf("natsync: bundle version %d, want %d: %w", b[2], bundleVersion, ErrMalformed)
	}
	r := &bundleReader{b: b[3:]}
	s := r.bytes()
	np := r.uvarint()
	if np > uint64(len(r.b)) { // each payload takes a byte at least
		return "", nil, ErrMalformed
	}
	// Payload offsets are kept in a small fixed array where they fit, so
	// that a bundle of a few payloads allocates nothing here.
	var fixed [8][]byte
	payloads := fixed[:0]
	if np > uint64(len(fixed)) {
		payloads = make([][]byte, 0, np)
	}
	for range np {
		payloads = append(payloads, r.bytes())
	}
	ne := r.uvarint()
	if ne > uint64(len(r.b)) {
		return "", nil, ErrMalformed
	}
	var found bool
	for range ne {
		rcpt := r.bytes()
		pi := r.uvarint()
		head := r.bytes()
		tail := r.bytes()
		if r.err != nil {
			break
		}
		if pi > uint64(len(payloads)) {
			return "", nil, ErrMalformed
		}
		if found || string(rcpt) != string(to) {
			continue
		}
		found = true
		var pl []byte
		if pi > 0 {
			pl = payloads[pi-1]
		}
		msg = make([]byte, 0, len(head)+len(pl)+len(tail))
		msg = append(append(append(msg, head...), pl...), tail...)
	}
	if r.err != nil {
		return "", nil, r.err
	}
	if len(r.b) != 0 {
		return "", nil, fmt.Errorf("natsync: %d bytes after the bundle: %w", len(r.b), ErrMalformed)
	}
	return vclock.ReplicaID(s), msg, nil
}
