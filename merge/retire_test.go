package merge_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

type profiles = crdt.ORMap[string, *crdt.MVRegister[string]]

func newProfiles() *profiles { return new(profiles) }

// settle exchanges Sync messages both ways between a and b until neither
// has anything to send.
func settle[T crdt.State[T]](t *testing.T, a, b *merge.Replica[T]) {
	t.Helper()
	for range 20 {
		quiet := true
		for _, pair := range [][2]*merge.Replica[T]{{a, b}, {b, a}} {
			msg, err := pair[0].Sync(pair[1].ID())
			if err != nil {
				t.Fatal(err)
			}
			for from, to := pair[0], pair[1]; msg != nil; from, to = to, from {
				quiet = false
				if msg, err = to.Receive(msg); err != nil {
					t.Fatal(err)
				}
			}
		}
		if quiet {
			return
		}
	}
	t.Fatal("the replicas did not settle")
}

// heapOf returns the heap that the value build returns keeps alive.
func heapOf(build func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return max(after.HeapAlloc, before.HeapAlloc) - before.HeapAlloc
}

// encodedSize returns the size of v's encoding.
func encodedSize(t *testing.T, v interface{ MarshalBinary() ([]byte, error) }) int {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestRetireIncarnations: a node restarts 1,000 times through Open, each
// incarnation rewriting ten of 100 keys and syncing with a hub. Once the
// hub retires the node's earlier incarnations, the hub's state, encoded
// and in memory, and the node's own, are within 2× of a map that only the
// ten incarnations still holding values wrote to; a late message of an
// early incarnation is refused.
func TestRetireIncarnations(t *testing.T) {
	const n = 1000
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC).UnixNano()
	clock := func() *hlc.Clock { return hlc.New(hlc.WithPhysicalClock(func() int64 { return now })) }
	hub := merge.New("hub", newProfiles, merge.WithClock(clock()), merge.WithRandom(seeded(1)))
	if err := hub.AddPeer("app"); err != nil {
		t.Fatal(err)
	}
	store := merge.NewMemoryStore()
	var app *merge.Replica[*profiles]
	var late []byte
	writers := make([]vclock.ReplicaID, n)
	for i := range n {
		now += int64(time.Second)
		var err error
		if app, err = merge.Open("app", newProfiles, store, merge.WithClock(clock()), merge.WithRandom(seeded(uint64(100+i)))); err != nil {
			t.Fatal(err)
		}
		if err := app.AddPeer("hub"); err != nil {
			t.Fatal(err)
		}
		writers[i] = app.Writer()
		for k := range 10 {
			key := fmt.Sprintf("user-%02d", (i*10+k)%100)
			if err := app.Update(func(w vclock.ReplicaID, m *profiles) *profiles {
				return m.Update(key, func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] {
					return r.Set(w, fmt.Sprintf("value %d of %s", i, key))
				})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			if late, err = app.Sync("hub"); err != nil {
				t.Fatal(err)
			}
		}
		settle(t, app, hub)
		if i%50 == 49 {
			if err := app.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The same values, written by the ten incarnations holding them only.
	live := newProfiles()
	for i := n - 10; i < n; i++ {
		for k := range 10 {
			key := fmt.Sprintf("user-%02d", (i*10+k)%100)
			live.Update(key, func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] {
				return r.Set(writers[i], fmt.Sprintf("value %d of %s", i, key))
			})
		}
	}
	liveSize := encodedSize(t, live)
	liveHeap := heapOf(func() any { return live.Clone() })
	before := encodedSize(t, hub.State())
	if before <= 2*liveSize {
		t.Fatalf("before retirement the hub's state is %d B, the live-only map %d B: the test cannot tell retirement apart", before, liveSize)
	}

	if err := hub.Retire("app"); err != nil {
		t.Fatal(err)
	}
	settle(t, hub, app)
	for name, r := range map[string]*merge.Replica[*profiles]{"hub": hub, "app": app} {
		size := encodedSize(t, r.State())
		heap := heapOf(func() any { return r.State() })
		t.Logf("%s: %d B encoded (before retirement %d B), %d B heap; live-only map %d B, %d B heap", name, size, before, heap, liveSize, liveHeap)
		if size > 2*liveSize || heap > 2*liveHeap {
			t.Errorf("%s: %d B encoded, %d B heap; want ≤ 2× the live-only map's %d B and %d B", name, size, heap, liveSize, liveHeap)
		}
		if got, want := r.State().String(), live.String(); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	dh, _ := hub.Digest()
	da, _ := app.Digest()
	if dh != da {
		t.Error("hub and app differ after the retirement")
	}

	_, err := hub.Receive(late)
	if !errors.Is(err, merge.ErrRetired) {
		t.Errorf("a late message of the first incarnation: got %v, want ErrRetired", err)
	}
	for _, l := range hub.Lag() {
		if l.Peer == "app" && l.RetiredRefused != 1 {
			t.Errorf("RetiredRefused %d, want 1", l.RetiredRefused)
		}
	}
	// The current incarnation goes on writing.
	if err := app.Update(func(w vclock.ReplicaID, m *profiles) *profiles {
		return m.Update("user-00", func(r *crdt.MVRegister[string]) *crdt.MVRegister[string] { return r.Set(w, "after") })
	}); err != nil {
		t.Fatal(err)
	}
	settle(t, app, hub)
	hub.Read(func(m *profiles) {
		if v, _ := m.Get("user-00"); fmt.Sprint(v.Values()) != "[after]" {
			t.Errorf("user-00 at the hub: %v, want [after]", v.Values())
		}
	})
}

// TestRetireRefusals: what Retire and Receive refuse.
func TestRetireRefusals(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC).UnixNano()
	reps := mesh(&now, newProfiles, "us-east", "eu-west")
	us, eu := reps["us-east"], reps["eu-west"]

	// A payload retiring us-east's current writer is refused, and
	// changes nothing.
	w := us.Writer()
	if err := eu.Update(func(_ vclock.ReplicaID, m *profiles) *profiles {
		d, err := m.Retire(w, w)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}); err != nil {
		t.Fatal(err)
	}
	msg, err := eu.Sync("us-east")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.Receive(msg); !errors.Is(err, merge.ErrRetireLive) {
		t.Errorf("a payload retiring the receiver's writer: got %v, want ErrRetireLive", err)
	}
	us.Read(func(m *profiles) {
		if len(m.Retired()) != 0 {
			t.Errorf("the refused retirement was merged: %v", m.Retired())
		}
	})

	// Counters keep a total per writer: they cannot retire.
	c := merge.New("c", func() *crdt.GCounter { return new(crdt.GCounter) })
	if err := c.Retire("x"); !errors.Is(err, merge.ErrNotRetirable) {
		t.Errorf("GCounter: got %v, want ErrNotRetirable", err)
	}

	// A peer never heard from is retired whole; its messages are refused
	// from then on.
	now += int64(time.Second)
	fresh := merge.New("ap-south", newProfiles, merge.WithClock(hlc.New(hlc.WithPhysicalClock(func() int64 { return now }))))
	if err := fresh.AddPeer("us-east"); err != nil {
		t.Fatal(err)
	}
	if err := us.AddPeer("ap-south"); err != nil {
		t.Fatal(err)
	}
	if err := us.Retire("ap-south"); err != nil {
		t.Fatal(err)
	}
	hello, err := fresh.Sync("us-east")
	if err != nil || hello == nil {
		t.Fatalf("Sync: %v", err)
	}
	if _, err := us.Receive(hello); !errors.Is(err, merge.ErrRetired) {
		t.Errorf("a retired node's message: got %v, want ErrRetired", err)
	}
	// Once heard from, its earlier incarnations only are retired: the
	// current one is live.
	if err := eu.AddPeer("ap-south"); err != nil {
		t.Fatal(err)
	}
	if err := fresh.AddPeer("eu-west"); err != nil {
		t.Fatal(err)
	}
	settle(t, fresh, eu)
	if err := eu.Retire("ap-south"); err != nil {
		t.Fatal(err)
	}
	settle(t, fresh, eu)
	eu.Read(func(m *profiles) {
		for _, g := range m.Retired() {
			if g.Contains(fresh.Writer()) {
				t.Errorf("eu-west retired %s, ap-south's current writer", fresh.Writer())
			}
		}
	})
}
