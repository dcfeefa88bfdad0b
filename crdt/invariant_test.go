package crdt

import (
	"fmt"
	"testing"

	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

// checkBookkeeping verifies the bookkeeping a dotMap keeps beside its state: the
// removal and live counts, that every stored dot is in the context, that
// the context is compact, and that gone is disjoint from the store and used
// only by deltas.
func (m *dotMap[E]) checkBookkeeping() error {
	if m.ctx == nil {
		if m.st.len() > 0 || m.nrm != 0 {
			return fmt.Errorf("a store without a context")
		}
		return nil
	}
	if m.st.t != nil {
		if err := m.st.t.check(hashOf[E]); err != nil {
			return err
		}
	}
	live := make([]uint64, len(m.ctx.ent))
	nrm := 0
	var err error
	m.st.all(func(e E, v uint64) bool {
		ds := m.st.expand(e, v, true, nil)
		if len(ds) == 0 || (v == 0) != (len(m.st.extra[e]) > 0) {
			err = fmt.Errorf("element %v: packed %x with extra %v", e, v, m.st.extra[e])
			return false
		}
		for i, d := range ds {
			if i > 0 && (ds[i-1].r > d.r || ds[i-1].r == d.r && ds[i-1].c >= d.c) {
				err = fmt.Errorf("element %v: dots %v not sorted by (replica, counter)", e, ds)
				return false
			}
			live[d.r]++
			if !m.ctx.has(d.dot) {
				err = fmt.Errorf("element %v: dot %d:%d not in the context", e, d.r, d.c)
				return false
			}
		}
		if hasRm(ds) {
			nrm++
		}
		if _, ok := m.gone[e]; ok {
			err = fmt.Errorf("element %v both stored and gone", e)
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if nrm != m.nrm {
		return fmt.Errorf("nrm %d, recount %d", m.nrm, nrm)
	}
	for i := range m.ctx.ent {
		e := &m.ctx.ent[i]
		if e.live != live[i] {
			return fmt.Errorf("replica %s: live %d, recount %d", m.ctx.ids[i], e.live, live[i])
		}
		if len(e.cloud) > 0 && e.cloud[0] <= e.top+1 {
			return fmt.Errorf("replica %s: context not compact", m.ctx.ids[i])
		}
	}
	if len(m.gone) > 0 && !m.partial {
		return fmt.Errorf("a full state has gone elements")
	}
	if len(m.st.extra) > 0 && m.st.len() < len(m.st.extra) {
		return fmt.Errorf("extra outlives its elements")
	}
	return nil
}

// TestDecodedBookkeeping decodes sets large enough to take the decoder's
// map path (more than smallStore elements, some with several dots, some
// removal-tagged) and checks the counts it rebuilds.
func TestDecodedBookkeeping(t *testing.T) {
	ids := []vclock.ReplicaID{"us-east", "eu-west", "ap-south"}
	rapid.Check(t, func(t *rapid.T) {
		reps := make([]RWSet[int], len(ids))
		n := rapid.IntRange(0, 300).Draw(t, "ops")
		for range n {
			i := rapid.IntRange(0, len(ids)-1).Draw(t, "replica")
			e := rapid.IntRange(0, 99).Draw(t, "elem")
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0:
				reps[i].Merge(&reps[rapid.IntRange(0, len(ids)-1).Draw(t, "from")])
			case 1, 2:
				reps[i].Remove(ids[i], e)
			case 3:
				var d RWSet[int]
				reps[i].m.forget(e, &d.m)
			default:
				reps[i].Add(ids[i], e)
			}
		}
		for i := range reps {
			reps[0].Merge(&reps[i])
		}
		for _, s := range []*RWSet[int]{&reps[0], &reps[1]} {
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back RWSet[int]
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if err := back.m.checkBookkeeping(); err != nil {
				t.Fatalf("decoded: %v", err)
			}
			if !back.Equal(s) || back.Len() != s.Len() {
				t.Fatalf("decoded state differs: Len %d, want %d", back.Len(), s.Len())
			}
		}
	})
}

// TestDeltaGroupBookkeeping: a delta that removed an element and then
// learns of a new add of it — merged in, or written into the delta itself
// — holds the element and no longer lists it as removed.
func TestDeltaGroupBookkeeping(t *testing.T) {
	var s ORSet[string]
	s.Add("us-east", "x")
	group := s.Remove("x")
	group.Merge(s.Add("eu-west", "x"))
	if err := group.m.checkBookkeeping(); err != nil {
		t.Fatalf("delta group: %v", err)
	}
	if !group.Contains("x") {
		t.Fatal("delta group lost the later add")
	}

	s.Add("us-east", "y")
	d := s.Remove("y")
	d.Add("ap-south", "y")
	if err := d.m.checkBookkeeping(); err != nil {
		t.Fatalf("delta written to: %v", err)
	}
	var fresh ORSet[string]
	fresh.Merge(d)
	if !fresh.Contains("y") || fresh.Len() != 1 {
		t.Fatalf("merging the delta gives %v, want [y]", fresh.String())
	}
}
