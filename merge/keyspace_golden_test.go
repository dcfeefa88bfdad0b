package merge

// TestGoldenKeyspaceMessages pins the four messages of merge.Keyspace and
// its tree hashes byte for byte, as docs/wire-format.md specifies them in
// "Keyspace messages (kinds 40–43)", with the vectors of
// testdata/golden/keyspace_messages.json:
//
//   - the vectors the code builds must be the file (go test -run
//     GoldenKeyspace ./merge/ -update rewrites it);
//   - each vector decodes and encodes back to exactly its bytes;
//   - each rejected input fails the decoder with the error the file names;
//   - the hashes of the file's tree section are those of a hash function
//     written here from the document alone;
//   - each annotated example of the document's keyspace section is the
//     vector it names, and each kind has one.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/internal/spectest"
	"github.com/converge-go/converge/internal/wire"
	"github.com/converge-go/converge/vclock"
)

const goldenKeyspacePath = "testdata/golden/keyspace_messages.json"

// keyspaceFile is the JSON form of the golden file.
type keyspaceFile struct {
	Kinds    map[string]int `json:"kinds"`
	Tree     []treeJSON     `json:"tree"`
	Cases    []ksCaseJSON   `json:"cases"`
	Rejected []rejectedJSON `json:"rejected"`
}

// treeJSON is one key of the tree section: its encoding, the encoding of
// its state, and the hashes the document defines. Hashes are 16
// lowercase hexadecimal digits.
type treeJSON struct {
	Key          string `json:"key"`
	KeyHex       string `json:"keyHex"`
	StateHex     string `json:"stateHex"`
	KeyHash      string `json:"keyHash"`
	Bucket       int    `json:"bucket"`
	Contribution string `json:"contribution"`
}

type ksCaseJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Kind        string `json:"kind"`
	Tag         int    `json:"tag"`
	Hex         string `json:"hex"`
}

var goldenKSKinds = map[wire.Kind]string{
	kindKeyspaceDelta:  "KeyspaceDelta",
	kindKeyspaceAck:    "KeyspaceAck",
	kindKeyspaceTree:   "KeyspaceTree",
	kindKeyspaceStates: "KeyspaceStates",
}

type goldenKSMsg struct {
	name, desc string
	b          []byte
}

func gcounterOf(t *testing.T, counts map[vclock.ReplicaID]uint64) []byte {
	t.Helper()
	var g crdt.GCounter
	for w, n := range counts {
		g.Inc(w, n)
	}
	return goldenEncode(t, &g)
}

func hex16(v uint64) string { return fmt.Sprintf("%016x", v) }

// goldenKeyspace returns the tree section and the vectors: us-east and
// eu-west, the incarnations of the Replica's vectors, keyspaces of
// GCounters keyed by strings.
func goldenKeyspace(t *testing.T) ([]treeJSON, []goldenKSMsg) {
	wUS, wEU := writerOf(goldenUS, goldenIncUS), writerOf(goldenEU, goldenIncEU)
	c := newKeyCodec[string]()
	cart1 := gcounterOf(t, map[vclock.ReplicaID]uint64{wUS: 2})
	cart2 := gcounterOf(t, map[vclock.ReplicaID]uint64{wUS: 1})
	cart3 := gcounterOf(t, map[vclock.ReplicaID]uint64{wEU: 5})
	keys := []struct {
		k     string
		state []byte
	}{{"cart-1", cart1}, {"cart-2", cart2}, {"cart-3", cart3}, {"", cart2}}
	var treeSec []treeJSON
	for _, x := range keys {
		enc := c.append(nil, x.k)
		kh := keyHash(enc)
		treeSec = append(treeSec, treeJSON{
			Key: x.k, KeyHex: hex.EncodeToString(enc), StateHex: hex.EncodeToString(x.state),
			KeyHash: hex16(kh), Bucket: int(bucketOf(kh)), Contribution: hex16(contribution(kh, x.state)),
		})
	}
	// us-east holds cart-1 and cart-2, eu-west cart-3: the roots.
	var us, eu tree
	for _, x := range keys[:2] {
		kh := keyHash(c.append(nil, x.k))
		us.add(bucketOf(kh), contribution(kh, x.state))
	}
	kh3 := keyHash(c.append(nil, "cart-3"))
	eu.add(bucketOf(kh3), contribution(kh3, cart3))
	rootUS := binary.BigEndian.AppendUint64(nil, us.root())
	children := eu.childHashes(nil, 0)
	b1 := bucketOf(keyHash(c.append(nil, "cart-1")))

	fromUS := func(dms int64, logical uint16, ack uint64) *envelope {
		return &envelope{goldenUS, goldenEU, goldenIncUS, goldenTime(dms, logical), goldenIncEU, ack}
	}
	fromEU := func(dms int64, logical uint16, ack uint64) *envelope {
		return &envelope{goldenEU, goldenUS, goldenIncEU, goldenTime(dms, logical), goldenIncUS, ack}
	}
	entry := func(k string, st []byte) ksOut { return ksOut{c.append(nil, k), st} }
	greeting := fromEU(-73, 0, 0)
	greeting.ackInc = 0
	return treeSec, []goldenKSMsg{
		{"ks-greeting", "eu-west greets us-east, whose incarnation it has not heard from", appendKSAck(greeting)},
		{"ks-delta", "us-east sends its deltas 0 to 2, joined per key: cart-1 counted twice, cart-2 once",
			appendKSDelta(fromUS(0, 0, 0), 0, 3, []ksOut{entry("cart-2", cart2), entry("cart-1", cart1)})},
		{"ks-ack", "eu-west acknowledges us-east's deltas 0 to 2", appendKSAck(fromEU(0, 1, 3))},
		{"ks-tree-root", "us-east asks eu-west about its root (request 1): the hash of cart-1 and cart-2",
			appendKSTree(fromUS(1, 0, 0), 1, false, []uint32{0}, rootUS)},
		{"ks-tree-children", "eu-west, whose root differs, answers request 1 with its root's 16 child hashes: only cart-3's branch is not 0",
			appendKSTree(fromEU(1, 1, 3), 1, true, []uint32{0}, children)},
		{"ks-states-push", "us-east sends the states of the keys of cart-1's bucket (request 2) and asks for what eu-west holds more there",
			appendKSStates(fromUS(2, 0, 0), 2, true, false, []uint32{b1}, []ksOut{entry("cart-1", cart1)})},
		{"ks-states-reply", "eu-west, holding nothing more in that bucket, answers request 2 with no state",
			appendKSStates(fromEU(2, 1, 3), 2, false, true, nil, nil)},
		{"ks-close", "us-east closes a pass: eu-west holds every delta of us-east below 3",
			appendKSDelta(fromUS(3, 0, 0), 0, 3, nil)},
	}
}

func rejectedKeyspace(t *testing.T, vs []goldenKSMsg) []rejectedMsg {
	by := map[string][]byte{}
	for _, v := range vs {
		by[v.name] = v.b
	}
	c := newKeyCodec[string]()
	e := &envelope{goldenUS, goldenEU, goldenIncUS, goldenTime(0, 0), goldenIncEU, 0}
	st := gcounterOf(t, map[vclock.ReplicaID]uint64{writerOf(goldenUS, goldenIncUS): 1})
	entry := func(k string) []byte { return wire.AppendBytes(c.append(nil, k), st) }
	// deltaWith is a delta [0, 3) up to its entries.
	deltaWith := func() []byte {
		b := appendKSEnvelope(nil, kindKeyspaceDelta, e)
		return wire.AppendUint(wire.AppendUint(b, 0), 3)
	}
	unsorted := append(deltaWith(), 0x94)
	unsorted = seal(append(append(unsorted, entry("cart-2")...), entry("cart-1")...))
	repeated := append(deltaWith(), 0x94)
	repeated = seal(append(append(repeated, entry("cart-1")...), entry("cart-1")...))
	odd := append(deltaWith(), 0x93)
	odd = seal(append(append(odd, entry("cart-1")...), c.append(nil, "cart-2")...))
	treeReq := func(request uint64, nodes []uint32, hashes []byte) []byte {
		return appendKSTree(e, request, false, nodes, hashes)
	}
	states := func(push, reply bool, buckets []uint32, keys ...string) []byte {
		b := appendKSEnvelope(nil, kindKeyspaceStates, e)
		b = wire.AppendBool(wire.AppendBool(wire.AppendUint(b, 2), push), reply)
		b = appendUints(b, buckets)
		b = wire.AppendArrayLen(b, 2*len(keys))
		for _, k := range keys {
			b = append(b, entry(k)...)
		}
		return seal(b)
	}
	b1 := bucketOf(keyHash(c.append(nil, "cart-1")))
	kind44 := bytes.Clone(by["ks-ack"])
	kind44[2] = 44
	badSum := bytes.Clone(by["ks-ack"])
	badSum[len(badSum)-1] ^= 1
	return []rejectedMsg{
		{"ks-bad-checksum", "ks-ack with the last byte of its checksum changed", badSum, false, "ErrMalformed"},
		{"ks-unsorted-keys", "deltas of cart-2 then cart-1: keys must ascend by their encodings", unsorted, true, "ErrMalformed"},
		{"ks-repeated-key", "deltas of cart-1 twice", repeated, true, "ErrMalformed"},
		{"ks-odd-entries", "entries of three items: a key without its payload", odd, true, "ErrMalformed"},
		{"ks-empty-interval", "deltas [3, 3)", seal(wire.AppendArrayLen(wire.AppendUint(wire.AppendUint(appendKSEnvelope(nil, kindKeyspaceDelta, e), 3), 3), 0)), true, "ErrMalformed"},
		{"ks-request-0", "a tree request numbered 0", treeReq(0, []uint32{0}, make([]byte, 8)), true, "ErrMalformed"},
		{"ks-node-out-of-range", "a tree request about node 4369, a leaf", treeReq(1, []uint32{4369}, make([]byte, 8)), true, "ErrMalformed"},
		{"ks-nodes-unsorted", "a tree request about nodes 2 then 1", treeReq(1, []uint32{2, 1}, make([]byte, 16)), true, "ErrMalformed"},
		{"ks-short-hashes", "a tree request about node 0 with 7 bytes of hash", treeReq(1, []uint32{0}, make([]byte, 7)), true, "ErrMalformed"},
		{"ks-reply-hashes", "a tree reply for node 0 with 8 bytes of hashes, not 128", appendKSTree(e, 1, true, []uint32{0}, make([]byte, 8)), true, "ErrMalformed"},
		{"ks-push-and-reply", "a states message both push and reply", states(true, true, []uint32{b1}, "cart-1"), true, "ErrMalformed"},
		{"ks-push-without-buckets", "a push covering no bucket", states(true, false, nil, "cart-1"), true, "ErrMalformed"},
		{"ks-buckets-without-push", "a catch-up (not a push) naming buckets", states(false, false, []uint32{b1}, "cart-1"), true, "ErrMalformed"},
		{"ks-key-outside-buckets", "a push covering bucket " + strconv.Itoa(int(b1^1)) + " with cart-1, of bucket " + strconv.Itoa(int(b1)), states(true, false, []uint32{b1 ^ 1}, "cart-1"), true, "ErrMalformed"},
		{"ks-unknown-kind", "ks-ack with kind 44, not assigned in this release", seal(bytes.Clone(kind44[:len(kind44)-checksumLen])), true, "ErrUnsupported"},
	}
}

func renderKeyspace(t *testing.T) []byte {
	t.Helper()
	treeSec, vs := goldenKeyspace(t)
	f := keyspaceFile{Kinds: map[string]int{}, Tree: treeSec}
	for k, name := range goldenKSKinds {
		f.Kinds[name] = int(k)
	}
	for _, v := range vs {
		f.Cases = append(f.Cases, ksCaseJSON{v.name, v.desc, goldenKSKinds[wire.Kind(v.b[2])], int(v.b[2]), hex.EncodeToString(v.b)})
	}
	for _, r := range rejectedKeyspace(t, vs) {
		f.Rejected = append(f.Rejected, rejectedJSON{r.name, r.desc, hex.EncodeToString(r.b), r.sumOK, r.err})
	}
	return spectest.JSON(t, f)
}

func TestGoldenKeyspaceMessages(t *testing.T) {
	got := renderKeyspace(t)
	if *updateMessages {
		if err := os.WriteFile(goldenKeyspacePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenKeyspacePath)
	if err != nil {
		t.Fatalf("%v (run go test -run GoldenKeyspace ./merge/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code writes; if the change is intended, run go test -run GoldenKeyspace ./merge/ -update", goldenKeyspacePath)
	}
	var f keyspaceFile
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	kinds := map[int]bool{}
	for _, c := range f.Cases {
		b := goldenParseHex(t, c.Name, "hex", c.Hex)
		kinds[c.Tag] = true
		if !specChecksumValid(b) {
			t.Errorf("%s: the checksum is not c4 04 and the CRC-32C of the bytes before them", c.Name)
		}
		m, err := decodeKSMessage(b, wire.Limits{}, newKeyCodec[string]())
		if err != nil {
			t.Errorf("%s: decode: %v", c.Name, err)
			continue
		}
		if out := encodeKS(m); !bytes.Equal(out, b) {
			t.Errorf("%s: decoded and encoded again:\n%x, want\n%x", c.Name, out, b)
		}
	}
	for k, name := range goldenKSKinds {
		if !kinds[int(k)] {
			t.Errorf("no vector of %s", name)
		}
	}
	for _, r := range f.Rejected {
		b := goldenParseHex(t, r.Name, "hex", r.Hex)
		if specChecksumValid(b) != r.ChecksumValid {
			t.Errorf("%s: checksum valid: %v, the file says %v", r.Name, !r.ChecksumValid, r.ChecksumValid)
		}
		if _, err := decodeKSMessage(b, wire.Limits{}, newKeyCodec[string]()); !errors.Is(err, goldenMsgErrors[r.Error]) {
			t.Errorf("%s: decode: got %v, want an error matching %s", r.Name, err, r.Error)
		}
	}
	for _, x := range f.Tree {
		checkSpecHashes(t, x)
	}
}

// checkSpecHashes recomputes a tree vector's hashes as the document
// defines them, without the package's hash code: FNV-1a 64 of the key's
// encoding, finalized by fmix64, is the key hash; its top 16 bits the
// bucket; fmix64 of the key hash XOR FNV-1a 64 of the state's encoding
// the contribution.
func checkSpecHashes(t *testing.T, x treeJSON) {
	fnv := func(b []byte) uint64 {
		h := uint64(0xcbf29ce484222325)
		for _, c := range b {
			h = (h ^ uint64(c)) * 0x100000001b3
		}
		return h
	}
	mix := func(h uint64) uint64 {
		h = (h ^ h>>33) * 0xff51afd7ed558ccd
		h = (h ^ h>>33) * 0xc4ceb9fe1a85ec53
		return h ^ h>>33
	}
	key := goldenParseHex(t, x.Key, "keyHex", x.KeyHex)
	state := goldenParseHex(t, x.Key, "stateHex", x.StateHex)
	if !bytes.Equal(key, wire.AppendString(nil, x.Key)) {
		t.Errorf("tree %q: key encoding %x", x.Key, key)
	}
	kh := mix(fnv(key))
	if hex16(kh) != x.KeyHash || int(kh>>48) != x.Bucket || hex16(mix(kh^fnv(state))) != x.Contribution {
		t.Errorf("tree %q: the document's hashes give %016x, bucket %d, contribution %016x; the file says %s, %d, %s",
			x.Key, kh, kh>>48, mix(kh^fnv(state)), x.KeyHash, x.Bucket, x.Contribution)
	}
}

// TestGoldenKeyspaceExamples checks that each annotated example of the
// document's keyspace messages is the vector it names.
func TestGoldenKeyspaceExamples(t *testing.T) {
	_, vs := goldenKeyspace(t)
	vectors := map[string][]byte{}
	for _, v := range vs {
		vectors[v.name] = v.b
	}
	for _, r := range rejectedKeyspace(t, vs) {
		vectors[r.name] = r.b
	}
	kinds := map[byte]bool{}
	examples, _ := spectest.Blocks(t, wireFormatPath, "ksmessage", regexp.MustCompile(`^<!-- keyspace message: (.+) -->$`))
	for _, ex := range examples {
		want, ok := vectors[ex.Name]
		switch {
		case !ok:
			t.Errorf("%s:%d: no vector %q", wireFormatPath, ex.Line, ex.Name)
		case !bytes.Equal(ex.Bytes, want):
			t.Errorf("%s:%d (%s): the example is\n%x, the vector\n%x", wireFormatPath, ex.Line, ex.Name, ex.Bytes, want)
		default:
			kinds[want[2]] = true
		}
	}
	for k, name := range goldenKSKinds {
		if !kinds[byte(k)] {
			t.Errorf("%s: no example of a %s message", wireFormatPath, name)
		}
	}
}
