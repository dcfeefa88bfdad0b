package natsync

// SetDrop makes t lose every message it would publish on a subject for
// which drop returns true, as a lossy network would; nil stops the loss.
func SetDrop(t *Transport, drop func(subject string) bool) {
	if drop == nil {
		t.drop.Store(nil)
		return
	}
	t.drop.Store(&drop)
}

// SetDuplicate makes t publish twice every message on a subject for which
// dup returns true, as a network that redelivers would; nil stops it.
func SetDuplicate(t *Transport, dup func(subject string) bool) {
	if dup == nil {
		t.dup.Store(nil)
		return
	}
	t.dup.Store(&dup)
}

// Metrics returns the name, type and labels (beyond set and replica) of
// every metric a Transport exports.
func Metrics() map[string][]string {
	out := map[string][]string{}
	for _, ms := range [][]metric{peerMetrics, replicaMetrics, keyspaceMetrics, transportMetrics} {
		for _, m := range ms {
			kind := "gauge"
			if m.typ == counter {
				kind = "counter"
			}
			out[m.name] = append([]string{kind}, m.labels...)
		}
	}
	return out
}
