package main

// A design is one way to run the service in four regions.
type design struct {
	key   string // short name, for flags, the chart and tests
	name  string // as the table prints it
	rule  rule
	clock clockKind
	build func(w *world) system
}

// designs lists the seven designs, in the order of the table.
var designs = []*design{
	{key: "async", name: "active-passive, async + DNS failover", rule: inOrder,
		build: func(w *world) system { return newLog(w, asyncLog) }},
	{key: "sync", name: "active-passive, sync replication", rule: inOrder,
		build: func(w *world) system { return newLog(w, syncLog) }},
	{key: "lww-wall", name: "active-active, wall-clock LWW", rule: lastWriter, clock: wallClock,
		build: func(w *world) system { return newStreams(w, wallClock, false) }},
	{key: "lww-hlc", name: "active-active, HLC LWW", rule: lastWriter, clock: hybrid,
		build: func(w *world) system { return newStreams(w, hybrid, false) }},
	{key: "crdt", name: "active-active, converge CRDTs", rule: merged,
		build: func(w *world) system { return newStreams(w, noClock, false) }},
	{key: "regional", name: "regional primary (home region)", rule: inOrder,
		build: func(w *world) system { return newStreams(w, noClock, true) }},
	{key: "quorum", name: "quorum with witness (3 of 4)", rule: inOrder,
		build: func(w *world) system { return newLog(w, quorumLog) }},
}
