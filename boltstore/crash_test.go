package boltstore_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/converge-go/converge/boltstore"
	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/vclock"
)

// The crash test runs this test binary again as a child process, which
// TestMain sends to crashChild.
const (
	childEnv = "BOLTSTORE_CRASH_CHILD" // the store's path
	runEnv   = "BOLTSTORE_CRASH_RUN"   // the child's number, for its elements' names
	killsEnv = "BOLTSTORE_CRASH_KILLS" // kills in TestSIGKILL; 20 unless set
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		crashChild(path, os.Getenv(runEnv))
		return
	}
	os.Exit(m.Run())
}

func newSet() *crdt.ORSet[string] { return new(crdt.ORSet[string]) }

// crashChild is the process TestSIGKILL kills: replica us-east on the
// store at path, writing from four goroutines and compacting from a
// fifth. On stdout it prints "R" once the replica is open, "W element"
// once an Update has returned,
// "M base64" for each message to eu-west, and "C+" and "C-" around each
// compaction; on stdin it reads eu-west's messages, one base64 line
// each.
func crashChild(path, run string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	store, err := boltstore.Open(path)
	if err != nil {
		fail(err)
	}
	r, err := merge.Open("us-east", newSet, store)
	if err != nil {
		fail(err)
	}
	if err := r.AddPeer("eu-west"); err != nil {
		fail(err)
	}
	var out sync.Mutex
	say := func(line string) {
		out.Lock()
		defer out.Unlock()
		if _, err := os.Stdout.WriteString(line + "\n"); err != nil {
			os.Exit(0) // the parent is gone
		}
	}
	send := func(msg []byte) {
		if msg != nil {
			say("M " + base64.StdEncoding.EncodeToString(msg))
		}
	}
	say("R")
	go func() {
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(nil, 64<<20)
		for in.Scan() {
			msg, err := base64.StdEncoding.DecodeString(in.Text())
			if err != nil {
				fail(err)
			}
			reply, _ := r.Receive(msg) // refusals are the peer's to count
			send(reply)
		}
	}()
	go func() {
		for {
			say("C+")
			if err := r.Compact(); err != nil {
				fail(err)
			}
			say("C-")
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for g := range 4 {
		go func() {
			for k := 0; ; k++ {
				e := fmt.Sprintf("%s-%d-%d", run, g, k)
				if err := r.Update(func(w vclock.ReplicaID, s *crdt.ORSet[string]) *crdt.ORSet[string] { return s.Add(w, e) }); err != nil {
					fail(err)
				}
				say("W " + e)
			}
		}()
	}
	for {
		time.Sleep(time.Millisecond)
		msg, err := r.Sync("eu-west")
		if err != nil {
			fail(err)
		}
		send(msg)
	}
}

// TestSIGKILL kills a process writing through merge.Open and boltstore
// at random moments, many of them in a compaction, and restarts it. At
// the end every write the process reported as returned is in its store
// and at its peer, eu-west, which validated every payload it merged (a
// reused dot is refused with crdt.ErrInconsistent), and the two
// converge. BOLTSTORE_CRASH_KILLS sets the kills (20 by default; 200 for
// the long form).
func TestSIGKILL(t *testing.T) {
	kills := 20
	if s := os.Getenv(killsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", killsEnv, s, err)
		}
		kills = n
	}
	path := filepath.Join(t.TempDir(), "us-east.db")
	eu := merge.New("eu-west", newSet)
	if err := eu.AddPeer("us-east"); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	inCompaction, refused := 0, 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for run := range kills {
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), childEnv+"="+path, runEnv+"="+strconv.Itoa(run))
		child.Stderr = os.Stderr
		stdin, err := child.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		compacting := false
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			in := bufio.NewScanner(stdout)
			in.Buffer(nil, 64<<20)
			for in.Scan() {
				line := in.Text()
				mu.Lock()
				switch {
				case line == "R":
					close(ready)
				case strings.HasPrefix(line, "W "):
					acked[line[2:]] = true
				case line == "C+":
					compacting = true
				case line == "C-":
					compacting = false
				case strings.HasPrefix(line, "M "):
					msg, err := base64.StdEncoding.DecodeString(line[2:])
					if err != nil {
						mu.Unlock()
						done <- err
						return
					}
					reply, err := eu.Receive(msg)
					if errors.Is(err, crdt.ErrInconsistent) {
						mu.Unlock()
						done <- fmt.Errorf("eu-west found a reused dot: %w", err)
						return
					}
					if err != nil {
						refused++
					}
					if reply != nil {
						io.WriteString(stdin, base64.StdEncoding.EncodeToString(reply)+"\n") // fails once killed
					}
				}
				mu.Unlock()
			}
			done <- in.Err()
		}()
		// The kill lands 20–80 ms after the replica is open, however
		// long the process took to start (the race detector, a loaded
		// machine).
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("run %d: the child stopped before it was ready: %v", run, err)
		case <-time.After(time.Minute):
			t.Fatalf("run %d: the child was not ready after a minute", run)
		}
		time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
		mu.Lock()
		if compacting {
			inCompaction++
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
		err = <-done
		child.Wait()
		stdin.Close()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The last restart, in this process: everything acknowledged is on
	// the store, and the replicas converge.
	store, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	us, err := merge.Open("us-east", newSet, store)
	if err != nil {
		t.Fatal(err)
	}
	defer us.Close()
	if err := us.AddPeer("eu-west"); err != nil {
		t.Fatal(err)
	}
	state := us.State()
	for e := range acked {
		if !state.Contains(e) {
			t.Fatalf("write %s returned, and is not on the store after %d kills", e, kills)
		}
	}
	for round := 0; ; round++ {
		if round == 10 {
			t.Fatalf("no convergence after %d rounds", round)
		}
		du, _ := us.Digest()
		de, _ := eu.Digest()
		if du == de && round > 0 {
			break
		}
		for _, pair := range [][2]*merge.Replica[*crdt.ORSet[string]]{{us, eu}, {eu, us}} {
			from, to := pair[0], pair[1]
			msg, err := from.Sync(to.ID())
			if err != nil {
				t.Fatal(err)
			}
			for msg != nil {
				reply, err := to.Receive(msg)
				if errors.Is(err, crdt.ErrInconsistent) {
					t.Fatalf("a reused dot: %v", err)
				}
				msg, from, to = reply, to, from
			}
		}
		time.Sleep(merge.DefaultRetransmitTimeout)
	}
	final := eu.State()
	for e := range acked {
		if !final.Contains(e) {
			t.Fatalf("write %s returned, and eu-west lacks it after converging", e)
		}
	}
	t.Logf("%d kills, %d in a compaction; %d writes returned; eu-west refused %d messages; %s", kills, inCompaction, len(acked), refused, fmt.Sprint(store.Recovered()))
	if len(acked) == 0 || inCompaction == 0 {
		t.Fatalf("%d writes and %d kills in a compaction: the test tested nothing", len(acked), inCompaction)
	}
}
