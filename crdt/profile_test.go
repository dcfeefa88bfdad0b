package crdt_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/vclock"
	"github.com/vmihailenco/msgpack/v5"
	"pgregory.net/rapid"
)

// A userProfile as an application builds one from converge's types: name and
// email as last-writer-wins registers in an ORMap of fields, tags as an
// ORSet, visits as a causal counter. Its deltas set one part; Merge,
// Clone, Equal and the encoding compose the parts'.
type userProfile struct {
	fields crdt.ORMap[string, *crdt.LWWRegister[string]]
	tags   crdt.ORSet[string]
	visits crdt.CCounter
}

func (p *userProfile) setField(r *crdttest.Replica, k, v string) *userProfile {
	return &userProfile{fields: *p.fields.Update(k, func(reg *crdt.LWWRegister[string]) *crdt.LWWRegister[string] {
		return reg.Set(r.ID, v, r.Clock.Now())
	})}
}

func (p *userProfile) Merge(o *userProfile) {
	p.fields.Merge(&o.fields)
	p.tags.Merge(&o.tags)
	p.visits.Merge(&o.visits)
}

func (p *userProfile) Clone() *userProfile {
	return &userProfile{fields: *p.fields.Clone(), tags: *p.tags.Clone(), visits: *p.visits.Clone()}
}

func (p *userProfile) Equal(o *userProfile) bool {
	return p.fields.Equal(&o.fields) && p.tags.Equal(&o.tags) && p.visits.Equal(&o.visits)
}

// ValidateMerge validates each part against the other's.
func (p *userProfile) ValidateMerge(o *userProfile) error {
	if err := p.fields.ValidateMerge(&o.fields); err != nil {
		return err
	}
	if err := p.tags.ValidateMerge(&o.tags); err != nil {
		return err
	}
	return p.visits.ValidateMerge(&o.visits)
}

func (p *userProfile) AppendBinary(b []byte) ([]byte, error) {
	m, err := p.MarshalBinary()
	return append(b, m...), err
}

func (p *userProfile) MarshalBinary() ([]byte, error) {
	f, _ := p.fields.MarshalBinary()
	t, _ := p.tags.MarshalBinary()
	v, _ := p.visits.MarshalBinary()
	return msgpack.Marshal([][]byte{f, t, v})
}

func (p *userProfile) UnmarshalBinary(b []byte) error {
	var parts [][]byte
	if err := msgpack.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 3 {
		return errors.New("profile: want 3 parts")
	}
	var q userProfile
	if err := errors.Join(q.fields.UnmarshalBinary(parts[0]), q.tags.UnmarshalBinary(parts[1]), q.visits.UnmarshalBinary(parts[2])); err != nil {
		return err
	}
	*p = q
	return nil
}

func (p *userProfile) field(k string) string {
	reg, ok := p.fields.Get(k)
	if !ok {
		return "(none)"
	}
	v, _ := reg.Get()
	return v
}

// TestProfileConverges plays random userProfile edits, removals of fields
// included, over 3 replicas with clocks skewed by up to ±500 ms.
func TestProfileConverges(t *testing.T) {
	crdttest.CheckConvergence(t, crdttest.Spec[*userProfile]{
		New:  func() *userProfile { return new(userProfile) },
		Skew: 500 * time.Millisecond,
		Op: rapid.Custom(func(t *rapid.T) crdttest.Op[*userProfile] {
			field := rapid.SampledFrom([]string{"name", "email"}).Draw(t, "field")
			val := rapid.SampledFrom([]string{"Ada", "ada@example.org", "Grace"}).Draw(t, "val")
			tag := rapid.SampledFrom([]string{"vip", "beta"}).Draw(t, "tag")
			switch rapid.IntRange(0, 5).Draw(t, "kind") {
			case 0:
				return crdttest.Op[*userProfile]{Name: "remove " + field, Apply: func(r *crdttest.Replica, p *userProfile) *userProfile {
					return &userProfile{fields: *p.fields.Remove(field)}
				}}
			case 1:
				return crdttest.Op[*userProfile]{Name: "tag " + tag, Apply: func(r *crdttest.Replica, p *userProfile) *userProfile {
					return &userProfile{tags: *p.tags.Add(r.ID, tag)}
				}}
			case 2:
				return crdttest.Op[*userProfile]{Name: "untag " + tag, Apply: func(r *crdttest.Replica, p *userProfile) *userProfile {
					return &userProfile{tags: *p.tags.Remove(tag)}
				}}
			case 3:
				return crdttest.Op[*userProfile]{Name: "visit", Apply: func(r *crdttest.Replica, p *userProfile) *userProfile {
					return &userProfile{visits: *p.visits.Inc(r.ID, 1)}
				}}
			}
			return crdttest.Op[*userProfile]{Name: "set " + field + " " + val, Apply: func(r *crdttest.Replica, p *userProfile) *userProfile {
				return p.setField(r, field, val)
			}}
		}),
	})
}

// TestProfileScenario: three regions, EU's clock 50 ms ahead, AP's 30 ms
// behind; a concurrent remove-and-update of one field; concurrent tags and
// visits. The result is what the documentation says.
func TestProfileScenario(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano()
	mk := func(id vclock.ReplicaID, skew time.Duration) *crdttest.Replica {
		return &crdttest.Replica{ID: id, Clock: hlc.New(hlc.WithPhysicalClock(func() int64 { return now + int64(skew) }))}
	}
	us, eu, ap := mk("us-east", 0), mk("eu-west", 50*time.Millisecond), mk("ap-south", -30*time.Millisecond)
	var pus, peu, pap userProfile
	send := func(from *crdttest.Replica, d *userProfile, to ...*userProfile) {
		ts := from.Clock.Now()
		for _, p := range to {
			p.Merge(d)
		}
		// Receivers take the sender's clock in, as a transport does.
		for _, r := range []*crdttest.Replica{us, eu, ap} {
			if r != from {
				if _, err := r.Clock.Update(ts); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	// US creates the userProfile; everyone receives it.
	send(us, pus.setField(us, "name", "Ada"), &peu, &pap)
	send(us, pus.setField(us, "email", "ada@old.example"), &peu, &pap)
	now += int64(10 * time.Millisecond)

	// Concurrently: EU removes the email field; AP updates it; US renames
	// 5 ms (true time) after EU, whose clock is 50 ms ahead, renames too.
	rmEmail := &userProfile{fields: *peu.fields.Remove("email")}
	newEmail := pap.setField(ap, "email", "ada@new.example")
	euName := peu.setField(eu, "name", "Ada L.")
	now += int64(5 * time.Millisecond)
	usName := pus.setField(us, "name", "Ada Lovelace")
	tagUS := &userProfile{tags: *pus.tags.Add(us.ID, "vip")}
	tagEU := &userProfile{tags: *peu.tags.Add(eu.ID, "beta")}
	var visits []*userProfile
	for _, r := range []*crdttest.Replica{us, eu, ap} {
		p := map[*crdttest.Replica]*userProfile{us: &pus, eu: &peu, ap: &pap}[r]
		visits = append(visits, &userProfile{visits: *p.visits.Inc(r.ID, 2)})
	}
	for _, d := range append([]*userProfile{rmEmail, newEmail, euName, usName, tagUS, tagEU}, visits...) {
		for _, p := range []*userProfile{&pus, &peu, &pap} {
			p.Merge(d)
		}
	}

	for _, p := range []*userProfile{&peu, &pap} {
		if !p.Equal(&pus) {
			t.Fatalf("replicas differ: %v vs %v", p.fields.String(), pus.fields.String())
		}
	}
	// The update concurrent with the removal survives (add-wins keys).
	if got := pus.field("email"); got != "ada@new.example" {
		t.Errorf("email = %q, want the concurrent update ada@new.example", got)
	}
	// Concurrent renames: the larger hybrid timestamp wins. EU's clock is
	// 50 ms ahead, so its rename wins although US wrote 5 ms later: the
	// cost of skew for concurrent writes, which LWW cannot avoid.
	if got := pus.field("name"); got != "Ada L." {
		t.Errorf("name = %q, want Ada L. (EU's clock runs ahead)", got)
	}
	// A rename made after receiving the others always wins, whatever the
	// skew: AP's clock is 30 ms behind.
	send(ap, pap.setField(ap, "name", "Countess of Lovelace"), &pus, &peu)
	for _, p := range []*userProfile{&pus, &peu, &pap} {
		if got := p.field("name"); got != "Countess of Lovelace" {
			t.Errorf("after a causally later rename, name = %q", got)
		}
	}
	if got := fmt.Sprint(pus.tags.String()); got != "{vip beta}" {
		t.Errorf("tags = %s, want {vip beta}", got)
	}
	if got := pus.visits.Value(); got != 6 {
		t.Errorf("visits = %d, want 6", got)
	}
}
