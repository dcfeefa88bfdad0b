// Package bundle reads and writes the bundles natsync's Transport
// publishes: the messages merge.Replica.Sync returned for each peer of a
// replica, in one NATS message every peer receives, with the payloads
// they share held once. It depends on nothing of NATS, so that its
// decoder's fuzz target builds without the NATS server the transport's
// tests embed.
package bundle
