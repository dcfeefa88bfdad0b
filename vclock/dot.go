package vclock

import (
	"cmp"
	"strconv"
)

// A Dot names one event: the Counter-th event of Replica. Counters start at
// 1; a Dot with Counter 0 names no event.
type Dot struct {
	Replica ReplicaID
	Counter uint64
}

// Compare orders dots by Replica, then by Counter; it returns -1, 0 or +1.
func (d Dot) Compare(o Dot) int {
	if c := cmp.Compare(d.Replica, o.Replica); c != 0 {
		return c
	}
	return cmp.Compare(d.Counter, o.Counter)
}

// String formats d as replica:counter.
func (d Dot) String() string {
	return string(d.Replica) + ":" + strconv.FormatUint(d.Counter, 10)
}
