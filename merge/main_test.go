package merge_test

import (
	"testing"

	"github.com/converge-go/converge/internal/proptest"
)

// TestMain sets the cases of every rapid property of the package (see
// internal/proptest: 1000, or 250 under the race detector).
func TestMain(m *testing.M) { proptest.Main(m) }
