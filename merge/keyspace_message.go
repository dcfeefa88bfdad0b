package merge

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"

	"github.com/converge-go/converge/internal/wire"
)

// The kind tags of the four messages of a Keyspace. They follow the
// Replica's messages (32–35) after a gap, 36–39, left for the Replica's
// own; docs/wire-format.md specifies them under "Keyspace messages (kinds
// 40–43)". They are not in internal/wire's list of kinds yet, so a
// Replica given one refuses it as of an unknown kind (ErrUnsupported).
const (
	kindKeyspaceDelta  = wire.KindKeyspaceDelta  // deltas of many keys, or the states of keys written since
	kindKeyspaceAck    = wire.KindKeyspaceAck    // an acknowledgement, or a greeting
	kindKeyspaceTree   = wire.KindKeyspaceTree   // node hashes: a request, or the children of differing nodes
	kindKeyspaceStates = wire.KindKeyspaceStates // states of keys: a catch-up, a tree pass's leaves, or the answer
)

// Field counts after [version, kind], the checksum included.
const (
	ksDeltaFields  = 6 + 3 + 1 // from, to, entries
	ksAckFields    = 6 + 1
	ksTreeFields   = 6 + 4 + 1 // request, reply, nodes, hashes
	ksStatesFields = 6 + 5 + 1 // request, push, reply, buckets, entries
)

// ksMaxRequestNodes bounds the nodes of a tree request: the answer, 128
// bytes of child hashes per node that differs, stays under 33 KiB.
const ksMaxRequestNodes = 256

// ksHashLen is the size of a node hash on the wire: 8 bytes, big-endian.
const ksHashLen = 8

func ksFieldsOf(k wire.Kind) int {
	switch k {
	case kindKeyspaceDelta:
		return ksDeltaFields
	case kindKeyspaceAck:
		return ksAckFields
	case kindKeyspaceTree:
		return ksTreeFields
	case kindKeyspaceStates:
		return ksStatesFields
	}
	return -1
}

// A ksMessage is a decoded keyspace message; its byte slices alias the
// input. The envelope and from, to are in message.
type ksMessage[K Key] struct {
	message
	request     uint64
	push, reply bool
	nodes       []uint32 // tree: the nodes a request asks about, or a reply's differing parents
	hashes      []byte   // tree: 8 bytes per node (request) or 16×8 per parent (reply)
	buckets     []uint32 // states: the leaf buckets a push covers
	entries     []ksWire[K]
}

// A ksWire is one entry of a message: a key, its encoding and the
// encoding of a state (a delta-group or a full state).
type ksWire[K Key] struct {
	key     K
	enc     []byte
	payload []byte
}

// An ksOut is an entry to encode: the key's encoding and the payload.
type ksOut struct{ key, payload []byte }

func appendKSEnvelope(b []byte, k wire.Kind, e *envelope) []byte {
	b = wire.AppendHeader(b, k, ksFieldsOf(k))
	b = wire.AppendString(b, string(e.sender))
	b = wire.AppendString(b, string(e.recipient))
	b = wire.AppendUint(b, e.inc)
	b = wire.AppendUint(b, uint64(e.time))
	b = wire.AppendUint(b, e.ackInc)
	return wire.AppendUint(b, e.ack)
}

// appendEntries appends entries as an array of key, payload, key,
// payload, ..., sorted by the keys' encodings. It sorts es in place.
func appendEntries(b []byte, es []ksOut) []byte {
	slices.SortFunc(es, func(x, y ksOut) int { return bytes.Compare(x.key, y.key) })
	b = wire.AppendArrayLen(b, 2*len(es))
	for _, e := range es {
		b = append(b, e.key...)
		b = wire.AppendBytes(b, e.payload)
	}
	return b
}

func entriesSize(es []ksOut) int {
	n := 5
	for _, e := range es {
		n += len(e.key) + 5 + len(e.payload)
	}
	return n
}

func appendUints(b []byte, vs []uint32) []byte {
	b = wire.AppendArrayLen(b, len(vs))
	for _, v := range vs {
		b = wire.AppendUint(b, uint64(v))
	}
	return b
}

func appendKSDelta(e *envelope, from, to uint64, es []ksOut) []byte {
	b := make([]byte, 0, envelopeCap(e)+18+entriesSize(es))
	b = appendKSEnvelope(b, kindKeyspaceDelta, e)
	b = wire.AppendUint(b, from)
	b = wire.AppendUint(b, to)
	return seal(appendEntries(b, es))
}

func appendKSAck(e *envelope) []byte {
	return seal(appendKSEnvelope(make([]byte, 0, envelopeCap(e)), kindKeyspaceAck, e))
}

func appendKSTree(e *envelope, request uint64, reply bool, nodes []uint32, hashes []byte) []byte {
	b := make([]byte, 0, envelopeCap(e)+16+5*len(nodes)+len(hashes))
	b = appendKSEnvelope(b, kindKeyspaceTree, e)
	b = wire.AppendUint(b, request)
	b = wire.AppendBool(b, reply)
	b = appendUints(b, nodes)
	return seal(wire.AppendBytes(b, hashes))
}

func appendKSStates(e *envelope, request uint64, push, reply bool, buckets []uint32, es []ksOut) []byte {
	b := make([]byte, 0, envelopeCap(e)+16+4*len(buckets)+entriesSize(es))
	b = appendKSEnvelope(b, kindKeyspaceStates, e)
	b = wire.AppendUint(b, request)
	b = wire.AppendBool(b, push)
	b = wire.AppendBool(b, reply)
	b = appendUints(b, buckets)
	return seal(appendEntries(b, es))
}

// decodeKSMessage decodes a keyspace message, checking its checksum
// first and then every field, the keys included; it does not decode the
// payloads.
func decodeKSMessage[K Key](b []byte, lim wire.Limits, c keyCodec[K]) (ksMessage[K], error) {
	var m ksMessage[K]
	r, err := openFrame(b, lim, ksFieldsOf, "keyspace message", &m.message)
	if err != nil {
		return m, err
	}
	readKSBody(&r, &m, c)
	if err := closeFrame(&r, len(b)); err != nil {
		return ksMessage[K]{}, err
	}
	return m, nil
}

// readKSBody reads the fields of m's kind, between the envelope and the
// checksum.
func readKSBody[K Key](r *wire.Reader, m *ksMessage[K], c keyCodec[K]) {
	switch m.kind {
	case kindKeyspaceDelta:
		at := r.Offset()
		m.from, m.to = r.Uint(), r.Uint()
		if !r.Failed() && m.from >= m.to {
			r.FailAt(at, "empty delta interval ["+strconv.FormatUint(m.from, 10)+", "+strconv.FormatUint(m.to, 10)+")")
		}
		m.entries = readEntries(r, c)
	case kindKeyspaceTree:
		readKSTree(r, m)
	case kindKeyspaceStates:
		readKSStates(r, m, c)
	}
}

// readRequest reads a request number, which is never 0.
func readRequest(r *wire.Reader) uint64 {
	at := r.Offset()
	v := r.Uint()
	if !r.Failed() && v == 0 {
		r.FailAt(at, "request 0")
	}
	return v
}

func readKSTree[K Key](r *wire.Reader, m *ksMessage[K]) {
	m.request = readRequest(r)
	m.reply = r.Bool()
	at := r.Offset()
	m.nodes = readUints(r, treeInner, "node")
	if !r.Failed() && !m.reply && len(m.nodes) > ksMaxRequestNodes {
		r.FailAt(at, "a request for "+strconv.Itoa(len(m.nodes))+" nodes, more than "+strconv.Itoa(ksMaxRequestNodes))
	}
	at = r.Offset()
	m.hashes = r.Bytes()
	per := ksHashLen
	if m.reply {
		per = treeFanout * ksHashLen
	}
	if !r.Failed() && len(m.hashes) != per*len(m.nodes) {
		r.FailAt(at, strconv.Itoa(len(m.hashes))+" bytes of hashes for "+strconv.Itoa(len(m.nodes))+" nodes, want "+strconv.Itoa(per*len(m.nodes)))
	}
}

func readKSStates[K Key](r *wire.Reader, m *ksMessage[K], c keyCodec[K]) {
	m.request = readRequest(r)
	at := r.Offset()
	m.push, m.reply = r.Bool(), r.Bool()
	if !r.Failed() && m.push && m.reply {
		r.FailAt(at, "a states message both push and reply")
	}
	at = r.Offset()
	m.buckets = readUints(r, treeLeaves, "bucket")
	if !r.Failed() && m.push != (len(m.buckets) > 0) {
		r.FailAt(at, "buckets in a states message that is not a push, or a push without them")
	}
	at = r.Offset()
	m.entries = readEntries(r, c)
	if !r.Failed() && m.push {
		for _, e := range m.entries {
			if _, ok := slices.BinarySearch(m.buckets, bucketOf(keyHash(e.enc))); !ok {
				r.FailAt(at, "a key outside the buckets the push covers")
				return
			}
		}
	}
}

// readUints reads an array of integers below limit, strictly ascending.
func readUints(r *wire.Reader, limit uint32, what string) []uint32 {
	n := r.ArrayLen()
	if n == 0 {
		return nil
	}
	vs := make([]uint32, 0, r.Presize(n, 4))
	for i := 0; i < n && !r.Failed(); i++ {
		at := r.Offset()
		v := r.Uint()
		switch {
		case r.Failed():
		case v >= uint64(limit):
			r.FailAt(at, what+" "+strconv.FormatUint(v, 10)+" out of range")
		case len(vs) > 0 && uint32(v) <= vs[len(vs)-1]:
			r.FailAt(at, what+"s not in ascending order, or repeated")
		default:
			vs = append(vs, uint32(v))
		}
	}
	return vs
}

// readEntries reads an array of key, payload pairs, the keys' encodings
// strictly ascending.
func readEntries[K Key](r *wire.Reader, c keyCodec[K]) []ksWire[K] {
	at := r.Offset()
	n := r.ArrayLen()
	if !r.Failed() && n%2 != 0 {
		r.FailAt(at, "an odd number of items in the entries")
		return nil
	}
	if n == 0 {
		return nil
	}
	es := make([]ksWire[K], 0, r.Presize(n/2, 64))
	for i := 0; i < n/2 && !r.Failed(); i++ {
		at := r.Offset()
		k := c.read(r)
		enc := r.Since(at)
		p := r.Bytes()
		switch {
		case r.Failed():
		case len(es) > 0 && bytes.Compare(enc, es[len(es)-1].enc) <= 0:
			r.FailAt(at, "keys not in ascending order of their encodings, or repeated")
		default:
			if p == nil {
				p = []byte{} // an empty bin: the payload decoder will say why it is wrong
			}
			es = append(es, ksWire[K]{key: k, enc: enc, payload: p})
		}
	}
	return es
}

// childHashes appends the hashes of the children of node n, 8 bytes each.
func (t *tree) childHashes(b []byte, n int) []byte {
	for j := 1; j <= treeFanout; j++ {
		b = binary.BigEndian.AppendUint64(b, t.hash(treeFanout*n+j))
	}
	return b
}

// beUint64 reads a big-endian node hash.
func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func compareBytes(a, b []byte) int { return bytes.Compare(a, b) }
