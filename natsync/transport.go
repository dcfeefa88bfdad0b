package natsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync/internal/bundle"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrName is the error of a set name or replica ID that cannot be a NATS
// subject token, a stream or a consumer name.
var ErrName = errors.New("natsync: a set name and a replica ID must be letters, digits, '-' and '_'")

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// A Node is what a Transport carries: a [merge.Replica] or a
// [merge.Keyspace], each of which has these methods with the meaning
// merge documents. A Transport calls Sync and SyncDigest for each of
// Peers, and hands what arrives to ReceiveFrom, named by the subject it
// came on; Lag, with the node's Stats method, is what its metrics export.
type Node interface {
	ID() vclock.ReplicaID
	Peers() []vclock.ReplicaID
	Sync(peer vclock.ReplicaID) ([]byte, error)
	SyncDigest(peer vclock.ReplicaID) ([]byte, error)
	ReceiveFrom(from vclock.ReplicaID, msg []byte) ([]byte, error)
	Lag() []merge.PeerLag
}

var (
	_ Node = (*merge.Replica[*crdt.GCounter])(nil)
	_ Node = (*merge.Keyspace[string, *crdt.GCounter])(nil)
)

// A Transport connects one [Node] — a [merge.Replica] or a
// [merge.Keyspace] — to its peers over NATS: it publishes what the
// node's Sync returns, hands what arrives to its ReceiveFrom and
// publishes the replies, sends digests from time to time, and, with
// [WithStream], keeps the node's bundles in a JetStream stream and
// replays its peers' (see the package documentation).
//
// Make one with [New] and stop it with [Transport.Close]. The node's
// peers are the replicas it syncs with: add them to the node (AddPeer)
// before or after New; the Transport reads them at each sync. A
// Transport is safe for concurrent use; the node is used directly all
// along (Update, Read), and writes that should go out at once are
// followed by [Transport.Notify].
type Transport struct {
	nc   *nats.Conn
	r    Node
	set  string
	self vclock.ReplicaID
	cfg  config

	bcast     string // our bundles
	directSub string // what others send us: <prefix>.<set>.p.<self>.*

	kick        chan struct{}
	reconnected chan struct{}
	stop        chan struct{}
	done        chan struct{}
	closed      atomic.Bool
	closeOnce   sync.Once

	mu        sync.Mutex // guards subs, consumers, replayLeft, replayCounting
	subs      []*nats.Subscription
	js        jetstream.JetStream
	consumers map[vclock.ReplicaID]jetstream.ConsumeContext
	// replayLeft counts the peers' streams New found bundles pending in
	// and whose replay has not reached the end yet, replayCounting is
	// set while New makes the consumers, and replayed is closed once
	// both are done (see awaitReplay).
	replayLeft     int
	replayCounting bool
	replayed       chan struct{}

	stats   counters
	metrics *collector
	// drop, when set, makes publish lose the messages it reports: loss
	// injected by the tests (export_test.go).
	drop atomic.Pointer[func(subject string) bool]
	// dup, when set, makes publish send twice the messages it reports:
	// duplication injected by the tests.
	dup atomic.Pointer[func(subject string) bool]
}

// New starts a Transport for node r — a *merge.Replica or a
// *merge.Keyspace — of the replicated set named set over connection nc,
// which stays the caller's: Close does not close it. Every replica of a
// set is the same kind of node and uses the same set name and prefix;
// set and the node's ID must be NATS tokens ([ErrName]).
//
// New subscribes to the set's subjects, and with [WithStream] creates or
// updates the replica's stream and a durable consumer on each peer's. It
// chains its own reconnection, disconnection and error handlers after
// those nc has (set nc's own before New: a handler set later replaces
// the chain). New fails if a subscription, the replica's stream, or (with
// WithStream) a JetStream context cannot be made; a peer's consumer that
// cannot be made yet is retried at every sync.
func New(nc *nats.Conn, set string, r Node, opts ...Option) (*Transport, error) {
	if nc == nil || isNil(r) {
		return nil, errors.New("natsync: New with a nil connection or node")
	}
	if !tokenRE.MatchString(set) {
		return nil, fmt.Errorf("%w: set %q", ErrName, set)
	}
	if !tokenRE.MatchString(string(r.ID())) {
		return nil, fmt.Errorf("%w: replica %q", ErrName, r.ID())
	}
	cfg := newConfig(opts)
	if cfg.syncEvery <= 0 {
		cfg.syncEvery = DefaultSyncInterval
	}
	t := &Transport{
		nc:          nc,
		r:           r,
		set:         set,
		self:        r.ID(),
		cfg:         cfg,
		kick:        make(chan struct{}, 1),
		reconnected: make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		consumers:   make(map[vclock.ReplicaID]jetstream.ConsumeContext),
		replayed:    make(chan struct{}),
	}
	t.metrics = newCollector(set, r, t.Stats)
	t.bcast = t.bundleSubject(t.self)
	t.directSub = t.subject("p", string(t.self), "*")

	direct, err := nc.Subscribe(t.directSub, t.onDirect)
	if err != nil {
		return nil, fmt.Errorf("natsync: subscribing to %s: %w", t.directSub, err)
	}
	t.subs = append(t.subs, direct)
	if cfg.stream == nil {
		all := t.subject("b", "*")
		sub, err := nc.Subscribe(all, t.onBundle)
		if err != nil {
			direct.Unsubscribe()
			return nil, fmt.Errorf("natsync: subscribing to %s: %w", all, err)
		}
		t.subs = append(t.subs, sub)
	} else {
		if err := t.startStream(); err != nil {
			direct.Unsubscribe()
			return nil, err
		}
	}
	t.chainHandlers()
	go t.run()
	return t, nil
}

// subject joins the prefix, the set and tokens with dots.
func (t *Transport) subject(tokens ...string) string {
	return t.cfg.prefix + "." + t.set + "." + strings.Join(tokens, ".")
}

// bundleSubject is where replica id publishes its bundles.
func (t *Transport) bundleSubject(id vclock.ReplicaID) string {
	return t.subject("b", string(id))
}

// directSubject is where t sends a message for id alone.
func (t *Transport) directSubject(id vclock.ReplicaID) string {
	return t.subject("p", string(id), string(t.self))
}

// Node returns the node the Transport carries, as New was given it.
func (t *Transport) Node() Node { return t.r }

// Set returns the name of the replicated set.
func (t *Transport) Set() string { return t.set }

// Notify asks the Transport to sync with every peer now, rather than at
// its next tick: call it after writing to the node (its Update). Calls
// made while a sync is pending coalesce, so that a burst of writes goes
// out in few bundles. It does not block.
func (t *Transport) Notify() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Close stops the Transport: its goroutine, subscriptions and consumers
// (their durable state stays on the server, for the next Transport of
// this replica to resume from). It does not close the connection nor
// the node; deltas not yet published stay in the node, which sends
// them through the next Transport. Close waits for the goroutine to end
// and, a little, for the consumers to drain (drainWait): bundles they
// had pulled are handed back to the server for the next Transport. A
// core message handler already running may finish after it. Closing
// twice does nothing.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		close(t.stop)
		<-t.done
		t.mu.Lock()
		for _, s := range t.subs {
			if d, err := s.Dropped(); err == nil && d > 0 {
				t.stats.droppedGone.Add(uint64(d))
			}
			s.Unsubscribe()
		}
		t.subs = nil
		ccs := slices.Collect(maps.Values(t.consumers))
		clear(t.consumers)
		t.mu.Unlock()
		// Drained, not stopped: the bundles pulled and not handled yet go
		// through the handler, which hands them back (Nak) for the next
		// Transport of this replica at once, rather than after the ack
		// wait, when its replay would be over.
		for _, cc := range ccs {
			cc.Drain()
		}
		if len(ccs) > 0 && t.nc.IsConnected() {
			timeout := time.After(drainWait)
			for _, cc := range ccs {
				select {
				case <-cc.Closed():
				case <-timeout:
				}
			}
			t.nc.FlushTimeout(drainWait) // the Naks
		}
	})
	return nil
}

// run is the Transport's goroutine: it syncs when asked and at every
// tick, sends digests at every digest tick and after a reconnection.
func (t *Transport) run() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.syncEvery)
	defer tick.Stop()
	var digests <-chan time.Time
	if t.cfg.digestEvery > 0 {
		dt := time.NewTicker(t.cfg.digestEvery)
		defer dt.Stop()
		digests = dt.C
	}
	if t.cfg.stream == nil {
		// A replica joining, or back, compares notes at once. With a
		// stream it replays first: a digest exchange now would send
		// full states that the replay makes useless.
		t.digests()
	} else if !t.awaitReplay() {
		return
	}
	t.flush()
	for {
		select {
		case <-t.stop:
			return
		case <-t.kick:
			t.flush()
		case <-tick.C:
			if t.cfg.stream != nil {
				t.ensureConsumers()
			}
			t.flush()
		case <-digests:
			t.digests()
		case <-t.reconnected:
			// Core NATS lost what was in flight while the connection was
			// down: a digest exchange finds what is missing.
			t.digests()
			t.flush()
		}
	}
}

// drainWait bounds how long Close waits for its consumers to hand back
// the bundles they had pulled: the handler takes each at once; what
// takes longer is the end of the pull request, which Close need not
// wait for.
const drainWait = 250 * time.Millisecond

// replayWait bounds how long a Transport with a stream holds its first
// sync back while it replays its peers' streams.
const replayWait = 3 * time.Second

// awaitReplay waits until the replay of the bundles New found pending in
// the peers' streams reaches their end, or replayWait, before the node's
// first Sync: that Sync greets the peers with the node's incarnation, and
// a peer greeted by a restarted replica that has not acknowledged its
// deltas yet sends it a full state, which the replay makes useless. Once
// replayed, the greeting acknowledges every delta replayed. It reports
// false if the Transport closed meanwhile.
func (t *Transport) awaitReplay() bool {
	timeout := time.NewTimer(replayWait)
	defer timeout.Stop()
	select {
	case <-t.stop:
		return false
	case <-t.replayed:
	case <-timeout.C:
	}
	return true
}

// flush publishes, in one bundle, what Sync returns for every peer.
func (t *Transport) flush() {
	var parts []bundle.Part
	for _, p := range t.r.Peers() {
		msg, err := t.r.Sync(p)
		if err != nil {
			t.fail(&t.stats.syncErrors, err)
			continue
		}
		if msg == nil {
			continue
		}
		head, payload, tail := bundle.Split(msg)
		parts = append(parts, bundle.Part{To: p, Head: head, Payload: payload, Tail: tail})
	}
	if len(parts) == 0 {
		return
	}
	b := bundle.Append(nil, t.self, parts)
	if limit := t.nc.MaxPayload(); limit > 0 && int64(len(b)) > limit && len(parts) > 1 {
		// Too large for one NATS message: one bundle per peer. A single
		// message larger than the server's max_payload cannot go at
		// all; publish reports it.
		for _, p := range parts {
			t.publish(t.bcast, bundle.Append(nil, t.self, []bundle.Part{p}), &t.stats.bundles)
		}
		return
	}
	t.publish(t.bcast, b, &t.stats.bundles)
}

// digests sends every peer a digest of the replica's state, each on the
// peer's direct subject.
func (t *Transport) digests() {
	for _, p := range t.r.Peers() {
		msg, err := t.r.SyncDigest(p)
		if err != nil {
			t.fail(&t.stats.syncErrors, err)
			continue
		}
		if msg != nil { // a keyspace's tree pass under way
			t.publish(t.directSubject(p), msg, &t.stats.digests)
		}
	}
}

// isNil reports whether n is nil or a nil pointer in an interface.
func isNil(n Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// publish publishes data on subj, counting it in c and in the totals.
func (t *Transport) publish(subj string, data []byte, c *atomic.Uint64) {
	if f := t.drop.Load(); f != nil && (*f)(subj) {
		return
	}
	if f := t.dup.Load(); f != nil && (*f)(subj) {
		t.nc.Publish(subj, data) // counted once: a duplicate the network made
	}
	if err := t.nc.Publish(subj, data); err != nil {
		t.fail(&t.stats.publishErrors, fmt.Errorf("natsync: publishing %d bytes on %s: %w", len(data), subj, err))
		return
	}
	c.Add(1)
	t.stats.published.Add(1)
	t.stats.publishedBytes.Add(uint64(len(data)))
}

// onBundle takes a bundle delivered by core NATS.
func (t *Transport) onBundle(m *nats.Msg) {
	_ = t.bundle(m.Subject, m.Data, false) // counted; merge repairs
}

// bundle takes the message for this replica out of a bundle published on
// subj, hands it to the node and sends the reply. replaying reports a
// bundle replayed from a stream with more behind it: the acknowledgements
// it would send are left out, the last bundle's covering them all. It
// returns the node's error, if it refused the message.
func (t *Transport) bundle(subj string, data []byte, replaying bool) error {
	from := vclock.ReplicaID(subj[strings.LastIndexByte(subj, '.')+1:])
	if from == t.self {
		return nil // our own, echoed
	}
	t.stats.received.Add(1)
	t.stats.receivedBytes.Add(uint64(len(data)))
	sender, msg, err := bundle.Read(data, t.self)
	if err == nil && sender != from {
		err = fmt.Errorf("natsync: a bundle on %s names %s as its sender: %w", subj, sender, bundle.ErrMalformed)
	}
	if err != nil {
		t.fail(&t.stats.malformed, err)
		return nil
	}
	if msg == nil {
		return nil // nothing for us
	}
	return t.receive(from, msg, replaying)
}

// onDirect takes a message sent to this replica alone. While the
// Transport replays its peers' streams at start (see awaitReplay), it
// leaves digests and tree requests unanswered: answered against a state
// the replay has not completed, they would bring full states; the peer
// sends another at its next digest interval.
func (t *Transport) onDirect(m *nats.Msg) {
	from := vclock.ReplicaID(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
	t.stats.received.Add(1)
	t.stats.receivedBytes.Add(uint64(len(m.Data)))
	if isDigest(m.Data) && !t.hasReplayed() {
		return
	}
	_ = t.receive(from, m.Data, false) // counted; merge repairs
}

// receive hands msg from peer from to the node and sends its reply on
// from's direct subject. It returns the node's error.
func (t *Transport) receive(from vclock.ReplicaID, msg []byte, replaying bool) error {
	reply, err := t.r.ReceiveFrom(from, msg)
	if err != nil {
		t.fail(&t.stats.refused, err)
	}
	if reply != nil && !(replaying && isAck(reply)) {
		t.publish(t.directSubject(from), reply, &t.stats.replies)
	}
	return err
}

// isDigest reports whether msg is a merge digest (kind 35) or a
// keyspace's tree message (kind 42).
func isDigest(msg []byte) bool {
	return len(msg) >= 3 && msg[0]&0xf0 == 0x90 && msg[1] == 1 && (msg[2] == 35 || msg[2] == 42)
}

// hasReplayed reports whether the replay awaitReplay waits for is over:
// at once without a stream.
func (t *Transport) hasReplayed() bool {
	if t.cfg.stream == nil {
		return true
	}
	select {
	case <-t.replayed:
		return true
	default:
		return false
	}
}

// isAck reports whether msg is a merge acknowledgement (kind 34, or 41
// for a keyspace), which
// a later message of the same link supersedes.
func isAck(msg []byte) bool {
	return len(msg) >= 3 && msg[0]&0xf0 == 0x90 && msg[1] == 1 && (msg[2] == 34 || msg[2] == 41)
}

// fail counts err in c and hands it to the error handler.
func (t *Transport) fail(c *atomic.Uint64, err error) {
	c.Add(1)
	if t.cfg.onError != nil {
		t.cfg.onError(err)
	}
}

// chainHandlers puts the Transport's handlers after nc's own.
func (t *Transport) chainHandlers() {
	nc := t.nc
	prevRe := nc.ReconnectHandler()
	nc.SetReconnectHandler(func(c *nats.Conn) {
		if prevRe != nil {
			prevRe(c)
		}
		if t.closed.Load() {
			return
		}
		t.stats.reconnects.Add(1)
		select {
		case t.reconnected <- struct{}{}:
		default:
		}
	})
	prevDis := nc.DisconnectErrHandler()
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		if prevDis != nil {
			prevDis(c, err)
		}
		if !t.closed.Load() {
			t.stats.disconnects.Add(1)
		}
	})
	prevErr := nc.ErrorHandler()
	nc.SetErrorHandler(func(c *nats.Conn, s *nats.Subscription, err error) {
		if prevErr != nil {
			prevErr(c, s, err)
		}
		if t.closed.Load() || !t.owns(s) {
			return
		}
		if errors.Is(err, nats.ErrSlowConsumer) {
			t.fail(&t.stats.slowConsumers, fmt.Errorf("natsync: %s: %w", s.Subject, err))
			return
		}
		t.fail(&t.stats.asyncErrors, err)
	})
}

// owns reports whether s is one of the Transport's core subscriptions.
func (t *Transport) owns(s *nats.Subscription) bool {
	if s == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range t.subs {
		if x == s {
			return true
		}
	}
	return false
}

// dropped returns the messages the subscriptions dropped as a slow
// consumer.
func (t *Transport) dropped() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	for _, s := range t.subs {
		if d, err := s.Dropped(); err == nil && d > 0 {
			n += uint64(d)
		}
	}
	return n + t.stats.droppedGone.Load()
}

// ctx returns a context for one JetStream request.
func (t *Transport) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
