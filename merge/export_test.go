package merge

// Incarnation returns r's incarnation number, for tests that forge
// messages in its name.
func Incarnation[T State[T]](r *Replica[T]) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inc
}
