package merge

import "github.com/converge-go/converge/crdt"

// Incarnation returns r's incarnation number, for tests that forge
// messages in its name.
func Incarnation[T crdt.State[T]](r *Replica[T]) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inc
}

// WriterOf is writerOf, for the test that pins docs/wire-format.md's
// example.
var WriterOf = writerOf
