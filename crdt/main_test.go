package crdt_test

import (
	"testing"

	"github.com/converge-go/converge/internal/proptest"
)

func TestMain(m *testing.M) { proptest.Main(m) }
