package merge

import (
	"fmt"
	"slices"
	"sync"

	"github.com/converge-go/converge/hlc"
)

// A MemoryStore is a [Store] in memory: what it holds outlives the
// replicas that [Open] it, and Close, but not the process. It is for
// tests and examples — a restart in the same process — and for replicas
// whose durability is their peers. Package boltstore has a Store on
// disk. A MemoryStore is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	st      Stored
	appends int
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load returns a copy of what the store holds.
func (s *MemoryStore) Load() (Stored, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Snapshot = slices.Clone(st.Snapshot)
	st.Records = make([][]byte, len(s.st.Records))
	for i, r := range s.st.Records {
		st.Records[i] = slices.Clone(r)
	}
	return st, nil
}

// Append appends copies of records and raises the floor.
func (s *MemoryStore) Append(records [][]byte, floor hlc.Timestamp) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.st.Records = append(s.st.Records, slices.Clone(r))
	}
	s.st.Next += uint64(len(records))
	s.st.Floor = max(s.st.Floor, floor)
	s.appends++
	return nil
}

// Compact replaces the snapshot and drops the records below through. It
// fails with [ErrCompactRange] if through is below the first record held
// — the snapshot is older than the one it would replace — or beyond the
// last.
func (s *MemoryStore) Compact(snapshot []byte, through uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.st.Next - uint64(len(s.st.Records))
	if through < first || through > s.st.Next {
		return fmt.Errorf("%w: through %d, the store holds records %d to %d", ErrCompactRange, through, first, s.st.Next)
	}
	s.st.Records = slices.Delete(s.st.Records, 0, int(through-first))
	s.st.Snapshot = slices.Clone(snapshot)
	return nil
}

// Close does nothing: the store stays usable, to be opened again.
func (s *MemoryStore) Close() error { return nil }

// Appends reports how many Appends the store has taken: with group
// commit, fewer than the records.
func (s *MemoryStore) Appends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appends
}
