package merge

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"strings"

	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
)

// Writers. A replica that restarts from an old snapshot, or from nothing,
// does not know which events its previous incarnation issued: were it to
// write under the same ReplicaID, it would reuse event ids (dots, counter
// entries) its peers already hold for other data. So each incarnation
// writes under an identity of its own, its writer ID: the replica's ID, a
// tilde, and its 64-bit incarnation number in 13 base-32 digits, such as
// us-east~0f8k2m4n6p8qr. An incarnation number is the milliseconds of the
// clock when the incarnation starts followed by 22 random bits
// (crypto/rand, or the reader of WithRandom). A renewal starts after the
// incarnation before, and Open after every incarnation that wrote to its
// store, so those never share a writer; two replicas made by New for one
// ID in the same millisecond share one only if they draw the same 22
// bits, once in about four million such restarts. A restarted replica may
// write at once. The digits sort as the
// numbers do, so a node's writer IDs sort by incarnation.
//
// The writer ID is a ReplicaID like any other to the crdt types; the tilde
// form lets a replica tell which node a writer belongs to (WriterNode),
// which the checks on what peers claim need. The suffix has a fixed length
// over an alphabet without the tilde, so that a writer ID names one
// (node, incarnation) pair whatever the node's ID holds.

// writerDigits is the alphabet of the incarnation suffix: lowercase
// Crockford base 32.
const writerDigits = "0123456789abcdefghjkmnpqrstvwxyz"

// writerSuffix is the length of "~" plus 13 digits.
const writerSuffix = 14

// writerOf returns the writer ID of incarnation inc of replica id.
func writerOf(id vclock.ReplicaID, inc uint64) vclock.ReplicaID {
	var b [writerSuffix]byte
	b[0] = '~'
	for i := writerSuffix - 1; i > 0; i-- {
		b[i] = writerDigits[inc&31]
		inc >>= 5
	}
	return id + vclock.ReplicaID(b[:])
}

// parseWriter splits a writer ID into its replica ID and incarnation.
func parseWriter(w vclock.ReplicaID) (id vclock.ReplicaID, inc uint64, ok bool) {
	n := len(w) - writerSuffix
	if n < 1 || w[n] != '~' {
		return "", 0, false
	}
	// 13 digits of 5 bits hold 65: the first may use only 4.
	for i := n + 1; i < len(w); i++ {
		d := strings.IndexByte(writerDigits, w[i])
		if d < 0 || i == n+1 && d > 15 {
			return "", 0, false
		}
		inc = inc<<5 | uint64(d)
	}
	if inc == 0 {
		return "", 0, false
	}
	return w[:n], inc, true
}

// WriterNode returns the ID of the replica a writer ID belongs to: w
// without its incarnation suffix (see [Replica.Writer]). An ID that is
// not a writer ID is returned as it is, so that WriterNode can group the
// entries of any state by node, as a counter's per-region totals do.
func WriterNode(w vclock.ReplicaID) vclock.ReplicaID {
	if id, _, ok := parseWriter(w); ok {
		return id
	}
	return w
}

// Incarnation numbers grow with time: the top incMillisBits are the
// clock's milliseconds since the Unix epoch when the incarnation starts,
// the rest random bits. So a node's earlier incarnations sort before its
// current one and its later ones after it, and retiring the earlier ones
// is one range of writer IDs (Replica.Retire); the random bits keep two
// incarnations started in the same millisecond apart.
const (
	incRandomBits = 22
	incMillisBits = 64 - incRandomBits
)

// newIncarnation returns an incarnation number for a replica whose clock
// reads now, above after (the replica's previous incarnation, or the
// floor a store kept), its random bits read from r, or from crypto/rand
// if r is nil.
func newIncarnation(r io.Reader, now hlc.Timestamp, after uint64) uint64 {
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		panic("merge: reading an incarnation number: " + err.Error())
	}
	random := binary.BigEndian.Uint64(b[:]) & (1<<incRandomBits - 1)
	ms := min(now.Physical(), 1<<incMillisBits-1)
	if after>>incRandomBits >= ms {
		ms = after>>incRandomBits + 1 // an earlier incarnation took this millisecond
	}
	return max(ms<<incRandomBits|random, 1)
}

// incarnationsBefore returns the incarnation numbers of a node before
// the millisecond of floor: those of every incarnation that wrote
// before a store kept floor.
func incarnationsBefore(floor hlc.Timestamp) uint64 {
	return floor.Physical()<<incRandomBits | (1<<incRandomBits - 1)
}
