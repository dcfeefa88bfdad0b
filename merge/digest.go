package merge

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
)

// A Digest is the SHA-256 hash of a state's canonical encoding (its
// AppendBinary bytes). Because converge's encodings are canonical, equal
// states have equal digests, and two replicas can tell whether they agree
// by exchanging 32 bytes instead of their states. Digests compare with ==.
// The zero Digest is the digest of no state.
type Digest [sha256.Size]byte

// String returns the digest in lowercase hexadecimal, 64 characters.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// DigestOf returns the digest of v's canonical encoding (its
// AppendBinary bytes: every converge type's, and any crdt.State's). It
// costs one encoding and one hash of it, O(size of v); [Replica.Digest]
// caches it while the state does not change.
func DigestOf(v encoding.BinaryAppender) (Digest, error) {
	b, err := v.AppendBinary(nil)
	if err != nil {
		return Digest{}, err
	}
	return sha256.Sum256(b), nil
}
