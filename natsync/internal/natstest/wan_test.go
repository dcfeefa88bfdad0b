package natstest

import (
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestWAN checks the proxies: a message between two regions arrives no
// sooner than their latency, none while the two are cut, and again once
// healed; and Shutdown releases every goroutine.
func TestWAN(t *testing.T) {
	before := runtime.NumGoroutine()
	const lat = 40 * time.Millisecond
	w, err := StartWAN([]string{"a", "b"}, func(from, to string) time.Duration { return lat })
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Connect(w.Servers[0].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Connect(w.Servers[1].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan time.Time, 64)
	if _, err := sub.Subscribe("x", func(*nats.Msg) { ch <- time.Now() }); err != nil {
		t.Fatal(err)
	}
	sub.Flush()
	// Until a's gateway knows of b's interest, publishes may go nowhere:
	// publish until one arrives, then time one.
	arrives := func(within time.Duration) (time.Duration, bool) {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			sent := time.Now()
			pub.Publish("x", []byte("hello"))
			pub.Flush()
			select {
			case at := <-ch:
				return at.Sub(sent), true
			case <-time.After(300 * time.Millisecond):
			}
		}
		return 0, false
	}
	if _, ok := arrives(5 * time.Second); !ok {
		t.Fatal("nothing arrived across the gateway")
	}
	if d, ok := arrives(time.Second); !ok || d < lat {
		t.Errorf("a message took %v (arrived: %v), want at least the latency %v", d, ok, lat)
	}
	if w.Bytes("a", "b") == 0 {
		t.Error("no bytes counted from a to b")
	}

	w.Cut("a", "b")
	if _, ok := arrives(time.Second); ok {
		t.Error("a message crossed a cut gateway")
	}
	w.Heal("a", "b")
	if err := w.WaitGateways(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := arrives(10 * time.Second); !ok {
		t.Error("nothing arrived after the heal")
	}

	pub.Close()
	sub.Close()
	w.Shutdown()
	if n := Goroutines(before, 5*time.Second); n > before {
		t.Errorf("%d goroutines after Shutdown, %d before", n, before)
	}
}
