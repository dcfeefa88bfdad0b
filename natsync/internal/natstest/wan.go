package natstest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// A WAN is a supercluster of single-server clusters, one per region, whose
// gateway connections run through a proxy per region on 127.0.0.1: the
// proxy delays what crosses by the latency between the two regions, counts
// the bytes, and drops the connections between two regions while they
// are cut. Every server names every other region's proxy as an explicit
// remote gateway, and advertises its own proxy, so that no gateway
// connection bypasses the proxies and a cut gateway reconnects forever
// once healed.
type WAN struct {
	// Servers are the regions' servers, in the order of the names given
	// to StartWAN; Restart replaces one.
	Servers []*Server

	names   []string
	latency func(from, to string) time.Duration
	proxies []*proxy
	wg      sync.WaitGroup // the proxies' goroutines

	mu    sync.Mutex
	cut   map[[2]string]bool
	links map[*link]struct{}
	bytes map[[2]string]int64 // from, to: bytes of gateway traffic carried
}

// A proxy listens for the gateway connections into one region.
type proxy struct {
	region string
	ln     net.Listener
	target string // the region's server's gateway address
}

// A link is one gateway connection through a proxy: the gateway of region
// from connected to region to's.
type link struct {
	from, to     string
	client, serv net.Conn
}

// Supercluster starts a WAN with no latency, as StartWAN(names, nil).
func Supercluster(names ...string) (*WAN, error) { return StartWAN(names, nil) }

// StartWAN starts one single-server cluster per name, each region's
// gateway behind its proxy, and waits until every server has a gateway to
// every other region. latency, if not nil, returns the one-way delay from
// one region to another; the proxy adds it to the bytes in each direction.
// JetStream is off (a JetStream supercluster needs routed clusters of
// several servers).
func StartWAN(names []string, latency func(from, to string) time.Duration) (*WAN, error) {
	w := &WAN{names: names, latency: latency, cut: map[[2]string]bool{}, links: map[*link]struct{}{}, bytes: map[[2]string]int64{}}
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			w.Shutdown()
			return nil, err
		}
		w.proxies = append(w.proxies, &proxy{region: name, ln: ln})
	}
	for i, name := range names {
		o := Options("")
		o.ServerName = name
		o.Cluster.Name = name
		o.Gateway = server.GatewayOpts{Name: name, Host: "127.0.0.1", Port: -1, Advertise: w.proxies[i].ln.Addr().String()}
		for j, other := range names {
			if j != i {
				u := &url.URL{Scheme: "nats", Host: w.proxies[j].ln.Addr().String()}
				o.Gateway.Gateways = append(o.Gateway.Gateways, &server.RemoteGatewayOpts{Name: other, URLs: []*url.URL{u}})
			}
		}
		s, err := Start(o)
		if err != nil {
			w.Shutdown()
			return nil, err
		}
		w.Servers = append(w.Servers, s)
		w.proxies[i].target = s.GatewayAddr().String()
	}
	for _, p := range w.proxies {
		w.wg.Go(func() { w.accept(p) })
	}
	if err := w.WaitGateways(20 * time.Second); err != nil {
		w.Shutdown()
		return nil, err
	}
	return w, nil
}

// WaitGateways waits until every running server has an outbound gateway
// to every region not cut off from it.
func (w *WAN) WaitGateways(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i, s := range w.Servers {
		if !s.Running() {
			continue
		}
		want := 0
		for j := range w.names {
			if j != i && !w.isCut(w.names[i], w.names[j]) && w.Servers[j].Running() {
				want++
			}
		}
		for s.NumOutboundGateways() < want {
			if time.Now().After(deadline) {
				return fmt.Errorf("natstest: %d of %d gateways of %s up after %v", s.NumOutboundGateways(), want, s.Name(), timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// Cut drops every gateway connection between regions a and b, both ways,
// and refuses new ones until Heal: NATS then carries nothing between the
// two, as across a broken ocean link.
func (w *WAN) Cut(a, b string) {
	w.mu.Lock()
	w.cut[pair(a, b)] = true
	var drop []*link
	for l := range w.links {
		if pair(l.from, l.to) == pair(a, b) {
			drop = append(drop, l)
		}
	}
	w.mu.Unlock()
	for _, l := range drop {
		l.close()
	}
}

// Heal ends a Cut: the servers' gateways reconnect by themselves, within
// their reconnect delay (about a second).
func (w *WAN) Heal(a, b string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.cut, pair(a, b))
}

// Bytes returns the bytes of gateway traffic carried from region from to
// region to so far, in both directions of the connections from's gateway
// opened to to's, and to's to from's: protocol included.
func (w *WAN) Bytes(from, to string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes[[2]string{from, to}]
}

// Restart starts region i's server again, on its ports, after it was
// shut down (or shuts it down first).
func (w *WAN) Restart(i int) error {
	s, err := w.Servers[i].Restart()
	if err != nil {
		return err
	}
	w.Servers[i] = s
	return nil
}

// Shutdown stops every server and proxy, and waits for the proxies'
// goroutines to end.
func (w *WAN) Shutdown() {
	for _, s := range w.Servers {
		s.Shutdown()
		s.WaitForShutdown()
	}
	for _, p := range w.proxies {
		p.ln.Close()
	}
	w.mu.Lock()
	var all []*link
	for l := range w.links {
		all = append(all, l)
	}
	w.mu.Unlock()
	for _, l := range all {
		l.close()
	}
	w.wg.Wait()
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func (w *WAN) isCut(a, b string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cut[pair(a, b)]
}

// accept takes the gateway connections into p's region until p's
// listener closes.
func (w *WAN) accept(p *proxy) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Go(func() { w.serve(p, c) })
	}
}

// serve carries one gateway connection into p's region: it dials the
// region's server, learns the connecting region from the gateway's
// CONNECT, refuses the connection if the two are cut, and copies both
// ways with the latency between them.
func (w *WAN) serve(p *proxy, c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		c.Close()
		return
	}
	l := &link{to: p.region, client: c, serv: s}
	// The server speaks first, with one INFO line, which the connecting
	// gateway waits for before it answers with CONNECT, naming its
	// region: the INFO goes across at once, the rest with the latency.
	out := bufio.NewReader(s)
	info, err := out.ReadBytes('\n')
	if err == nil {
		_, err = c.Write(info)
	}
	in := bufio.NewReader(c)
	var head []byte
	if err == nil {
		head, l.from, err = readConnect(in)
	}
	w.mu.Lock()
	if err != nil || w.cut[pair(l.from, l.to)] {
		w.mu.Unlock()
		l.close()
		return
	}
	w.links[l] = struct{}{}
	w.mu.Unlock()
	var delay time.Duration
	if w.latency != nil {
		delay = w.latency(l.from, l.to)
	}
	var done sync.WaitGroup
	done.Go(func() { w.copy(l, s, io.MultiReader(bytes.NewReader(head), in), delay, [2]string{l.from, l.to}) })
	done.Go(func() { w.copy(l, c, out, delay, [2]string{l.to, l.from}) })
	done.Wait()
	w.mu.Lock()
	delete(w.links, l)
	w.mu.Unlock()
}

// readConnect reads from a connecting gateway up to its CONNECT line and
// returns what it read and the gateway's region.
func readConnect(r *bufio.Reader) (head []byte, region string, err error) {
	var buf bytes.Buffer
	for buf.Len() < 64<<10 {
		line, err := r.ReadBytes('\n')
		buf.Write(line)
		if err != nil {
			return nil, "", err
		}
		if rest, ok := bytes.CutPrefix(line, []byte("CONNECT ")); ok {
			var info struct {
				Gateway string `json:"gateway"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(rest), &info); err != nil || info.Gateway == "" {
				return nil, "", errors.New("natstest: a gateway CONNECT without a gateway name")
			}
			return buf.Bytes(), info.Gateway, nil
		}
	}
	return nil, "", errors.New("natstest: no CONNECT in the first 64 KiB")
}

// A chunk is bytes read from one side, due on the other at a time.
type chunk struct {
	due time.Time
	b   []byte
}

// copy copies src to dst, each read delivered delay after it was read,
// counting the bytes under dir, until either side fails; then it closes
// the link, which ends the copy of the other direction.
func (w *WAN) copy(l *link, dst io.Writer, src io.Reader, delay time.Duration, dir [2]string) {
	ch := make(chan chunk, 256)
	go func() {
		defer close(ch)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				ch <- chunk{time.Now().Add(delay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		l.close()
		for range ch { // until the reader ends, on the closed link
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			return
		}
		w.mu.Lock()
		w.bytes[dir] += int64(len(c.b))
		w.mu.Unlock()
	}
}

func (l *link) close() {
	l.client.Close()
	l.serv.Close()
}
