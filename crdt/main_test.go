package crdt_test

import (
	"testing"

	"github.com/converge-go/converge/internal/proptest"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { proptest.Main(m) }

// internalOK fails t unless s's bookkeeping agrees with its state; specs
// use it as their Invariant, so it runs on every state a replica reaches
// and on every state decoded from bytes.
func internalOK[T interface{ CheckInternal() error }](t *rapid.T, s T) {
	t.Helper()
	if err := s.CheckInternal(); err != nil {
		t.Fatal(err)
	}
}
