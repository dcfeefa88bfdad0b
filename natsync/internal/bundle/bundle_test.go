package bundle

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

func newSet() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }

// syncAll returns what r's Sync has for each peer, as parts.
func syncAll(t testing.TB, r *merge.Replica[*crdt.ORSet[string]]) ([]Part, map[vclock.ReplicaID][]byte) {
	t.Helper()
	var parts []Part
	whole := map[vclock.ReplicaID][]byte{}
	for _, p := range r.Peers() {
		msg, err := r.Sync(p)
		if err != nil {
			t.Fatal(err)
		}
		if msg == nil {
			continue
		}
		h, pl, tl := Split(msg)
		if got := append(append(append([]byte{}, h...), pl...), tl...); !bytes.Equal(got, msg) {
			t.Fatalf("split of the message to %s does not reassemble: got %x, want %x", p, got, msg)
		}
		parts = append(parts, Part{To: p, Head: h, Payload: pl, Tail: tl})
		whole[p] = msg
	}
	return parts, whole
}

func TestBundleSharesPayloads(t *testing.T) {
	r := merge.New("a", newSet)
	peers := []vclock.ReplicaID{"b", "c", "d", "e"}
	for _, p := range peers {
		r.AddPeer(p)
	}
	r.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] {
		d := s.Add(w, "socks")
		for i := range 50 {
			d.Merge(s.Add(w, fmt.Sprint("item-", i)))
		}
		return d
	})
	parts, whole := syncAll(t, r)
	if len(parts) != len(peers) {
		t.Fatalf("got %d messages, want %d", len(parts), len(peers))
	}
	var sum int
	for _, m := range whole {
		sum += len(m)
	}
	b := Append(nil, "a", parts)
	if len(b) > sum/2 {
		t.Errorf("bundle of %d bytes for messages of %d bytes in all, want at most half: payloads not shared", len(b), sum)
	}
	for _, p := range peers {
		sender, msg, err := Read(b, p)
		if err != nil || sender != "a" || !bytes.Equal(msg, whole[p]) {
			t.Errorf("Read for %s: got %q, %x, %v; want a, %x, nil", p, sender, msg, err, whole[p])
		}
	}
	if _, msg, err := Read(b, "z"); msg != nil || err != nil {
		t.Errorf("Read for a stranger: got %x, %v; want nil, nil", msg, err)
	}
	t.Logf("4 peers, a 51-element delta: per-peer messages %d bytes, one bundle %d bytes", sum, len(b))
}

func TestSplitMessageLeavesOthersWhole(t *testing.T) {
	r := merge.New("a", newSet)
	r.AddPeer("b")
	d, err := r.SyncDigest("b")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range [][]byte{d, nil, {0x9c, 1, 32}, {0x9c, 1, 32, 0xc4, 200}} {
		h, pl, tl := Split(msg)
		if !bytes.Equal(h, msg) || pl != nil || tl != nil {
			t.Errorf("Split(%x): got %x, %x, %x; want it whole", msg, h, pl, tl)
		}
	}
}

func TestReadBundleRefusesDamage(t *testing.T) {
	parts := []Part{{To: "b", Head: []byte("head"), Payload: []byte("payload"), Tail: []byte("tail")}}
	b := Append(nil, "a", parts)
	for n := range len(b) {
		if _, _, err := Read(b[:n], "b"); err == nil {
			t.Errorf("Read of the first %d of %d bytes: got nil error, want one", n, len(b))
		}
	}
	if _, _, err := Read(append(b, 0), "b"); err == nil {
		t.Error("Read with a byte after the bundle: got nil error, want one")
	}
	bad := append([]byte{}, b...)
	bad[2] = 2
	if _, _, err := Read(bad, "b"); err == nil {
		t.Error("Read of version 2: got nil error, want one")
	}
}

func FuzzReadBundle(f *testing.F) {
	f.Add(Append(nil, "a", []Part{
		{To: "b", Head: []byte{1, 2}, Payload: []byte{3}, Tail: []byte{4}},
		{To: "c", Head: []byte{1, 2}, Payload: []byte{3}, Tail: []byte{5}},
		{To: "d", Head: []byte{9}},
	}), "c")
	f.Add([]byte("cv\x01"), "b")
	f.Fuzz(func(t *testing.T, b []byte, to string) {
		sender, msg, err := Read(b, vclock.ReplicaID(to))
		if err != nil {
			return
		}
		if len(msg) > len(b) { // head, payload and tail are distinct parts of b
			t.Fatalf("a message of %d bytes from a bundle of %d", len(msg), len(b))
		}
		// What reads, written again, reads the same.
		if msg != nil {
			again := Append(nil, sender, []Part{{To: vclock.ReplicaID(to), Head: msg}})
			s2, m2, err := Read(again, vclock.ReplicaID(to))
			if err != nil || s2 != sender || !bytes.Equal(m2, msg) {
				t.Fatalf("round trip: got %q, %x, %v; want %q, %x, nil", s2, m2, err, sender, msg)
			}
		}
	})
}
