package merge

import (
	"math"
	"reflect"
	"unsafe"

	"github.com/converge-go/converge/internal/wire"
)

// A Key is a type a [Keyspace] can key its states by: a string or an
// integer kind, named or not (type CartID string qualifies). Only these
// have a canonical encoding on the wire — a msgpack str, or an integer
// in its shortest form — which the hash tree needs, since two replicas
// must place a key in the same bucket from its bytes alone.
type Key interface {
	~string |
		~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// keyCodec encodes and decodes keys of type K. The Key constraint admits
// no conversion that works for every type in it (a string cannot be
// converted to int64), so the codec reads a key through a pointer to its
// underlying type, which the kind recorded at construction names; the
// constraint guarantees that the kind is one of the cases below.
type keyCodec[K Key] struct {
	kind reflect.Kind
	size uintptr
}

func newKeyCodec[K Key]() keyCodec[K] {
	t := reflect.TypeFor[K]()
	return keyCodec[K]{kind: t.Kind(), size: t.Size()}
}

// signed reports whether K is a signed integer kind.
func (c keyCodec[K]) signed() bool {
	switch c.kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// append appends the canonical encoding of k: a str, or an integer in its
// shortest form.
func (c keyCodec[K]) append(b []byte, k K) []byte {
	p := unsafe.Pointer(&k)
	switch {
	case c.kind == reflect.String:
		return wire.AppendString(b, *(*string)(p))
	case c.signed():
		return wire.AppendInt(b, c.int(p))
	}
	return wire.AppendUint(b, c.uint(p))
}

func (c keyCodec[K]) int(p unsafe.Pointer) int64 {
	switch c.size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func (c keyCodec[K]) uint(p unsafe.Pointer) uint64 {
	switch c.size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// read reads a key from r: a str for a string kind, an integer in the
// range of K for an integer kind.
func (c keyCodec[K]) read(r *wire.Reader) K {
	var k K
	p := unsafe.Pointer(&k)
	at := r.Offset()
	switch {
	case c.kind == reflect.String:
		*(*string)(p) = r.Str()
	case c.signed():
		v := r.Int()
		bits := 8 * c.size
		if !r.Failed() && bits < 64 && (v < -1<<(bits-1) || v >= 1<<(bits-1)) {
			r.FailAt(at, "key out of the range of its type")
			return k
		}
		c.setInt(p, v)
	default:
		v := r.Uint()
		if !r.Failed() && c.size < 8 && v > math.MaxUint64>>(64-8*c.size) {
			r.FailAt(at, "key out of the range of its type")
			return k
		}
		c.setUint(p, v)
	}
	return k
}

func (c keyCodec[K]) setInt(p unsafe.Pointer, v int64) {
	switch c.size {
	case 1:
		*(*int8)(p) = int8(v)
	case 2:
		*(*int16)(p) = int16(v)
	case 4:
		*(*int32)(p) = int32(v)
	default:
		*(*int64)(p) = v
	}
}

func (c keyCodec[K]) setUint(p unsafe.Pointer, v uint64) {
	switch c.size {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}

// The hash tree. Every key hashes, by its canonical encoding, into one of
// 2^16 leaf buckets; a key contributes a 64-bit hash of its encoding and
// its state's to its bucket, and every node's hash is the sum, modulo
// 2^64, of the contributions of the keys below it. So an update changes
// one contribution and adds the difference to the five nodes on its
// path: O(1) per update, with nothing to recompute lazily. The tree has
// fanout 16 and five levels: the root (level 0), 16, 256 and 4096 inner
// nodes, and the 65536 leaves (level 4). Nodes are numbered breadth
// first — the root 0, level 1 from 1, level 2 from 17, level 3 from 273,
// the leaves from 4369 — so that the children of node n are 16n+1 to
// 16n+16, and leaf bucket b is node 4369+b.
//
// A sum rather than a hash of the children's hashes makes the update
// O(1) per level and lets the nodes be kept as one array. Its weakness,
// that differences in two buckets could cancel in a parent, needs two
// 64-bit hashes summing to zero: chance for honest data, 2^-64.
const (
	treeFanout  = 16
	treeLeaves  = 1 << 16
	treeInner   = 1 + 16 + 256 + 4096 // nodes with children: 4369
	treeNodes   = treeInner + treeLeaves
	treeLeafTop = 64 - 16 // a key's bucket is the top 16 bits of its hash
)

// FNV-1a, 64 bits, and the finalizer of MurmurHash3 (fmix64), written
// here so that the root module needs no hash dependency; docs/wire-format.md
// specifies both, for other implementations.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// keyHash returns the hash of a key's canonical encoding; its top 16
// bits are the key's bucket.
func keyHash(enc []byte) uint64 { return fmix64(fnv1a(fnvOffset, enc)) }

// contribution returns what a key of hash kh whose state encodes to state
// adds to the nodes above it.
func contribution(kh uint64, state []byte) uint64 {
	return fmix64(kh ^ fnv1a(fnvOffset, state))
}

// bucketOf returns the leaf bucket of a key hash.
func bucketOf(kh uint64) uint32 { return uint32(kh >> treeLeafTop) }

// A tree holds the node hashes, by node number. The array is allocated
// with the first key, so that an empty keyspace costs nothing.
type tree struct {
	nodes []uint64
}

// add adds d to the hashes of leaf bucket b and of its ancestors.
func (t *tree) add(b uint32, d uint64) {
	if d == 0 {
		return
	}
	if t.nodes == nil {
		t.nodes = make([]uint64, treeNodes)
	}
	n := treeInner + int(b)
	for {
		t.nodes[n] += d
		if n == 0 {
			return
		}
		n = (n - 1) / treeFanout
	}
}

// hash returns the hash of node n; 0 for a tree with no key.
func (t *tree) hash(n int) uint64 {
	if t.nodes == nil {
		return 0
	}
	return t.nodes[n]
}

// root returns the root hash.
func (t *tree) root() uint64 { return t.hash(0) }
