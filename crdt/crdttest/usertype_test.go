package crdttest_test

import (
	"testing"

	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/internal/proptest"
)

// TestMain runs every rapid property of the package 1000 times.
func TestMain(m *testing.M) { proptest.Main(m) }

// TestUserDefinedType runs every crdttest check on the Max register of
// the example: crdttest works on types defined outside converge.
func TestUserDefinedType(t *testing.T) { crdttest.Check(t, maxSpec()) }
