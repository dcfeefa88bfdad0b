package main

import (
	"slices"
	"time"
)

// A logMode is how a log leader decides that a write is done.
type logMode uint8

const (
	// asyncLog acknowledges a write once the primary has it, and ships
	// the log to the replicas in batches: active-passive with
	// asynchronous replication.
	asyncLog logMode = iota
	// syncLog acknowledges a write once one replica has it too (ANY 1,
	// in PostgreSQL's words): active-passive with synchronous
	// replication.
	syncLog
	// quorumLog acknowledges a write once a majority of the four regions
	// has it (a Raft-like log): the minority side of a partition cannot
	// write.
	quorumLog
)

// Timing of the log designs.
const (
	shipEvery       = 200 * time.Millisecond // async: log shipping batches
	leaseTimeout    = 2 * time.Second        // quorum: a follower that has not heard from the leader for this long refuses writes
	electionTimeout = 5 * time.Second        // quorum: a leader silent this long is replaced
	electionCheck   = 500 * time.Millisecond
)

// Messages of the log designs.
type (
	appendMsg struct {
		term    int32
		from    int // index of entries[0] in the log
		entries []*entry
		commit  int
	}
	appendAck struct {
		term  int32
		match int // the follower's log length, all of it the leader's
		stale bool
	}
	snapshotMsg struct {
		term   int32
		log    []*entry
		commit int
		state  *replica
	}
)

// logSys is the node program of the designs with one leader that orders
// every write in a log and replicates the log to the other regions: the
// two active-passive designs and the quorum design. Writes reach the
// leader through the app servers of the region the client reached, which
// forward them to the endpoint they resolve for the database.
type logSys struct {
	w    *world
	mode logMode

	leader   int   // the region that leads, as the failover controller decided
	term     int32 // the leader's term
	endpoint int   // where app servers send writes

	terms    [nRegions]int32 // each region's view of the term
	logs     [nRegions][]*entry
	applied  [nRegions]int // each region has applied its log up to here
	commit   int           // leader: entries below are done
	match    [nRegions]int // leader: each follower's log matches up to here
	sent     [nRegions]int // leader: sent to each follower up to here
	progress [nRegions]time.Duration
	heard    [nRegions]time.Duration     // follower: last message from the leader
	lastAck  [nRegions]time.Duration     // leader: last message from each follower
	held     [nRegions]map[int]appendMsg // follower: appends that overtook earlier ones
	replies  map[*write]func(bool)       // leader: writes awaiting their commit
}

func newLog(w *world, mode logMode) *logSys {
	l := &logSys{w: w, mode: mode, leader: usEast, endpoint: usEast, replies: map[*write]func(bool){}}
	for n := range l.held {
		l.held[n] = map[int]appendMsg{}
	}
	tick := streamTick
	if mode == asyncLog {
		tick = shipEvery
	}
	for n := range nRegions {
		w.s.Every(tick, tick, func() bool {
			l.tick(n)
			return true
		})
	}
	if mode == quorumLog {
		w.s.Every(electionCheck, electionCheck, func() bool {
			l.elect()
			return true
		})
	}
	return l
}

func (l *logSys) write(n int, wr *write, reply func(bool)) {
	switch {
	case l.mode == quorumLog && n != l.leader && l.w.now()-l.heard[n] > leaseTimeout:
		reply(false) // cut off from the leader: read-only
	case n != l.endpoint:
		l.w.send(n, l.endpoint, fwdWrite{wr, reply})
	default:
		l.append(n, wr, reply)
	}
}

// append adds wr to the log, if n leads.
func (l *logSys) append(n int, wr *write, reply func(bool)) {
	if n != l.leader || l.terms[n] != l.term || !l.leased() {
		reply(false) // deposed or cut off: the client retries later
		return
	}
	r := l.w.reps[n]
	e := r.stamp(wr, noClock, false)
	e.term = l.term
	l.logs[n] = append(l.logs[n], e)
	if l.mode == asyncLog {
		l.advance(len(l.logs[n]))
		reply(true)
		return
	}
	l.replies[wr] = reply
	for p := range nRegions {
		if p != n {
			l.ship(p, false)
		}
	}
}

// ship sends follower p the entries it has not been sent; with
// heartbeat, an empty append if there are none, which tells the
// follower that the leader lives.
func (l *logSys) ship(p int, heartbeat bool) {
	n, log := l.leader, l.logs[l.leader]
	end := len(log)
	if sc := l.w.sc; l.mode == asyncLog && sc.spikeCap > 0 && l.w.now() >= sc.spikeStart && l.w.now() < sc.outageStart {
		end = min(end, l.sent[p]+sc.spikeCap)
	}
	if l.sent[p] >= end && !heartbeat {
		return
	}
	if l.sent[p] == l.match[p] && l.sent[p] < end {
		l.progress[p] = l.w.now() // the follower was up to date: time what follows
	}
	l.w.send(n, p, appendMsg{l.term, l.sent[p], log[l.sent[p]:end:end], l.commit})
	l.sent[p] = end
}

// tick is node n's timer: a leader ships its log (an empty append is a
// heartbeat) and resends what a follower has not acknowledged in time.
func (l *logSys) tick(n int) {
	if n != l.leader || !l.w.up(n) {
		return
	}
	for p := range nRegions {
		if p == n {
			continue
		}
		if l.sent[p] > l.match[p] && l.w.now()-l.progress[p] >= streamRTO {
			l.sent[p] = l.match[p] // no progress: resend from the follower's match
			l.progress[p] = l.w.now()
		}
		l.ship(p, true)
	}
}

// leased reports whether the leader has heard from enough followers
// lately to know it still leads: a leader cut off from the majority
// stops taking writes, as its followers elect another.
func (l *logSys) leased() bool {
	if l.mode != quorumLog {
		return true
	}
	k := 1
	for p := range nRegions {
		if p != l.leader && l.w.now()-l.lastAck[p] <= leaseTimeout {
			k++
		}
	}
	return k > nRegions/2
}

// advance commits the leader's log up to c and applies it.
func (l *logSys) advance(c int) {
	if c <= l.commit {
		return
	}
	n := l.leader
	for _, e := range l.logs[n][l.commit:c] {
		if e.w != nil && l.mode != asyncLog {
			if reply, ok := l.replies[e.w]; ok {
				delete(l.replies, e.w)
				reply(true)
			}
		}
	}
	l.commit = c
	l.applyTo(n, c)
}

// applyTo applies region n's log up to c.
func (l *logSys) applyTo(n, c int) {
	c = min(c, len(l.logs[n]))
	if c <= l.applied[n] {
		return // an older commit index, from a late message
	}
	r := l.w.reps[n]
	for _, e := range l.logs[n][l.applied[n]:c] {
		r.apply(e)
	}
	l.applied[n] = c
}

func (l *logSys) receive(n, from int, m any) {
	switch m := m.(type) {
	case fwdWrite:
		if n != l.endpoint && n != l.leader {
			m.reply(false)
			return
		}
		l.append(n, m.w, func(ok bool) { l.w.send(n, from, fwdReply{ok, m.reply}) })
	case fwdReply:
		m.reply(m.ok)
	case appendMsg:
		l.onAppend(n, from, m)
	case appendAck:
		l.onAck(n, from, m)
	case snapshotMsg:
		if m.term < l.terms[n] {
			return
		}
		l.terms[n] = m.term
		l.heard[n] = l.w.now()
		l.logs[n] = slices.Clone(m.log)
		l.w.reps[n].install(m.state)
		l.applied[n] = m.commit
		l.w.send(n, from, appendAck{term: m.term, match: len(m.log)})
	}
}

func (l *logSys) onAppend(n, from int, m appendMsg) {
	switch {
	case m.term < l.terms[n]:
		return // from a deposed leader
	case m.term > l.terms[n] && len(l.logs[n]) > 0 && l.logs[n][len(l.logs[n])-1].term < m.term && l.diverged(n, from):
		// A new leader, and this log has entries it lacks: start over
		// from the leader's state.
		l.terms[n] = m.term
		l.w.send(n, from, appendAck{term: m.term, stale: true})
		return
	}
	if m.term > l.terms[n] {
		clear(l.held[n]) // what an old leader sent is void
	}
	l.terms[n] = m.term
	l.heard[n] = l.w.now()
	if m.from > len(l.logs[n]) {
		// It overtook an earlier append, which is still on its way (or
		// lost: the leader resends after streamRTO). The connection
		// delivers in order, as TCP does.
		l.held[n][m.from] = m
		return
	}
	l.take(n, m)
	c := m.commit
	for progress := true; progress; {
		progress = false
		for from, h := range l.held[n] {
			if from <= len(l.logs[n]) {
				delete(l.held[n], from)
				l.take(n, h)
				c = max(c, h.commit)
				progress = true
			}
		}
	}
	if l.mode == asyncLog || l.mode == syncLog {
		c = len(l.logs[n]) // a replica applies what the primary sends
	}
	l.applyTo(n, c)
	l.w.send(n, from, appendAck{term: m.term, match: len(l.logs[n])})
}

// take appends the entries of m that region n's log lacks; m starts
// within the log.
func (l *logSys) take(n int, m appendMsg) {
	log := l.logs[n]
	if end := m.from + len(m.entries); end > len(log) {
		l.logs[n] = append(log, m.entries[len(log)-m.from:]...)
	}
}

// diverged reports whether region n's log holds entries the leader's
// lacks (the simulator compares the logs; Raft finds the same point with
// its consistency check, one round trip per step back).
func (l *logSys) diverged(n, leader int) bool {
	mine, theirs := l.logs[n], l.logs[leader]
	if len(mine) > len(theirs) {
		return true
	}
	return len(mine) > 0 && theirs[len(mine)-1] != mine[len(mine)-1]
}

func (l *logSys) onAck(n, from int, m appendAck) {
	if n != l.leader || m.term != l.term {
		return
	}
	if m.stale {
		r := l.w.reps[n]
		l.w.send(n, from, snapshotMsg{l.term, slices.Clone(l.logs[n][:l.applied[n]]), l.applied[n], r.snapshot()})
		l.sent[from], l.match[from] = l.applied[n], 0
		return
	}
	l.lastAck[from] = l.w.now()
	if m.match > l.match[from] {
		l.match[from] = m.match
		l.progress[from] = l.w.now()
	}
	l.sent[from] = max(l.sent[from], l.match[from])
	need := 1 // other regions that must have an entry: sync, ANY 1
	if l.mode == quorumLog {
		need = nRegions / 2 // with the leader, a majority of the four
	}
	if l.mode == asyncLog {
		return
	}
	ms := make([]int, 0, nRegions-1)
	for p := range nRegions {
		if p != n {
			ms = append(ms, l.match[p])
		}
	}
	slices.Sort(ms)
	l.advance(ms[len(ms)-need])
}

// detected is the failover controller of the active-passive designs:
// when health checks declare the primary's region down, it promotes the
// replica with the longest log (async: the standby in us-west, whatever
// it lacks), and points the database's DNS name at it; app servers
// follow after the TTL.
func (l *logSys) detected(n int) {
	if l.mode == quorumLog || n != l.leader {
		return
	}
	next := usWest
	if l.mode == syncLog {
		for _, p := range []int{usWest, euWest, apSouth} {
			if l.w.up(p) && len(l.logs[p]) > len(l.logs[next]) {
				next = p
			}
		}
	}
	l.promote(next)
	l.w.note("%s: %s declared down; %s promoted, DNS follows at %s",
		fmtAt(l.w.now()), regionNames[n], regionNames[next], fmtAt(l.w.now()+l.w.sc.ttl))
	l.w.s.After(l.w.sc.ttl, func() { l.endpoint = next })
}

// promote makes region p the leader of a new term.
func (l *logSys) promote(p int) {
	l.term++
	l.leader = p
	l.terms[p] = l.term
	for q := range nRegions {
		l.sent[q], l.match[q], l.progress[q], l.lastAck[q] = 0, 0, l.w.now(), l.w.now()
	}
	l.replies = map[*write]func(bool){}
	l.commit = l.applied[p]
	if l.mode != quorumLog {
		l.advance(len(l.logs[p]))
	}
	for q := range nRegions {
		if q != p {
			l.ship(q, true) // announces the term; followers answer with their match
		}
	}
}

// elect is the quorum design's election, modelled rather than played
// message by message: when the voters have not heard from the leader for
// electionTimeout, the most up-to-date voter that reaches a majority
// becomes leader, as Raft's election restriction makes sure; ap-south,
// the witness, votes and keeps the log but does not lead. App servers
// learn the new leader from the election.
func (l *logSys) elect() {
	now := l.w.now()
	if l.w.up(l.leader) {
		reach := 1
		for p := range nRegions {
			if p != l.leader && l.w.s.Connected(nodeOf(l.leader), nodeOf(p)) {
				reach++
			}
		}
		if reach > nRegions/2 {
			return
		}
	}
	best := -1
	for _, p := range []int{usWest, usEast, euWest} {
		if p == l.leader || !l.w.up(p) || now-l.heard[p] < electionTimeout {
			continue
		}
		votes := 1
		for q := range nRegions {
			if q != p && l.w.s.Connected(nodeOf(p), nodeOf(q)) {
				votes++
			}
		}
		if votes > nRegions/2 && (best < 0 || len(l.logs[p]) > len(l.logs[best])) {
			best = p
		}
	}
	if best < 0 {
		return
	}
	old := l.leader
	l.promote(best)
	l.endpoint = best
	l.w.note("%s: %s elected leader (%s unreachable)", fmtAt(now), regionNames[best], regionNames[old])
}
