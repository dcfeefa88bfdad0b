// Package sim is a deterministic discrete-event simulator of replicas in
// several regions: it runs nodes over a model of a multi-region network —
// latencies, jitter, loss, duplication, reordering, partitions, region
// outages, skewed and drifting clocks — in virtual time, and reports what
// a replication design does there: how long replicas take to converge,
// the messages and bytes they send, the writes they lose and the stale
// reads they serve. The same seed gives the same run, and the same
// report, byte for byte.
//
// It has two layers. The core, [Sim], knows nodes, time and the network,
// and nothing of what the nodes do: any node logic that sends and
// receives bytes can run on it — an active-passive pair with DNS
// failover, a quorum with a witness. The replication layer, [Cluster],
// runs a merge.Replica on every node, plays a workload on them through a
// [Model] of the state type, and measures the run in a [Report].
//
// # Virtual time
//
// Time is a time.Duration since the start of the simulation ([Sim.Now]);
// nothing sleeps. A Sim keeps a queue of events — functions scheduled
// with [Sim.Schedule], [Sim.After] and [Sim.Every], and messages in
// flight — ordered by time, ties broken by the order of scheduling, and
// runs them one at a time ([Sim.Run], [Sim.Step]), jumping from each to
// the next. An hour of traffic between twelve nodes takes as long as the
// work the nodes do, not an hour. Everything runs on the caller's
// goroutine; a Sim is not safe for concurrent use, and needs no locks.
//
// # The network model and its latency table
//
// Nodes belong to regions ([Region]); [DefaultRegions] gives four —
// us-east, us-west, eu-west and ap-south — of three nodes each, one per
// availability zone. A message between two nodes takes half a round trip
// drawn uniformly from the range of their route, per message, plus
// jitter. The round trips are [DefaultLatency]'s, typical of public clouds:
//
//	route (round trip)        ms
//	same region, other zone   1–2
//	US East ↔ US West         60–80
//	US ↔ Europe               80–120
//	US ↔ Asia                 150–250
//	Europe ↔ Asia             200–300
//
// [Config].Jitter adds an exponentially distributed delay with that
// mean: a long tail, as queues make. Delays are drawn per message, so
// two messages sent a few milliseconds apart on a long route arrive in
// either order; [Config].Reorder holds a share of messages back by up to
// [Config].ReorderDelay more, so that messages sent far apart are
// reordered too. [Config].Loss drops a share of messages and
// [Config].Duplicate delivers a share twice, each copy with its own
// delay (and its own chance of loss).
//
// Each route is a link class, a pair of regions ([Link]); [Sim.Traffic]
// counts messages and bytes per class: sent, duplicated, delivered, and
// dropped, by loss, partition or outage.
//
// # Faults
//
// A [Partition] cuts every route between two sets of regions for a
// while: messages sent across it, or arriving across it, are dropped.
// An [Outage] takes a region's nodes down for a while: they receive
// nothing, what they send is dropped, and the layers above them do
// nothing (the Cluster neither syncs from them nor runs operations on
// them); they keep their state, as a region cut off or paused does.
// [Sim.OnStatus] tells node logic when a node goes down or comes back.
// Faults are scheduled ahead, in the [Config] or with [Sim.Partition]
// and [Sim.Outage]; [Sim.LastHeal] is when the last one ends.
//
// Each node has a physical clock ([Sim.PhysicalClock]) that reads
// Epoch + t + skew + t·drift/10⁶ at virtual time t: a constant offset
// and a rate error in parts per million, drawn per node within
// [Config].ClockSkew and [Config].ClockDrift, plus the region's own
// ([Region].Skew, [Region].Drift), or set with [Sim.SetClock]. Node logic
// reads it through hlc.WithPhysicalClock, so that hybrid logical clocks,
// last-writer-wins registers and the max-offset check see the skew a
// real deployment would.
//
// # Determinism
//
// Every random draw comes from a math/rand/v2 PCG source seeded by
// [Config].Seed and a name ([Sim.Rand]): one for the network, one for the
// clocks, one for the workload, one for the phases of the sync ticks, so
// that a change to one concern leaves the draws of the others as they
// were. The Sim reads no wall clock, starts no goroutine and iterates no
// map where order matters; events at one time run in the order they were
// scheduled. Node logic must keep to the same rules — draw from a
// Sim.Rand source, read time from the Sim — for its runs to repeat.
//
// # The replication layer
//
// [NewCluster] puts a merge.Replica on every node, each with an
// hlc.Clock over the node's physical clock, all peers of all (a full
// mesh, as package merge requires). Every [ClusterConfig].SyncEvery
// (50 ms) each node that is up ticks, at its own phase: for each peer,
// Replica.Sync returns one delta-group, a full state, or nothing, and the
// node sends it. A node receiving a message passes it to
// Replica.Receive and sends back the reply, if any. A node back from an
// outage sends each peer a digest (Replica.SyncDigest), so that peers
// that moved on answer with their state at once.
//
// [Cluster.Run] plays the workload: [ClusterConfig].Ops operations
// spread evenly over [ClusterConfig].Duration, each at a node drawn at
// random among those up, a read with probability ReadFraction, else a
// write. A [Model] draws each operation and judges it: [ORSetModel] adds
// unique elements to a *crdt.ORSet[string] and removes some,
// [CounterModel] increments and decrements a *crdt.PNCounter,
// [StockModel] sells stock in every region from a *crdt.BCounter; a Model of
// one's own type can be written against the same interface. Once the
// last operation has run and the last fault has healed, the quiescent
// phase begins: no operations, the ticks go on, and every
// [ClusterConfig].CheckEvery the Cluster compares the replicas' digests,
// stopping at the first check that finds them equal, or after
// [ClusterConfig].ConvergeWithin.
//
// # Keyspaces and topologies
//
// [NewKeyspaceCluster] puts a merge.Keyspace of string keys on every node
// instead, connected as a [Topology] says — a full mesh by default, or
// [RegionRelays], the region-aware partial mesh of merge's Topologies: a
// ring with chords in each region, whose nodes forward to each other
// (merge.Forward), and one relay per region, a remote peer
// (merge.Remote) of the other regions' relays. Each operation draws a
// key among [KeyspaceConfig].Keys (a million by default) and runs as an
// operation of a Model of that key, one Model per key written; a tick
// sends each peer up to [KeyspaceConfig].Burst messages of what
// Keyspace.Sync has. Convergence is every keyspace's root hash equal; the
// report adds the bytes of the deltas written ([Report].DeltaBytes), so
// that [Report.CrossRegionBytes] reads as what a write costs across
// oceans. A node back from an outage sends no digest unless
// [KeyspaceConfig].RecoveryDigest says so: its peers' catch-ups bring
// what it missed.
//
// # The report
//
// A [Report] holds the figures of a run, and its String lays them out
// as tables:
//
//   - convergence: whether the replicas converged, and when, measured
//     from the start of the quiescent phase (to the resolution of
//     CheckEvery);
//   - traffic: messages and bytes per link class, full states sent (for
//     keyspaces, catch-ups and tree passes), messages refused by
//     Receive (a clock beyond the max offset), and, for keyspaces, the
//     bytes of the deltas written and those sent across regions;
//   - lost writes: accepted writes whose effect the converged state does
//     not show. For a set, an element added and never removed that is
//     absent, or one removed (by a node that had seen it) that is
//     present; for a counter, an increment or decrement that the
//     converged counts of its node do not include, so that the value
//     differs from the sum of accepted writes;
//   - stale reads: reads that do not reflect a write accepted at another
//     node more than [ClusterConfig].StaleAfter (500 ms) earlier. A
//     counter read checks every other node's increments and decrements,
//     so it is stale as soon as any one node's writes are late. A set
//     read asks whether one recent element is present, and is stale if
//     the answer was wrong throughout the last StaleAfter (see
//     [ORSetModel]);
//   - per node: operations, stale reads, messages, bytes and full states
//     sent, and the worst lag of a peer behind it (Replica.Lag, sampled
//     at each tick): most deltas unacknowledged, and oldest.
//
// Every figure is an integer or a time.Duration, and String formats them
// without floating point, so that a report compares as text.
package sim
