package merge

// A fifo holds a buffer's deltas, oldest first. Dropping from the front
// leaves room behind the live deltas, and push moves them back to the
// start of the array before it would grow it, so a buffer that stays full
// (a peer that stays away) allocates nothing per delta; a slice sliced
// from the front would reallocate and copy the whole buffer every few
// deltas.
type fifo[E any] struct {
	arr  []E // arr[head:] are the live deltas; arr[:head] are zero
	head int
}

// live returns the deltas, oldest first, for reading in place.
func (q *fifo[E]) live() []E { return q.arr[q.head:] }

// len returns the number of deltas.
func (q *fifo[E]) len() int { return len(q.arr) - q.head }

// push appends e.
func (q *fifo[E]) push(e E) {
	if len(q.arr) == cap(q.arr) && q.head >= len(q.arr)/2 {
		n := copy(q.arr, q.arr[q.head:])
		clear(q.arr[n:])
		q.arr, q.head = q.arr[:n], 0
	}
	q.arr = append(q.arr, e)
}

// drop removes the k oldest deltas, k ≤ q.len(). Once none is left it
// lets the array go: a buffer that emptied holds no memory.
func (q *fifo[E]) drop(k int) {
	clear(q.arr[q.head : q.head+k])
	q.head += k
	if q.head == len(q.arr) {
		q.arr, q.head = nil, 0
	}
}
