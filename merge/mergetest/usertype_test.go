package mergetest_test

import (
	"testing"

	"github.com/converge-go/converge/internal/proptest"
	"github.com/converge-go/converge/merge/mergetest"
)

// TestMain runs every rapid property of the package 1000 times.
func TestMain(m *testing.M) { proptest.Main(m) }

// TestUserDefinedType runs every mergetest check on the Max register of
// the example: mergetest works on types defined outside converge.
func TestUserDefinedType(t *testing.T) { mergetest.Check(t, maxSpec()) }
