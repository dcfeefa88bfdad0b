package merge

import (
	"testing"

	"github.com/converge-go/converge/hlc"
	"pgregory.net/rapid"
)

// TestShownTimes checks shownTimes against a model that keeps every
// point: before(t) is the most shown by a message sent before t.
func TestShownTimes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s shownTimes
		var all []shownPoint
		for i := rapid.IntRange(0, 60).Draw(t, "points"); i > 0; i-- {
			p := shownPoint{hlc.Timestamp(rapid.Uint64Range(0, 40).Draw(t, "at")), rapid.Uint64Range(0, 40).Draw(t, "n")}
			s = s.add(p.at, p.n)
			all = append(all, p)
			for j := 1; j < len(s); j++ {
				if s[j-1].at >= s[j].at || s[j-1].n >= s[j].n {
					t.Fatalf("points not ascending in both: %v", s)
				}
			}
			if len(s) > maxShown {
				t.Fatalf("%d points kept, want at most %d", len(s), maxShown)
			}
		}
		if len(all) > maxShown {
			return // the model keeps what the bounded list drops
		}
		for q := hlc.Timestamp(0); q <= 42; q++ {
			var want uint64
			for _, p := range all {
				if p.at < q {
					want = max(want, p.n)
				}
			}
			if got := s.before(q); got != want {
				t.Fatalf("before(%d) = %d, want %d; points %v, list %v", q, got, want, all, s)
			}
		}
	})
}
