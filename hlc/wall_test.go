package hlc

import (
	"testing"
	"time"
)

// TestWallClockAgreesWithTimeNow checks the platform's wall clock reading
// against time.Now.
func TestWallClockAgreesWithTimeNow(t *testing.T) {
	for range 1000 {
		before := time.Now().UnixNano()
		got := wallNs()
		after := time.Now().UnixNano()
		// gettimeofday truncates to the microsecond.
		if got < before-int64(time.Microsecond) || got > after {
			t.Fatalf("wallNs() = %d, want within [%d, %d]", got, before-int64(time.Microsecond), after)
		}
	}
}
