package crdt

// The order of a List's elements, tombstones included, is kept in a B+
// tree of item indices with subtree counts: seq. Leaves hold up to
// leafCap slots; a slot is an item index, or its complement (^x, negative)
// when the item is deleted, so that counting visible elements never reads
// the items. Each item points at its leaf, so the position of an item is
// a scan of one leaf plus a walk up the tree: O(log n) either way.

const (
	leafCap = 64
	nodeCap = 32
)

// An lnode is a node of the tree: a leaf (kids nil) or an inner node.
type lnode struct {
	parent *lnode
	kids   []*lnode // inner nodes
	slots  []int32  // leaves
	next   *lnode   // the next leaf
	tot    int      // slots below, tombstones included
	vis    int      // visible slots below
}

// A seq is the tree; the zero seq is empty. It keeps no pointer to its
// first leaf, which all finds in a descent: every List, every delta
// included, is a word smaller for it.
type seq struct {
	root *lnode
}

func slotItem(s int32) int32 {
	if s < 0 {
		return ^s
	}
	return s
}

func (q *seq) total() int {
	if q.root == nil {
		return 0
	}
	return q.root.tot
}

func (q *seq) visible() int {
	if q.root == nil {
		return 0
	}
	return q.root.vis
}

// atTotal returns the leaf and offset of the slot at total index t, or of
// the end (the last leaf and its length) for t == total.
func (q *seq) atTotal(t int) (*lnode, int) {
	n := q.root
	for n.kids != nil {
		k := 0
		for ; k < len(n.kids)-1 && t >= n.kids[k].tot; k++ {
			t -= n.kids[k].tot
		}
		n = n.kids[k]
	}
	return n, t
}

// atVisible returns the leaf and offset of the i-th visible slot, with
// the total index of that slot; i must be below q.visible().
func (q *seq) atVisible(i int) (*lnode, int, int) {
	n, tot := q.root, 0
	for n.kids != nil {
		k := 0
		for ; k < len(n.kids)-1 && i >= n.kids[k].vis; k++ {
			i -= n.kids[k].vis
			tot += n.kids[k].tot
		}
		n = n.kids[k]
	}
	for off, s := range n.slots {
		if s >= 0 {
			if i == 0 {
				return n, off, tot + off
			}
			i--
		}
	}
	return n, len(n.slots), tot + len(n.slots) // unreachable with correct counts
}

// index returns the total and visible indices of item x in leaf n.
func index(n *lnode, x int32) (tot, vis int) {
	for _, s := range n.slots {
		if s == x || s == ^x {
			break
		}
		tot++
		if s >= 0 {
			vis++
		}
	}
	for n.parent != nil {
		p := n.parent
		for _, k := range p.kids {
			if k == n {
				break
			}
			tot += k.tot
			vis += k.vis
		}
		n = p
	}
	return tot, vis
}

// insert puts slot s at offset off of leaf n and returns the leaves that
// now hold moved slots (n's new sibling after a split, or nil), so that
// the caller can update the items' leaf pointers.
func (q *seq) insert(n *lnode, off int, s int32) *lnode {
	n.slots = append(n.slots, 0)
	copy(n.slots[off+1:], n.slots[off:])
	n.slots[off] = s
	for p := n; p != nil; p = p.parent {
		p.tot++
		if s >= 0 {
			p.vis++
		}
	}
	if len(n.slots) < leafCap {
		return nil
	}
	return q.splitLeaf(n)
}

// splitLeaf moves the upper half of n's slots to a new leaf after it.
func (q *seq) splitLeaf(n *lnode) *lnode {
	h := len(n.slots) / 2
	m := &lnode{slots: make([]int32, len(n.slots)-h, leafCap), next: n.next}
	copy(m.slots, n.slots[h:])
	n.slots = n.slots[:h]
	n.next = m
	for _, s := range m.slots {
		m.tot++
		if s >= 0 {
			m.vis++
		}
	}
	n.tot -= m.tot
	n.vis -= m.vis
	q.addSibling(n, m)
	return m
}

// addSibling links m, holding slots split off n, after n in n's parent,
// splitting inner nodes upward as they fill.
func (q *seq) addSibling(n, m *lnode) {
	p := n.parent
	if p == nil {
		p = &lnode{kids: make([]*lnode, 1, nodeCap), tot: n.tot + m.tot, vis: n.vis + m.vis}
		p.kids[0] = n
		n.parent = p
		q.root = p
	}
	k := 0
	for p.kids[k] != n {
		k++
	}
	p.kids = append(p.kids, nil)
	copy(p.kids[k+2:], p.kids[k+1:])
	p.kids[k+1] = m
	m.parent = p
	if len(p.kids) < nodeCap {
		return
	}
	h := len(p.kids) / 2
	r := &lnode{kids: make([]*lnode, len(p.kids)-h, nodeCap)}
	copy(r.kids, p.kids[h:])
	clear(p.kids[h:])
	p.kids = p.kids[:h]
	for _, c := range r.kids {
		c.parent = r
		r.tot += c.tot
		r.vis += c.vis
	}
	p.tot -= r.tot
	p.vis -= r.vis
	q.addSibling(p, r)
}

// hide marks the slot of item x in leaf n deleted.
func hide(n *lnode, x int32) {
	for i, s := range n.slots {
		if s == x {
			n.slots[i] = ^x
			for p := n; p != nil; p = p.parent {
				p.vis--
			}
			return
		}
	}
}

// build returns a tree over slots, in order, with leaves three quarters
// full, and calls leaf for every slot with the leaf that holds it.
func build(slots []int32, leaf func(s int32, n *lnode)) seq {
	var q seq
	if len(slots) == 0 {
		return q
	}
	const fill = leafCap * 3 / 4
	var level []*lnode
	var prev *lnode
	for i := 0; i < len(slots); i += fill {
		j := min(i+fill, len(slots))
		n := &lnode{slots: make([]int32, j-i, leafCap)}
		copy(n.slots, slots[i:j])
		for _, s := range n.slots {
			n.tot++
			if s >= 0 {
				n.vis++
			}
			leaf(s, n)
		}
		if prev != nil {
			prev.next = n
		}
		prev = n
		level = append(level, n)
	}
	for len(level) > 1 {
		level = buildLevel(level)
	}
	q.root = level[0]
	return q
}

// buildLevel returns the inner nodes over one level of the tree.
func buildLevel(level []*lnode) []*lnode {
	const fill = nodeCap * 3 / 4
	var up []*lnode
	for i := 0; i < len(level); i += fill {
		j := min(i+fill, len(level))
		p := &lnode{kids: make([]*lnode, j-i, nodeCap)}
		copy(p.kids, level[i:j])
		for _, c := range p.kids {
			c.parent = p
			p.tot += c.tot
			p.vis += c.vis
		}
		up = append(up, p)
	}
	return up
}

// ensure gives an empty tree its first leaf. Its slots grow as a slice
// does, so that a short list, such as one of many in an ORMap, does not
// pay for a full leaf; the leaves splits make are allocated whole.
func (q *seq) ensure() {
	if q.root == nil {
		q.root = &lnode{}
	}
}

// all yields every slot in order.
func (q *seq) all(yield func(s int32) bool) {
	n := q.root
	for n != nil && n.kids != nil {
		n = n.kids[0]
	}
	for ; n != nil; n = n.next {
		for _, s := range n.slots {
			if !yield(s) {
				return
			}
		}
	}
}
