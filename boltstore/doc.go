// Package boltstore is a [merge.Store] on disk, for replicas that must
// come back after a restart with nothing acknowledged lost: open one with
// [Open] and hand it to [merge.Open].
//
// # Layout
//
// A Store is two files. The database at the path given to Open is a
// go.etcd.io/bbolt database (what etcd and Consul keep their state in)
// holding the snapshot and the meta data: the format version, the
// number of the first record the snapshot does not hold, and the clock
// floor. Next to it, the path plus ".log" is an append-only log of the
// records since, each framed with its length, its sequence number, the
// clock floor and a CRC-32C of all three and the record. Append writes
// the frames of one batch in one write and makes them durable with one
// fsync; a bbolt commit costs two fsyncs and the pages of a B+tree, which
// would halve the durable updates per second that group commit reaches
// (see BENCHMARKS.md). etcd lays out its own storage the same way: a
// write-ahead log, and bbolt for the state.
//
// Compact writes the snapshot in a bbolt transaction, then rewrites the
// log without the records it holds: a new log, synced, renamed over the
// old one. A crash at any point leaves the old snapshot and the whole
// log, or the new snapshot and a log that holds every record after it
// (records it holds too are skipped).
//
// # Damage
//
// A crash in the middle of an Append leaves a torn frame at the log's
// tail, one that no caller was told was durable. Open checks every
// frame's sum and sequence, truncates the log after the last whole one,
// and reports what it cut in [Store.Recovered]. Damage anywhere else —
// a snapshot that fails its sum, a log that starts after the snapshot
// ends, meta data of the wrong size — fails Open or Load with
// [ErrCorrupt]; a file of a newer format version than [Version] fails
// with a [*FormatError] (errors.Is [ErrNewerFormat]), so that an old
// program never rewrites what a newer one wrote.
//
// The files belong to one process at a time: Open takes bbolt's
// exclusive lock on the database, waits a second for another holder, and
// fails with [ErrLocked].
package boltstore
