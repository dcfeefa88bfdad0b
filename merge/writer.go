package merge

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"strings"

	"github.com/converge-go/converge/vclock"
)

// Writers. A replica that restarts from an old snapshot, or from nothing,
// does not know which events its previous incarnation issued: were it to
// write under the same ReplicaID, it would reuse event ids (dots, counter
// entries) its peers already hold for other data. So each incarnation
// writes under an identity of its own, its writer ID: the replica's ID, a
// tilde, and its 64-bit incarnation number in 13 base-32 digits, such as
// us-east~0f8k2m4n6p8qr. Incarnation numbers are random (crypto/rand, or
// the reader of WithRandom), so two incarnations never share a writer,
// whatever the clocks say, and a restarted replica may write at once.
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

// newIncarnation reads a nonzero 64-bit incarnation number from r, or
// from crypto/rand if r is nil.
func newIncarnation(r io.Reader) uint64 {
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			panic("merge: reading an incarnation number: " + err.Error())
		}
		if inc := binary.BigEndian.Uint64(b[:]); inc != 0 {
			return inc
		}
	}
}
