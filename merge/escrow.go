package merge

import (
	"errors"
	"fmt"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/vclock"
)

// An Escrow is a policy for a replicated [crdt.BCounter]: how a replica
// short of rights asks its peers for them, and how it answers their
// requests. The requests travel in the counter itself, like any write, so
// the policy needs no message of its own: a replica that cannot decrement
// records a request, its peers see it with the next sync, and the first
// that holds rights to spare transfers them; the transfer comes back the
// same way. Two peers may answer one request; the requester then holds
// more than it asked for, which it may pass on in turn.
//
// A sale that finds its replica short fails at once (it is not queued):
// the caller retries once a grant has arrived, or sells elsewhere. How long
// that takes is a round trip to the nearest replica with spare rights,
// plus the sync period on each side.
//
// The zero Escrow asks for exactly what is missing and grants everything
// above nothing; set Ask to batch requests and Keep to hold some rights
// back for local sales.
type Escrow struct {
	// Ask is the least a replica asks for at once when it is short: a
	// request covers the shortfall or Ask, whichever is larger, so that a
	// run of sales costs one round trip.
	Ask uint64
	// Keep is what a replica keeps of its own rights when it grants
	// requests.
	Keep uint64
}

// Dec subtracts n from r's counter, as r's writer. If the writer holds
// fewer than n rights, Dec changes nothing but a request for the missing
// rights (at least Ask, less what it has asked for and not yet received;
// none if that covers them), and returns the error of crdt.BCounter.Dec,
// matching crdt.ErrInsufficientRights: retry once a peer has granted
// them. An error of r.Update is returned too.
func (e Escrow) Dec(r *Replica[*crdt.BCounter], n uint64) error {
	var short error
	err := r.Update(func(w vclock.ReplicaID, c *crdt.BCounter) *crdt.BCounter {
		d, err := c.Dec(w, n)
		if err == nil {
			return d
		}
		short = err
		var re *crdt.RightsError
		if !errors.As(err, &re) {
			return nil
		}
		asked := c.Requested(w)
		need := max(re.Want-re.Have, e.Ask)
		if asked >= need {
			return nil
		}
		return c.Request(w, need-asked)
	})
	return errors.Join(short, err)
}

// Grant transfers, from the rights of r's writer beyond Keep, what the
// other writers of r's counter asked for and have not received, and
// returns the amount granted. Call it after each Receive that brought
// something, or on each sync tick: a request is answered once a replica
// with spare rights has seen it.
func (e Escrow) Grant(r *Replica[*crdt.BCounter]) (granted uint64, err error) {
	err = r.Update(func(w vclock.ReplicaID, c *crdt.BCounter) *crdt.BCounter {
		d, n := c.Grant(w, e.Keep)
		if granted = n; n == 0 {
			return nil // nothing to send
		}
		return d
	})
	return granted, err
}

// Handoff transfers every right of r's writer to the writer to (a live
// peer's [Replica.Writer]) and returns the amount. Call it before r stops
// for good, or before a restart: each incarnation writes under a new ID,
// and rights left with an ended one are counted in the value but can be
// spent by nobody.
func (e Escrow) Handoff(r *Replica[*crdt.BCounter], to vclock.ReplicaID) (moved uint64, err error) {
	var terr error
	err = r.Update(func(w vclock.ReplicaID, c *crdt.BCounter) *crdt.BCounter {
		if w == to {
			terr = fmt.Errorf("merge: %s: hand off rights to %s, its own writer", r.id, to)
			return nil
		}
		n := c.Rights(w)
		if n == 0 {
			return nil
		}
		d, err := c.Transfer(w, to, n)
		if err != nil {
			terr = err
			return nil
		}
		moved = n
		return d
	})
	return moved, errors.Join(terr, err)
}
