package crdt_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/crdt/crdttest"
	"github.com/converge-go/converge/vclock"
	"pgregory.net/rapid"
)

type strList = crdt.List[string]

// listOp draws an operation on a List of short strings.
var listOp = rapid.Custom(func(t *rapid.T) crdttest.Op[*strList] {
	i := rapid.IntRange(-1, 12).Draw(t, "i")
	v := rapid.SampledFrom([]string{"a", "b", "c", "d"}).Draw(t, "v")
	switch rapid.IntRange(0, 5).Draw(t, "kind") {
	case 0:
		return crdttest.Op[*strList]{Name: fmt.Sprintf("delete %d", i), Apply: func(_ *crdttest.Replica, l *strList) *strList { return l.Delete(i) }}
	case 1:
		j := rapid.IntRange(0, 12).Draw(t, "j")
		return crdttest.Op[*strList]{Name: fmt.Sprintf("delete %d..%d", i, j), Apply: func(_ *crdttest.Replica, l *strList) *strList { return l.DeleteRange(i, j) }}
	case 2:
		return crdttest.Op[*strList]{Name: fmt.Sprintf("delete at position of %d", i), Apply: func(_ *crdttest.Replica, l *strList) *strList {
			p, _ := l.PositionAt(i)
			return l.DeleteAt(p)
		}}
	case 3:
		return crdttest.Op[*strList]{Name: fmt.Sprintf("insert %s%s%s at %d", v, v, v, i), Apply: func(r *crdttest.Replica, l *strList) *strList {
			return l.InsertAll(r.ID, i, v, v, v)
		}}
	}
	return crdttest.Op[*strList]{Name: fmt.Sprintf("insert %s at %d", v, i), Apply: func(r *crdttest.Replica, l *strList) *strList { return l.Insert(r.ID, i, v) }}
})

func TestList(t *testing.T) {
	t.Parallel()
	crdttest.Check(t, crdttest.Spec[*strList]{
		New:       func() *strList { return new(strList) },
		Op:        listOp,
		Invariant: internalOK[*strList],
	})
}

// TestListModel runs one replica against a slice.
func TestListModel(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var l crdt.List[int]
		var model []int
		var pos []crdt.Position
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			i := rapid.IntRange(-2, len(model)+2).Draw(t, "i")
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				l.Delete(i)
				if i >= 0 && i < len(model) {
					model = slices.Delete(model, i, i+1)
					pos = slices.Delete(pos, i, i+1)
				}
			case 1:
				j := rapid.IntRange(-1, len(model)+2).Draw(t, "j")
				l.DeleteRange(i, j)
				a, b := max(i, 0), min(j, len(model))
				if a < b {
					model = slices.Delete(model, a, b)
					pos = slices.Delete(pos, a, b)
				}
			default:
				l.Insert("r", i, step)
				k := max(min(i, len(model)), 0)
				model = slices.Insert(model, k, step)
				p, _ := l.PositionAt(k)
				pos = slices.Insert(pos, k, p)
			}
			if got := slices.Collect(l.Values()); !slices.Equal(got, model) {
				t.Fatalf("list %v, model %v", got, model)
			}
		}
		for i, p := range pos {
			if got, ok := l.IndexOf(p); !ok || got != i {
				t.Fatalf("IndexOf(%v) = %d, %v; want %d", p, got, ok, i)
			}
			if e, ok := l.At(i); !ok || e != model[i] {
				t.Fatalf("At(%d) = %v, %v", i, e, ok)
			}
		}
		if err := l.CheckInternal(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestListConvergence has five replicas edit concurrently and exchange
// their deltas in random order, with duplicates; each delta is also
// sent encoded and decoded.
func TestListConvergence(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		const n = 5
		reps := make([]*crdt.List[int], n)
		for i := range reps {
			reps[i] = new(crdt.List[int])
		}
		type msg struct {
			to int
			d  *crdt.List[int]
		}
		var queue []msg
		for step := range rapid.IntRange(1, 80).Draw(t, "steps") {
			if len(queue) > 0 && rapid.Bool().Draw(t, "deliver") {
				k := rapid.IntRange(0, len(queue)-1).Draw(t, "msg")
				m := queue[k]
				if !rapid.Bool().Draw(t, "duplicate") {
					queue = slices.Delete(queue, k, k+1)
				}
				if err := reps[m.to].ValidateMerge(m.d); err != nil {
					t.Fatal(err)
				}
				reps[m.to].Merge(m.d)
				continue
			}
			w := rapid.IntRange(0, n-1).Draw(t, "writer")
			l := reps[w]
			var d *crdt.List[int]
			i := rapid.IntRange(0, l.Len()).Draw(t, "i")
			if l.Len() > 0 && rapid.IntRange(0, 2).Draw(t, "op") == 0 {
				d = l.Delete(i)
			} else {
				d = l.InsertAll(vclock.ReplicaID(fmt.Sprint("r", w)), i, step, -step)
			}
			for to := range n {
				if to != w {
					queue = append(queue, msg{to, roundTrip(t, d)})
				}
			}
		}
		for _, m := range queue {
			reps[m.to].Merge(m.d)
		}
		want, _ := reps[0].MarshalBinary()
		for i, r := range reps {
			if err := r.CheckInternal(); err != nil {
				t.Fatal(err)
			}
			if !r.Equal(reps[0]) || r.String() != reps[0].String() {
				t.Fatalf("replica %d: %v, replica 0: %v", i, r, reps[0])
			}
			if got, _ := r.MarshalBinary(); !bytes.Equal(got, want) {
				t.Fatalf("replica %d encodes differently", i)
			}
		}
	})
}

func roundTrip[E any](t interface{ Fatal(...any) }, l *crdt.List[E]) *crdt.List[E] {
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out crdt.List[E]
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !out.Equal(l) {
		t.Fatal("round trip changed the list")
	}
	return &out
}

// TestListNoInterleaving checks that runs typed concurrently at one place,
// forward or backward, stay contiguous in either order of merging.
func TestListNoInterleaving(t *testing.T) {
	t.Parallel()
	type typer func(l *crdt.List[string], id vclock.ReplicaID, at int, s string) *crdt.List[string]
	forward := func(l *crdt.List[string], id vclock.ReplicaID, at int, s string) *crdt.List[string] {
		d := new(crdt.List[string])
		for k, c := range strings.Split(s, "") {
			d.Merge(l.Insert(id, at+k, c))
		}
		return d
	}
	backward := func(l *crdt.List[string], id vclock.ReplicaID, at int, s string) *crdt.List[string] {
		d := new(crdt.List[string])
		cs := strings.Split(s, "")
		for k := len(cs) - 1; k >= 0; k-- {
			d.Merge(l.Insert(id, at, cs[k]))
		}
		return d
	}
	for _, tc := range []struct {
		name   string
		ta, tb typer
	}{{"forward", forward, forward}, {"backward", backward, backward}, {"mixed", forward, backward}} {
		t.Run(tc.name, func(t *testing.T) {
			var base crdt.List[string]
			base.InsertAll("base", 0, "[", "]")
			a, b := base.Clone(), base.Clone()
			da := tc.ta(a, "alice", 1, "hello")
			db := tc.tb(b, "bob", 1, "world")
			a.Merge(db)
			b.Merge(da)
			for _, l := range []*crdt.List[string]{a, b} {
				got := strings.Join(slices.Collect(l.Values()), "")
				if got != "[helloworld]" {
					t.Errorf("merged %q, want %q", got, "[helloworld]")
				}
			}
		})
	}
}

// TestListRunsDoNotInterleave: from a random shared list, two or three
// replicas each type a run at one shared index, forward or backward, and
// exchange their deltas; in the merged list each run is contiguous.
func TestListRunsDoNotInterleave(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var base crdt.List[string]
		for i := range rapid.IntRange(0, 6).Draw(t, "base") {
			base.Insert("base", rapid.IntRange(0, i).Draw(t, "at"), "_")
		}
		at := rapid.IntRange(0, base.Len()).Draw(t, "index")
		n := rapid.IntRange(2, 3).Draw(t, "replicas")
		reps := make([]*crdt.List[string], n)
		deltas := make([]*crdt.List[string], n)
		for k := range n {
			reps[k] = base.Clone()
			id := vclock.ReplicaID(fmt.Sprint("r", rapid.IntRange(0, 9).Draw(t, "id"), k))
			deltas[k] = new(crdt.List[string])
			backward := rapid.Bool().Draw(t, "backward")
			for j := range rapid.IntRange(1, 5).Draw(t, "length") {
				i := at + j
				if backward {
					i = at
				}
				deltas[k].Merge(reps[k].Insert(id, i, fmt.Sprint(k)))
			}
		}
		all := make([]int, n)
		for k := range all {
			all[k] = k
		}
		for k := range n {
			for _, j := range rapid.Permutation(all).Draw(t, "order") {
				if j != k {
					reps[k].Merge(deltas[j])
				}
			}
		}
		got := strings.Join(slices.Collect(reps[0].Values()), "")
		for k := range n {
			c := fmt.Sprint(k)
			first, last := strings.Index(got, c), strings.LastIndex(got, c)
			if strings.Count(got[first:last+1], c) != last-first+1 {
				t.Fatalf("run of replica %d interleaved: %q", k, got)
			}
			if s := strings.Join(slices.Collect(reps[k].Values()), ""); s != got {
				t.Fatalf("replicas differ: %q and %q", s, got)
			}
		}
	})
}

// TestListOutOfOrder delivers a run's deltas in reverse, and deletions
// before the elements they delete.
func TestListOutOfOrder(t *testing.T) {
	var src crdt.List[rune]
	var ds []*crdt.List[rune]
	for k, c := range "abcdef" {
		ds = append(ds, src.Insert("w", k, c))
	}
	ds = append(ds, src.Delete(2))
	var dst crdt.List[rune]
	for _, d := range slices.Backward(ds) {
		dst.Merge(d)
		if err := dst.CheckInternal(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := string(slices.Collect(dst.Values())), "abdef"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !dst.Equal(&src) {
		t.Fatal("not equal to the source")
	}
}

func TestListIndexErrors(t *testing.T) {
	var l crdt.List[string]
	l.Append("w", "a", "b", "c")
	l.Insert("w", -5, "front")
	l.Insert("w", 99, "back")
	if got := l.String(); got != "[front a b c back]" {
		t.Fatalf("got %s", got)
	}
	if d := l.Delete(5); d.Len() != 0 || d.Edits() != 0 || l.Len() != 5 {
		t.Fatal("Delete out of range changed the list")
	}
	if _, ok := l.At(-1); ok {
		t.Fatal("At(-1) ok")
	}
	if _, ok := l.PositionAt(5); ok {
		t.Fatal("PositionAt(5) ok")
	}
	p, _ := l.PositionAt(2)
	l.Delete(2)
	if i, ok := l.IndexOf(p); ok || i != 2 {
		t.Fatalf("IndexOf of a deleted element = %d, %v", i, ok)
	}
	if i, ok := l.IndexOf(crdt.Position{Replica: "nobody", Counter: 1}); ok || i != -1 {
		t.Fatalf("IndexOf of an unknown position = %d, %v", i, ok)
	}
}

func TestListUnmarshalRefuses(t *testing.T) {
	var l crdt.List[string]
	l.Append("w", "a", "b")
	l.Delete(0)
	good, _ := l.MarshalBinary()
	for n := range len(good) {
		var out crdt.List[string]
		if err := out.UnmarshalBinary(good[:n]); !errors.Is(err, crdt.ErrMalformed) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// A run of 2^40 deleted elements is refused by the element budget.
	huge := []byte{0x95, 0x01, 0x1e, 0x91, 0xa1, 'w', 0x94, 0x00, 0x01, 0x01, 0xcf, 0, 0, 1, 0, 0, 0, 0, 0, 0x95, 0x00, 0x00, 0x01, 0xc0, 0xc0}
	var out crdt.List[string]
	if err := out.UnmarshalBinary(huge); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("huge deletion: %v", err)
	}
}

func FuzzListUnmarshalBinary(f *testing.F) {
	var l crdt.List[string]
	f.Add(mustMarshal(f, l.Insert("us", 0, "a")))
	f.Add(mustMarshal(f, l.InsertAll("eu", 1, "b", "c")))
	f.Add(mustMarshal(f, l.Delete(1)))
	f.Add(mustMarshal(f, &l))
	opts := crdt.DecodeOptions{MaxElements: 4096}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got crdt.List[string]
		if err := opts.Unmarshal(in, &got); err != nil {
			if !errors.Is(err, crdt.ErrMalformed) && !errors.Is(err, crdt.ErrUnsupported) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := got.CheckInternal(); err != nil {
			t.Fatal(err)
		}
		out, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("accepted non-canonical input %x, canonical %x", in, out)
		}
	})
}

// The automerge-paper editing trace (testdata/automerge-paper.json.gz,
// from josephg/editing-traces, by Martin Kleppmann).
type editTrace struct {
	EndContent string `json:"endContent"`
	Txns       []struct {
		Patches [][3]json.RawMessage `json:"patches"`
	} `json:"txns"`
}

type edit struct {
	pos, del int
	ins      []rune
}

type loadedTrace struct {
	edits []edit
	end   string
}

var loadTrace = sync.OnceValues(func() (loadedTrace, error) {
	es, end, err := readTrace(filepath.Join("testdata", "automerge-paper.json.gz"))
	return loadedTrace{es, end}, err
})

func readTrace(path string) ([]edit, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", err
	}
	var tr editTrace
	if err := json.NewDecoder(z).Decode(&tr); err != nil {
		return nil, "", err
	}
	var es []edit
	for _, txn := range tr.Txns {
		for _, p := range txn.Patches {
			var e edit
			var s string
			if err := errors.Join(json.Unmarshal(p[0], &e.pos), json.Unmarshal(p[1], &e.del), json.Unmarshal(p[2], &s)); err != nil {
				return nil, "", err
			}
			e.ins = []rune(s)
			es = append(es, e)
		}
	}
	return es, tr.EndContent, nil
}

func traceOrSkip(tb testing.TB) ([]edit, string) {
	tb.Helper()
	tr, err := loadTrace()
	if err != nil {
		tb.Skipf("editing trace unavailable: %v", err)
	}
	return tr.edits, tr.end
}

// replay applies the trace to an empty List[rune] as one replica.
func replay(es []edit) *crdt.List[rune] {
	l := new(crdt.List[rune])
	for _, e := range es {
		if e.del > 0 {
			l.DeleteRange(e.pos, e.pos+e.del)
		}
		if len(e.ins) == 1 {
			l.Insert("paper", e.pos, e.ins[0])
		} else if len(e.ins) > 1 {
			l.InsertAll("paper", e.pos, e.ins...)
		}
	}
	return l
}

func TestListTrace(t *testing.T) {
	es, end := traceOrSkip(t)
	l := replay(es)
	if got := string(slices.Collect(l.Values())); got != end {
		t.Fatalf("replayed text differs from endContent: %d runes, want %d", len([]rune(got)), len([]rune(end)))
	}
	if err := l.CheckInternal(); err != nil {
		t.Fatal(err)
	}
	back := roundTrip(t, l)
	if got := string(slices.Collect(back.Values())); got != end {
		t.Fatal("decoded text differs from endContent")
	}
	// Every delta merged, in order, into another replica gives the same
	// list: the remote path places each element by the FugueMax scan.
	remote := new(crdt.List[rune])
	src := new(crdt.List[rune])
	for _, e := range es {
		if e.del > 0 {
			remote.Merge(src.DeleteRange(e.pos, e.pos+e.del))
		}
		if len(e.ins) > 0 {
			remote.Merge(src.InsertAll("paper", e.pos, e.ins...))
		}
	}
	if !remote.Equal(l) || string(slices.Collect(remote.Values())) != end {
		t.Fatal("the replica fed the deltas differs")
	}
	b, _ := l.MarshalBinary()
	t.Logf("%d edits, %d bytes of text, encoded in %d bytes (%.2fx), %d runs", len(es), len(end), len(b), float64(len(b))/float64(len(end)), l.Runs())
	if len(b) > 4*len(end) {
		t.Errorf("encoded in %d bytes, more than 4 times the text", len(b))
	}
}

// TestListRefusesNonCanonical holds the decoder to each rule of the
// encoding, one rule broken per input.
func TestListRefusesNonCanonical(t *testing.T) {
	const head = "95011e"
	const a = "91a161" // replicas: ["a"]
	const ab = "92a161a162"
	valid := head + a + "90" + "9700" + "0002c0c0a178a179"
	var l crdt.List[string]
	if err := l.UnmarshalBinary(mustHex(t, valid)); err != nil || l.String() != "[x y]" {
		t.Fatalf("the valid base: %v, %v", err, &l)
	}
	for name, in := range map[string]string{
		"replicas out of order":         head + "92a162a161" + "90" + "9700" + "0002c0c0a178a179",
		"replica not used":              head + ab + "90" + "9700" + "0002c0c0a178a179",
		"run not maximal":               head + a + "90" + "9c" + "000001c0c0a178" + "00000101c0a179",
		"run of length 0":               head + a + "90" + "96" + "000000c0c0a178",
		"deletion ranges adjacent":      head + a + "9600020101" + "0001" + "95000002c0c0",
		"deletion gap 0 at first":       head + a + "94000100" + "01" + "95000002c0c0",
		"own origin as [p, counter]":    head + a + "90" + "9c" + "000001c0c0a178" + "0000019200" + "01c0a179",
		"origin before counter 1":       head + a + "90" + "96" + "00000101c0a179",
		"origins one element":           head + a + "90" + "9c" + "000001c0c0a178" + "00010101" + "01a179",
		"right origin before left":      head + ab + "90" + "9d" + "000002c0c0a178a179" + "0100019200029200" + "01a17a",
		"fewer values than elements":    head + a + "90" + "96" + "000002c0c0a178",
		"more values than elements":     head + a + "90" + "98" + "000002c0c0a178a179a17a",
		"replica position past the end": head + a + "90" + "97" + "010002c0c0a178a179",
		"runs out of replica order":     head + ab + "90" + "9c" + "010001c0c0a178" + "000001c0c0a179",
		"runs overlapping":              head + a + "90" + "9c" + "000002c0c0a178a179" + "00ff01c0c0",
	} {
		var out crdt.List[string]
		err := out.UnmarshalBinary(mustHex(t, in))
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, crdt.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
