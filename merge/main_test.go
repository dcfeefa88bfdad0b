package merge_test

import (
	"testing"

	"github.com/converge-go/converge/internal/proptest"
)

// TestMain runs every rapid property of the package 1000 times.
func TestMain(m *testing.M) { proptest.Main(m) }
