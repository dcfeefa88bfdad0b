package natsync

import "github.com/converge-go/converge/crdt"

// SetDrop makes t lose every message it would publish on a subject for
// which drop returns true, as a lossy network would; nil stops the loss.
func SetDrop[T crdt.State[T]](t *Transport[T], drop func(subject string) bool) {
	if drop == nil {
		t.drop.Store(nil)
		return
	}
	t.drop.Store(&drop)
}
