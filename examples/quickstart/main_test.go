package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestQuickstart runs the program and checks its conclusion from its own
// output: every region ends with the union of the carts, the sum of the
// likes, the rename, and the same state.
func TestQuickstart(t *testing.T) {
	out := capture(t, main)
	for _, want := range []string{
		`us-east   cart={scarf socks} likes=55 name="Ada Lovelace"`,
		`eu-west   cart={scarf socks} likes=55 name="Ada Lovelace"`,
		`ap-south  cart={scarf socks} likes=55 name="Ada Lovelace"`,
		"converged: true",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; got:\n%s", want, out)
		}
	}
}

// capture runs f with os.Stdout redirected and returns what it printed.
func capture(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		buf.ReadFrom(r)
		done <- buf.Bytes()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	return string(<-done)
}
