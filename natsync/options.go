package natsync

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of a [Transport] made without the corresponding option.
const (
	// DefaultPrefix is the first token of every subject a Transport uses.
	DefaultPrefix = "converge"
	// DefaultSyncInterval is how often a Transport calls merge.Replica.Sync
	// for every peer when no write asks it to: retransmissions and the
	// repairs Receive found due go out then.
	DefaultSyncInterval = 100 * time.Millisecond
	// DefaultDigestInterval is how often a Transport sends every peer a
	// digest (merge.Replica.SyncDigest), the anti-entropy that repairs
	// whatever the delta protocol missed.
	DefaultDigestInterval = 10 * time.Second
	// DefaultStreamMaxAge is how long a stream keeps a bundle when
	// [Stream].MaxAge is zero.
	DefaultStreamMaxAge = 24 * time.Hour
)

// An Option configures a [Transport] made by [New]. Options apply in
// order; of two options of the same kind the last wins. The zero Option
// does nothing.
type Option struct{ apply func(*config) }

type config struct {
	prefix      string
	syncEvery   time.Duration
	digestEvery time.Duration
	stream      *Stream
	onError     func(error)
}

func newConfig(opts []Option) config {
	c := config{
		prefix:      DefaultPrefix,
		syncEvery:   DefaultSyncInterval,
		digestEvery: DefaultDigestInterval,
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithPrefix sets the first tokens of the Transport's subjects (default
// [DefaultPrefix]); it may hold dots, as in "acme.converge". Every
// replica of a set must use the same prefix.
func WithPrefix(p string) Option {
	return Option{func(c *config) { c.prefix = p }}
}

// WithSyncInterval sets how often the Transport calls Sync for every peer
// without being asked (default [DefaultSyncInterval]): the pace of
// retransmissions, repairs and greetings. Writes do not wait for it:
// a write followed by [Transport.Notify] syncs at once. d <= 0 means
// the default.
func WithSyncInterval(d time.Duration) Option {
	return Option{func(c *config) { c.syncEvery = d }}
}

// WithDigestInterval sets how often the Transport sends each peer a
// digest (default [DefaultDigestInterval]). Equal replicas exchange
// digests only (about 90 bytes each way); a replica that missed
// something gets the full state. d <= 0 sends digests only when the
// connection comes back from a disconnection.
func WithDigestInterval(d time.Duration) Option {
	return Option{func(c *config) { c.digestEvery = d }}
}

// WithErrorHandler makes the Transport call f with each error it meets
// outside a caller's call: a publish that failed, a message refused by
// the Replica, a bundle it cannot read, a stream or consumer it cannot
// create. Each is counted in [Stats] too. f runs on the Transport's
// goroutines and must not block.
func WithErrorHandler(f func(error)) Option {
	return Option{func(c *config) { c.onError = f }}
}

// A Stream configures the JetStream stream that keeps a replica's
// bundles (see "JetStream" in the package documentation). The zero
// Stream keeps them for [DefaultStreamMaxAge] in files on one server.
type Stream struct {
	// MaxAge is how long a bundle is kept; 0 means DefaultStreamMaxAge.
	// A replica down for longer catches up by merge's anti-entropy
	// instead: a full state, which costs one state's bytes.
	MaxAge time.Duration
	// MaxMsgs and MaxBytes bound the stream too; 0 means no bound. The
	// oldest bundles go first.
	MaxMsgs, MaxBytes int64
	// Replicas is the number of servers of the cluster holding a copy
	// (JetStream's R); 0 means 1.
	Replicas int
	// Memory keeps the stream in memory rather than on disk: for tests.
	Memory bool
	// Placement names the cluster to hold the stream, for a supercluster
	// (gateways); "" lets JetStream choose: the cluster of the server
	// the Transport's connection is on, where the replica's own writes
	// arrive.
	Placement string
}

// WithStream makes the Transport keep its bundles in a JetStream stream,
// and read its peers' bundles from theirs through durable consumers, so
// that a replica that was down replays what it missed (see "JetStream"
// in the package documentation).
func WithStream(s Stream) Option {
	return Option{func(c *config) { c.stream = &s }}
}

func (s *Stream) config(name, subject string) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:      name,
		Subjects:  []string{subject},
		Retention: jetstream.LimitsPolicy,
		Discard:   jetstream.DiscardOld,
		MaxAge:    s.MaxAge,
		MaxMsgs:   s.MaxMsgs,
		MaxBytes:  s.MaxBytes,
		Replicas:  max(s.Replicas, 1),
		Storage:   jetstream.FileStorage,
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultStreamMaxAge
	}
	if cfg.MaxMsgs == 0 {
		cfg.MaxMsgs = -1
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = -1
	}
	if s.Memory {
		cfg.Storage = jetstream.MemoryStorage
	}
	if s.Placement != "" {
		cfg.Placement = &jetstream.Placement{Cluster: s.Placement}
	}
	return cfg
}
