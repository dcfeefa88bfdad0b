package vv

import (
	"slices"
	"testing"
)

func TestUnionSorted(t *testing.T) {
	for _, tt := range []struct{ a, b, want []uint64 }{
		{nil, nil, []uint64{}},
		{[]uint64{1, 3}, nil, []uint64{1, 3}},
		{nil, []uint64{2}, []uint64{2}},
		{[]uint64{1, 3, 5}, []uint64{2, 3, 6}, []uint64{1, 2, 3, 5, 6}},
	} {
		if got := UnionSorted(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("UnionSorted(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	a := []uint64{1, 4}
	u := UnionSorted(a, []uint64{2})
	u[0] = 9
	if a[0] != 1 {
		t.Error("UnionSorted aliased its argument")
	}
}

func TestAddSaturates(t *testing.T) {
	var v Vector[string]
	if n, sat := v.Add("a", 0); n != 0 || sat || len(v) != 0 {
		t.Fatalf("Add of 0 to a missing id = %d, %v, len %d; want 0, false, 0", n, sat, len(v))
	}
	v.Add("a", ^uint64(0)-1)
	if n, sat := v.Add("a", 5); n != ^uint64(0) || !sat {
		t.Fatalf("Add past the end = %d, %v; want max, true", n, sat)
	}
}
