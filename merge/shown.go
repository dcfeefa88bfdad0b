package merge

import (
	"slices"

	"github.com/converge-go/converge/hlc"
)

// What a writer's replica has shown. A payload relayed by one peer may
// claim a writer's events only if the writer's own replica had shown
// them in a message sent before the relay was: an honest relayer received
// them before it sent, and hybrid logical clocks order the two sends. A
// forged claim of events the writer had not issued yet can only pass
// once the writer has issued them with a clock reading below the
// forger's, that is within the clock skew the max offset allows.

// A shownPoint says that the writer's replica sent, at time at, a
// message whose payload claims n events of the writer; at 0 stands for
// this replica's own word (a state it restored, a delta it wrote).
type shownPoint struct {
	at hlc.Timestamp
	n  uint64
}

// maxShown bounds the points kept per writer. Dropping the oldest only
// makes a relay that old wait for its sender's retransmission.
const maxShown = 32

// shownTimes is a writer's points, ascending in both at and n: each is
// the most the writer had shown by its time.
type shownTimes []shownPoint

// add records that the writer showed n events at time at.
func (s shownTimes) add(at hlc.Timestamp, n uint64) shownTimes {
	i, _ := slices.BinarySearchFunc(s, at, func(p shownPoint, t hlc.Timestamp) int { return cmpU(uint64(p.at), uint64(t)) })
	if i > 0 && s[i-1].n >= n || i < len(s) && s[i].at == at && s[i].n >= n {
		return s // an earlier (or equal) point already shows as much
	}
	// Later points showing no more are superseded.
	j := i
	for j < len(s) && s[j].n <= n {
		j++
	}
	s = slices.Replace(s, i, j, shownPoint{at, n})
	if len(s) > maxShown {
		s = slices.Delete(s, 0, len(s)-maxShown)
	}
	return s
}

// before returns the most events the writer had shown in messages sent
// before t.
func (s shownTimes) before(t hlc.Timestamp) uint64 {
	i, _ := slices.BinarySearchFunc(s, t, func(p shownPoint, t hlc.Timestamp) int { return cmpU(uint64(p.at), uint64(t)) })
	if i == 0 {
		return 0
	}
	return s[i-1].n
}
