// Package mesh connects a merge.Replica on every node of a merge/sim
// network, each a peer of every other, for the story examples: it moves
// the bytes of Replica.Sync, Replica.SyncDigest and Replica.Receive
// through sim.Sim.Send, and leaves the when to the program.
package mesh

import (
	"fmt"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/hlc"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/merge/sim"
	"github.com/converge-go/converge/vclock"
)

// A Mesh replicates one value of type T between the nodes of a Sim: a
// merge.Replica on each, named after the node's region, every one a peer
// of every other. Its messages start with its tag, so that several
// meshes, and other traffic, share the network: a node's handler passes
// a message whose first byte is the tag to Receive.
type Mesh[T crdt.State[T]] struct {
	s    *sim.Sim
	tag  byte
	reps []*merge.Replica[T]
}

// New returns a Mesh over every node of s, node i's replica reading
// clocks[i] and starting from newState().
func New[T crdt.State[T]](s *sim.Sim, tag byte, clocks []*hlc.Clock, newState func() T) *Mesh[T] {
	m := &Mesh[T]{s: s, tag: tag}
	for i, n := range s.Nodes() {
		m.reps = append(m.reps, merge.New(vclock.ReplicaID(n.Region), newState, merge.WithClock(clocks[i]), merge.WithRandom(s.Entropy(fmt.Sprintf("mesh %d incarnation %d", tag, i)))))
	}
	for _, r := range m.reps {
		for _, p := range m.reps {
			if p != r {
				_ = r.AddPeer(p.ID()) // fails only for r's own ID
			}
		}
	}
	return m
}

// Replica returns node's replica.
func (m *Mesh[T]) Replica(node sim.NodeID) *merge.Replica[T] { return m.reps[node] }

// Tag returns the first byte of the Mesh's messages.
func (m *Mesh[T]) Tag() byte { return m.tag }

func (m *Mesh[T]) send(from, to sim.NodeID, msg []byte) {
	m.s.Send(from, to, append([]byte{m.tag}, msg...))
}

// Sync sends each peer of node what node's replica has for it.
func (m *Mesh[T]) Sync(node sim.NodeID) error {
	for j, p := range m.reps {
		if sim.NodeID(j) == node {
			continue
		}
		msg, err := m.reps[node].Sync(p.ID())
		if err != nil {
			return err
		}
		if msg != nil {
			m.send(node, sim.NodeID(j), msg)
		}
	}
	return nil
}

// Digest sends each peer of node a digest of node's state, which a peer
// that differs answers with what node lacks.
func (m *Mesh[T]) Digest(node sim.NodeID) error {
	for j, p := range m.reps {
		if sim.NodeID(j) == node {
			continue
		}
		msg, err := m.reps[node].SyncDigest(p.ID())
		if err != nil {
			return err
		}
		m.send(node, sim.NodeID(j), msg)
	}
	return nil
}

// Receive hands a message, tag included, to node's replica and sends the
// reply back.
func (m *Mesh[T]) Receive(node, from sim.NodeID, msg []byte) error {
	reply, err := m.reps[node].Receive(msg[1:])
	if reply != nil {
		m.send(node, from, reply)
	}
	return err
}

// Write applies a change at node, as Replica.Update does (f writes as the
// writer ID it is given), and sends it at once.
func (m *Mesh[T]) Write(node sim.NodeID, f func(w vclock.ReplicaID, state T) T) error {
	if err := m.reps[node].Update(f); err != nil {
		return err
	}
	return m.Sync(node)
}

// Converged reports whether every replica holds the same state, by
// digest.
func (m *Mesh[T]) Converged() bool {
	d0, err := m.reps[0].Digest()
	if err != nil {
		return false
	}
	for _, r := range m.reps[1:] {
		if d, err := r.Digest(); err != nil || d != d0 {
			return false
		}
	}
	return true
}
