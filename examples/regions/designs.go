package main

// A design is one way to run the service in four regions.
type design struct {
	key    string // short name, for flags, the chart and tests
	name   string // as the table prints it
	trades string // what it trades, for the HTML report
	rule   rule
	clock  clockKind
	pinEU  bool // EU-homed users' profiles and carts stay in eu-west
	build  func(w *world) system
}

// designs lists the seven designs, in the order of the table.
var designs = []*design{
	{key: "async", name: "active-passive, async + DNS failover", rule: inOrder,
		trades: "Fast writes next to the primary, a round trip to it from elsewhere; the failover loses the writes still inside the shipping interval, and nobody writes until health checks and DNS move to the new primary.",
		build:  func(w *world) system { return newLog(w, asyncLog) }},
	{key: "sync", name: "active-passive, sync replication", rule: inOrder,
		trades: "Nothing acknowledged is lost in a failover, for one more round trip on every write; no more available than async.",
		build:  func(w *world) system { return newLog(w, syncLog) }},
	{key: "lww-wall", name: "active-active, wall-clock LWW", rule: lastWriter, clock: wallClock,
		trades: "Every region writes locally and through partitions; concurrent writes to one item overwrite each other silently, and a fast clock makes earlier writes win over later ones.",
		build:  func(w *world) system { return newStreams(w, wallClock, false) }},
	{key: "lww-hlc", name: "active-active, HLC LWW", rule: lastWriter, clock: hybrid,
		trades: "The same availability and latency; hybrid logical clocks order every write after what its region had seen, but concurrent writes still overwrite each other.",
		build:  func(w *world) system { return newStreams(w, hybrid, false) }},
	{key: "crdt", name: "active-active, converge CRDTs", rule: merged,
		trades: "Local writes and full availability, and nothing lost: counters add up, carts are add-wins sets, profile fields keep concurrent writes as siblings for the application to resolve.",
		build:  func(w *world) system { return newCRDT(w) }},
	{key: "regional", name: "regional primary (home region)", rule: inOrder, pinEU: true,
		trades: "No conflicts and local writes at home, and EU-homed users' profiles and carts never leave eu-west; an item cannot be written while its home region is out of reach, and EU data is read from eu-west, a round trip away for everyone else.",
		build:  func(w *world) system { return newStreams(w, noClock, true) }},
	{key: "quorum", name: "quorum with witness (3 of 4)", rule: inOrder,
		trades: "Nothing lost and no split brain: the minority side of a partition goes read-only; every write waits for a majority's round trips, and a new leader takes seconds to elect.",
		build:  func(w *world) system { return newLog(w, quorumLog) }},
}
