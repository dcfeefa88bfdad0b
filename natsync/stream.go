package natsync

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamName returns the name of the JetStream stream that keeps the
// bundles of replica id of set, under subject prefix prefix (dots become
// underscores): CONVERGE_carts_us-east for DefaultPrefix.
func StreamName(prefix, set string, id vclock.ReplicaID) string {
	return strings.ToUpper(strings.ReplaceAll(prefix, ".", "_")) + "_" + set + "_" + string(id)
}

// ackWait is how long JetStream waits for a consumer's acknowledgement
// before it delivers a bundle again: after a crash, the bundles the
// stopped Transport had pulled and not taken come back to the next one
// after that long. A bundle takes a Receive, and for a durable replica a
// group commit: far less.
const ackWait = 5 * time.Second

// startStream creates or updates the replica's own stream and the
// consumers on its peers'.
func (t *Transport) startStream() error {
	js, err := jetstream.New(t.nc)
	if err != nil {
		return fmt.Errorf("natsync: JetStream: %w", err)
	}
	t.js = js
	ctx, cancel := t.ctx()
	defer cancel()
	name := StreamName(t.cfg.prefix, t.set, t.self)
	if _, err := js.CreateOrUpdateStream(ctx, t.cfg.stream.config(name, t.bcast)); err != nil {
		return fmt.Errorf("natsync: creating stream %s: %w", name, err)
	}
	t.mu.Lock()
	t.replayCounting = true
	t.mu.Unlock()
	t.ensureConsumers()
	t.mu.Lock()
	t.replayCounting = false
	if t.replayLeft == 0 {
		close(t.replayed)
	}
	t.mu.Unlock()
	return nil
}

// countReplay counts, while New makes the first consumers, one that
// found bundles pending; the returned func is to be called once its
// replay reaches the end. Consumers made later do not count.
func (t *Transport) countReplay(pending uint64) (done func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pending == 0 || !t.replayCounting {
		return func() {}
	}
	t.replayLeft++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.replayLeft--; t.replayLeft == 0 && !t.replayCounting {
				close(t.replayed)
			}
		})
	}
}

// ensureConsumers starts a consumer on the stream of every peer that has
// none yet, and stops those of peers the Replica no longer has.
func (t *Transport) ensureConsumers() {
	peers := t.r.Peers()
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		return
	}
	var missing []vclock.ReplicaID
	for _, p := range peers {
		if _, ok := t.consumers[p]; !ok {
			missing = append(missing, p)
		}
	}
	for p, cc := range t.consumers {
		found := false
		for _, q := range peers {
			found = found || q == p
		}
		if !found {
			cc.Stop()
			delete(t.consumers, p)
		}
	}
	t.mu.Unlock()
	for _, p := range missing {
		cc, err := t.consume(p)
		if err != nil {
			t.fail(&t.stats.streamErrors, err)
			continue
		}
		t.mu.Lock()
		if t.closed.Load() {
			cc.Stop()
		} else {
			t.consumers[p] = cc
		}
		t.mu.Unlock()
	}
}

// consume starts reading peer's stream through this replica's durable
// consumer on it, made on first use to start at the stream's end: what
// came before, a replica that never ran gets from merge's greeting and
// digest exchange, in one full state rather than a replay. The stream is
// made too if the peer has not started yet, with this Transport's
// configuration.
func (t *Transport) consume(peer vclock.ReplicaID) (jetstream.ConsumeContext, error) {
	if !tokenRE.MatchString(string(peer)) {
		return nil, fmt.Errorf("%w: peer %q", ErrName, peer)
	}
	ctx, cancel := t.ctx()
	defer cancel()
	name := StreamName(t.cfg.prefix, t.set, peer)
	subj := t.bundleSubject(peer)
	if _, err := t.js.Stream(ctx, name); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = t.js.CreateStream(ctx, t.cfg.stream.config(name, subj))
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("natsync: creating stream %s for peer %s: %w", name, peer, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("natsync: looking up stream %s: %w", name, err)
	}
	durable := string(t.self)
	c, err := t.js.Consumer(ctx, name, durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		c, err = t.js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{
			Durable:           durable,
			Description:       fmt.Sprintf("converge replica %s reading %s", t.self, peer),
			FilterSubject:     subj,
			DeliverPolicy:     jetstream.DeliverNewPolicy,
			AckPolicy:         jetstream.AckExplicitPolicy,
			AckWait:           ackWait,
			InactiveThreshold: t.cfg.stream.config(name, subj).MaxAge,
		})
		if errors.Is(err, jetstream.ErrConsumerExists) {
			c, err = t.js.Consumer(ctx, name, durable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsync: consumer %s on stream %s: %w", durable, name, err)
	}
	replayed := t.countReplay(c.CachedInfo().NumPending + uint64(c.CachedInfo().NumAckPending))
	cc, err := c.Consume(t.handler(name, replayed), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		t.fail(&t.stats.streamErrors, fmt.Errorf("natsync: consuming %s: %w", name, err))
	}))
	if err != nil {
		return nil, fmt.Errorf("natsync: consuming %s: %w", name, err)
	}
	return cc, nil
}

// handler returns the handler of the bundles read from stream name:
// each is handed to the node, acknowledged once taken, and handed back
// (Nak) if the Transport is closing or the node's store is closed;
// replayed is called after the first bundle with nothing pending behind
// it.
func (t *Transport) handler(name string, replayed func()) jetstream.MessageHandler {
	return func(m jetstream.Msg) {
		if t.closed.Load() {
			m.Nak() // drained by Close: for the next Transport, at once
			return
		}
		var pending uint64
		if md, err := m.Metadata(); err == nil {
			pending = md.NumPending
		}
		if pending == 0 {
			defer replayed()
		}
		t.stats.streamReceived.Add(1)
		err := t.bundle(m.Subject(), m.Data(), pending > 0)
		if t.closed.Load() || errors.Is(err, merge.ErrClosed) {
			// Not taken, or taken by a replica whose store is closed:
			// the next consumer of this replica gets it at once, not
			// after the ack wait. Other refusals are acknowledged: the
			// message would be refused again, and merge repairs them.
			m.Nak()
			return
		}
		if err := m.Ack(); err != nil {
			t.fail(&t.stats.streamErrors, fmt.Errorf("natsync: acknowledging %s: %w", name, err))
		}
	}
}
