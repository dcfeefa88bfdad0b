package crdt

import "fmt"

// Validation. One dot is one event of one replica, so in two states of
// correct replicas it carries the same data wherever both hold it, and a
// state that has seen a dot and no longer holds it removed it. The rule a
// checker enforces follows: every dot o holds that m has seen must be held
// by m in the same place (key, element, tag) with the same data — or by m
// nowhere. The rule covers the whole root, so a dot reused under another
// key of an ORMap, or for another element of a set, is found wherever it
// sits; applied to o's dots only, it also covers m's (a dot both hold is
// one m has seen).
//
// The check costs O(o) lookups in m. Only dots that break the first half
// of the rule — usually none; a stale delta's dots that m has since
// removed — cost more: one pass over m's dots, whatever their number,
// which allocates nothing beyond the set of those dots. Nothing is kept
// once the check returns.

// A checker holds what validating o against m, two roots, needs: their
// contexts, o's replica numbering in m's, and the dots o holds that m has
// seen but does not hold alike (suspects).
type checker struct {
	m, o     *dotCtx
	tr       []uint32 // o index → m index, ^0 if m lacks the replica
	suspects map[dot]struct{}
}

func newChecker(m, o *dotCtx) *checker {
	return &checker{m: m, o: o, tr: idMap(o, m)}
}

// seen converts d, a dot of o, to m's numbering and reports whether m has
// seen it.
func (c *checker) seen(d dot) (dot, bool) {
	if int(d.r) >= len(c.tr) || c.tr[d.r] == ^uint32(0) {
		return dot{}, false
	}
	md := dot{c.tr[d.r], d.c}
	return md, c.m.has(md)
}

// differs records that o holds md (m's numbering), which m has seen,
// where or as m does not.
func (c *checker) differs(md dot) {
	if c.suspects == nil {
		c.suspects = make(map[dot]struct{})
	}
	c.suspects[md] = struct{}{}
}

// verdict returns a *ValidationError if m holds a suspect dot: then the
// dot carries different data in the two states. dots calls its argument
// for every dot m holds.
func (c *checker) verdict(typ string, dots func(yield func(dot))) error {
	if len(c.suspects) == 0 {
		return nil
	}
	var bad dot
	found := false
	dots(func(d dot) {
		if _, ok := c.suspects[d]; ok && !found {
			bad, found = d, true
		}
	})
	if !found {
		return nil
	}
	return &ValidationError{Type: typ, Reason: fmt.Sprintf("dot %s:%d carries different data in the two states", c.m.ids[bad.r], bad.c), Writer: c.m.ids[bad.r], Counter: bad.c}
}

// validateRoot checks o against m, two roots with contexts mc and oc:
// check records the suspects, dots lists m's dots.
func validateRoot(typ string, mc, oc *dotCtx, check func(*checker), dots func(yield func(dot))) error {
	if mc == nil || oc == nil {
		return nil // one side has seen nothing: nothing to contradict
	}
	c := newChecker(mc, oc)
	check(c)
	return c.verdict(typ, dots)
}
