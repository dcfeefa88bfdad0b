// Package natstest runs embedded NATS servers on 127.0.0.1 for natsync's
// tests, examples and programs: a single server, with or without
// JetStream, restarted on its port with its store kept, and clusters of
// one server joined by gateways into a supercluster whose gateways run
// through proxies that add latency and can be cut (wan.go).
package natstest

import (
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// A Server is an embedded nats-server and the options it was started
// with, its random ports replaced by those it took, so that it can be
// restarted on the same ports with the same store.
type Server struct {
	*server.Server
	Opts *server.Options
}

// Options returns the options of a quiet server on 127.0.0.1 at a random
// port; storeDir, if not "", enables JetStream with its files there.
func Options(storeDir string) *server.Options {
	o := &server.Options{
		Host:   "127.0.0.1",
		Port:   -1,
		NoLog:  true,
		NoSigs: true,
	}
	if storeDir != "" {
		o.JetStream = true
		o.StoreDir = storeDir
	}
	return o
}

// Start starts a server with o and waits until it accepts clients.
func Start(o *server.Options) (*Server, error) {
	s, err := server.NewServer(o)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natstest: server not ready after 10s")
	}
	srv := &Server{Server: s, Opts: o.Clone()}
	srv.Opts.Port = s.Addr().(*net.TCPAddr).Port
	if ga := s.GatewayAddr(); ga != nil {
		srv.Opts.Gateway.Port = ga.Port
	}
	return srv, nil
}

// Restart shuts s down, if it is running, and starts a new server with
// the same options, on the same client and gateway ports (and so the
// same store directory).
func (s *Server) Restart() (*Server, error) {
	o := s.Opts.Clone()
	s.Shutdown()
	s.WaitForShutdown()
	return Start(o)
}

// Connect connects to s as natsync's tests do: reconnecting forever,
// every 20 ms, with the given options after those.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.RetryOnFailedConnect(true),
	}
	return nats.Connect(url, append(base, opts...)...)
}

// Goroutines waits, up to timeout, until at most n goroutines run, and
// returns how many do: for a test that checks that what it stopped let
// its goroutines end.
func Goroutines(n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}
