package natsync_test

import (
	"bufio"
	"errors"
	"fmt"
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
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/natsync/internal/natstest"
	"github.com/converge-go/converge/vclock"
)

// The crash test runs this test binary again as a child process, which
// TestMain sends to crashChild.
const (
	crashStoreEnv = "NATSYNC_CRASH_STORE" // the child's store
	crashURLEnv   = "NATSYNC_CRASH_URL"   // the server the child connects to
	crashRunEnv   = "NATSYNC_CRASH_RUN"   // the child's number; "quiet" for the last, which writes nothing
	crashKillsEnv = "NATSYNC_CRASH_KILLS" // kills in TestSIGKILLOverNATS; 5 unless set
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashStoreEnv); path != "" {
		crashChild(path, os.Getenv(crashURLEnv), os.Getenv(crashRunEnv))
		return
	}
	os.Exit(m.Run())
}

// crashChild is the node process TestSIGKILLOverNATS kills: replica
// us-east opened on the boltstore at path, with a Transport and a
// JetStream stream on the server at url, writing from two goroutines. On
// stdout it prints "H n" with the number of elements its state holds once
// opened, then "R" once its Transport runs, and "W element" once an
// Update has returned (the write is on the store). The quiet run writes
// nothing and prints every element it holds as "E element" after "H".
func crashChild(path, url, run string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	store, err := boltstore.Open(path)
	if err != nil {
		fail(err)
	}
	r, err := merge.Open("us-east", newCart, store, replicaOpts...)
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
	say(fmt.Sprint("H ", r.State().Len()))
	if run == "quiet" {
		for e := range r.State().All() {
			say("E " + e)
		}
	}
	nc, err := natstest.Connect(url)
	if err != nil {
		fail(err)
	}
	t, err := natsync.New(nc, "carts", r, append(append([]natsync.Option{}, transportOpts...), natsync.WithStream(natsync.Stream{MaxAge: time.Hour}))...)
	if err != nil {
		fail(err)
	}
	say("R")
	if run == "quiet" {
		select {}
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for k := 0; ; k++ {
				e := fmt.Sprintf("%s-%d-%d", run, g, k)
				if err := r.Update(func(w vclock.ReplicaID, s cart) cart { return s.Add(w, e) }); err != nil {
					fail(err)
				}
				t.Notify()
				say("W " + e)
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// A crashRun is one child process and what it printed, read under the
// mutex startCrashChild was given; the writes it reported ("W") go to the
// map of acknowledged writes every run shares.
type crashRun struct {
	cmd   *exec.Cmd
	held  int           // "H": the elements the opened state held
	elems []string      // "E": the quiet run's elements
	ready chan struct{} // closed at "R"
	done  chan error    // the end of its output
}

func startCrashChild(t *testing.T, path, url, run string, acked map[string]bool, mu *sync.Mutex) *crashRun {
	t.Helper()
	c := &crashRun{ready: make(chan struct{}), done: make(chan error, 1), held: -1}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), crashStoreEnv+"="+path, crashURLEnv+"="+url, crashRunEnv+"="+run)
	c.cmd.Stderr = os.Stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		in := bufio.NewScanner(stdout)
		for in.Scan() {
			line := in.Text()
			mu.Lock()
			switch {
			case line == "R":
				close(c.ready)
			case strings.HasPrefix(line, "H "):
				c.held, _ = strconv.Atoi(line[2:])
			case strings.HasPrefix(line, "E "):
				c.elems = append(c.elems, line[2:])
			case strings.HasPrefix(line, "W "):
				acked[line[2:]] = true
			}
			mu.Unlock()
		}
		c.done <- in.Err()
	}()
	select {
	case <-c.ready:
	case err := <-c.done:
		t.Fatalf("child %s stopped before it was ready: %v", run, err)
	case <-time.After(time.Minute):
		t.Fatalf("child %s not ready after a minute", run)
	}
	return c
}

func (c *crashRun) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-c.done; err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// TestSIGKILLOverNATS kills a node process — a replica opened with
// merge.Open on a boltstore, carried by a Transport with a JetStream
// stream — at random moments while it writes, and starts it again on the
// same store. At the end every write the process reported as returned is
// in its store and at its peer, eu-west, a replica in this process over
// the same server, which refused no payload for a reused dot; eu-west
// holds every element of the store, and beyond them only writes a killed
// process published before they were durable, which it never
// acknowledged. NATSYNC_CRASH_KILLS sets the kills (5 by default; 100 for
// the long form).
func TestSIGKILLOverNATS(t *testing.T) {
	kills := 5
	if s := os.Getenv(crashKillsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s=%q: %v", crashKillsEnv, s, err)
		}
		kills = n
	}
	srv := startServer(t, true)
	path := filepath.Join(t.TempDir(), "us-east.db")
	eu := merge.New("eu-west", newCart, replicaOpts...)
	if err := eu.AddPeer("us-east"); err != nil {
		t.Fatal(err)
	}
	var errMu sync.Mutex
	var reused error
	onError := natsync.WithErrorHandler(func(err error) {
		if errors.Is(err, crdt.ErrInconsistent) {
			errMu.Lock()
			reused = err
			errMu.Unlock()
		}
	})
	startTransport(t, connect(t, srv.ClientURL()), eu, natsync.WithStream(natsync.Stream{MaxAge: time.Hour}), onError)

	var mu sync.Mutex
	acked := map[string]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for run := range kills {
		c := startCrashChild(t, path, srv.ClientURL(), strconv.Itoa(run), acked, &mu)
		time.Sleep(time.Duration(30+rng.IntN(120)) * time.Millisecond)
		c.kill(t)
	}
	c := startCrashChild(t, path, srv.ClientURL(), "quiet", acked, &mu)
	defer c.kill(t)

	mu.Lock()
	held := map[string]bool{}
	for _, e := range c.elems {
		held[e] = true
	}
	lost := 0
	for e := range acked {
		if !held[e] {
			lost++
		}
	}
	n, nAcked := c.held, len(acked)
	mu.Unlock()
	if nAcked == 0 {
		t.Fatal("no write acknowledged before the kills")
	}
	if lost > 0 || n != len(held) {
		t.Fatalf("the store holds %d elements (%d listed); %d of %d acknowledged writes are not among them", n, len(held), lost, nAcked)
	}
	// eu-west must come to hold every element on the store. It may hold
	// a few more: writes a killed incarnation published before they were
	// durable (a delta may reach peers before Update returns), which were
	// never acknowledged and so are no loss.
	deadline := time.Now().Add(30 * time.Second)
	extra := 0
	for {
		st := eu.State()
		missing := 0
		for e := range held {
			if !st.Contains(e) {
				missing++
			}
		}
		if missing == 0 && st.Len() >= n {
			extra = st.Len() - n
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eu-west holds %d elements, %d of us-east's %d missing, after 30s", st.Len(), missing, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	errMu.Lock()
	defer errMu.Unlock()
	if reused != nil {
		t.Errorf("eu-west refused a payload for a reused dot: %v", reused)
	}
	t.Logf("%d kills, %d writes acknowledged, %d on the store, all at eu-west (and %d published before a kill, never acknowledged)", kills, nAcked, n, extra)
}
