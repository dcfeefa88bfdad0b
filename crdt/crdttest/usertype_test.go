package crdttest_test

import (
	"testing"

	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/internal/proptest"
)

// TestMain sets the cases of every rapid property of the package (see
// internal/proptest: 1000, or 250 under the race detector).
func TestMain(m *testing.M) { proptest.Main(m) }

// TestUserDefinedType runs every crdttest check on the Max register of
// the example: crdttest works on types defined outside converge.
func TestUserDefinedType(t *testing.T) { crdttest.Check(t, maxSpec()) }
