package merge

import "github.com/converge-go/converge/hlc"

// A PeerOption sets how a [Keyspace] treats a peer it adds with
// [Keyspace.AddPeer]: which deltas it sends the peer besides its own (see
// Topologies in the package documentation).
type PeerOption struct{ apply func(*kpeerConfig) }

type kpeerConfig struct{ forward, remote bool }

// Forward makes the keyspace send the peer, besides the deltas of its own
// writes, the ones it receives from its other peers that change its
// state — never back to the peer that sent them — so that keyspaces that
// are not all peers of each other still converge: a partial mesh, where
// every keyspace forwards to its neighbours.
func Forward() PeerOption {
	return PeerOption{func(c *kpeerConfig) { c.forward = true }}
}

// Remote marks the peer as one in another region, reached across an
// ocean: the keyspace forwards it what it writes and what its peers in
// its own region send (as [Forward] does), but not what another remote
// peer sent, and what the peer sends goes on only to peers that are not
// remote. With one keyspace per region holding the remote peers — a relay
// per region — each write crosses each region boundary once.
func Remote() PeerOption {
	return PeerOption{func(c *kpeerConfig) { c.forward, c.remote = true, true }}
}

// forwards reports whether the buffered delta e goes to peer p: its own
// deltas go to every peer; a delta received from peer q goes to a
// forwarding peer other than q, unless both are remote.
func (e *ksEntry[K]) forwards(p *kpeer[K]) bool {
	q := e.via
	return q == nil || p.forward && q != p && !(q.remote && p.remote)
}

// relay buffers, for the forwarding peers, a payload from p that changed
// the state of key s.key: the delta (or state) p sent, as e holds it,
// copied out of the message.
func (ks *Keyspace[K, T]) relay(p *kpeer[K], s *kslot[K, T], e ksWire[K], now hlc.Timestamp) {
	ks.next++
	if p.remote {
		s.rseq = ks.next
	} else {
		s.lseq = ks.next
	}
	ks.noteWritten(s)
	ks.stats.Forwarded++
	data := append(append(ks.scratch[:0], e.enc...), e.payload...)
	ks.scratch = data[:0]
	ks.buffer(ksEntry[K]{key: s.key, data: ks.keepBytes(data), kn: len(e.enc), at: now, via: p})
}
