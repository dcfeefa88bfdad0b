package natsync_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/converge-go/converge/crdt"
	"github.com/converge-go/converge/merge"
	"github.com/converge-go/converge/natsync"
	"github.com/converge-go/converge/vclock"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// gather returns the metrics of reg by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value returns the value of the metric of f whose labels include want.
func value(f *dto.MetricFamily, want map[string]string) (float64, bool) {
	for _, m := range f.GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		if n < len(want) {
			continue
		}
		if c := m.GetCounter(); c != nil {
			return c.GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	s := startServer(t, false)
	all := ids(3)
	r0, r1, r2 := newReplica(t, all[0], all), newReplica(t, all[1], all), newReplica(t, all[2], all)
	t0 := startTransport(t, connect(t, s.ClientURL()), r0)
	t1 := startTransport(t, connect(t, s.ClientURL()), r1)
	t2 := startTransport(t, connect(t, s.ClientURL()), r2)
	add(t, t0, "a", 3)
	waitEqual(t, 10*time.Second, 3, r0, r1, r2)
	t2.Close() // r2 goes quiet: r0's deltas to it stay unacknowledged
	add(t, t0, "b", 3)
	waitEqual(t, 10*time.Second, 6, r0, r1)
	time.Sleep(50 * time.Millisecond)

	// A keyspace of another set, exported beside them, adds its own.
	ks := merge.NewKeyspace[string]("k0", func() cart { return new(crdt.ORSet[string]) })
	for _, k := range []string{"x", "y"} {
		if err := ks.Update(k, func(w vclock.ReplicaID, s cart) cart { return s.Add(w, "item") }); err != nil {
			t.Fatal(err)
		}
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(t0, t1) // two Transports side by side
	reg.MustRegister(natsync.NewCollector("profiles", ks))
	got := gather(t, reg)
	for name, spec := range natsync.Metrics() {
		f, ok := got[name]
		if !ok {
			t.Errorf("metric %s not gathered", name)
			continue
		}
		if kind := strings.ToLower(f.GetType().String()); kind != spec[0] {
			t.Errorf("%s is a %s, want a %s", name, kind, spec[0])
		}
	}
	if len(got) != len(natsync.Metrics()) {
		t.Errorf("gathered %d metrics, want %d", len(got), len(natsync.Metrics()))
	}
	r0r2 := map[string]string{"set": "carts", "replica": "r0", "peer": "r2"}
	if v, _ := value(got["converge_peer_unacked_deltas"], r0r2); v != 3 {
		t.Errorf("r0's unacked deltas for r2: got %v, want 3", v)
	}
	if v, _ := value(got["converge_peer_oldest_unacked_seconds"], r0r2); v <= 0 {
		t.Errorf("r0's oldest unacked delta for r2: got %vs, want > 0", v)
	}
	r0r1 := map[string]string{"replica": "r0", "peer": "r1"}
	if v, _ := value(got["converge_peer_unacked_deltas"], r0r1); v != 0 {
		t.Errorf("r0's unacked deltas for r1: got %v, want 0", v)
	}
	if v, _ := value(got["converge_natsync_published_total"], map[string]string{"replica": "r0", "kind": "bundle"}); v == 0 {
		t.Errorf("r0's bundles published: got %v, want some", v)
	}
	if v, _ := value(got["converge_replica_deltas_total"], map[string]string{"replica": "r0"}); v != 6 {
		t.Errorf("r0's deltas: got %v, want 6", v)
	}

	if v, _ := value(got["converge_keyspace_keys"], map[string]string{"replica": "k0"}); v != 2 {
		t.Errorf("k0's keys: got %v, want 2", v)
	}
	if v, _ := value(got["converge_replica_deltas_total"], map[string]string{"replica": "k0"}); v != 2 {
		t.Errorf("k0's deltas: got %v, want 2", v)
	}

	// A replica alone exports the same, less the transport's and a
	// keyspace's.
	reg = prometheus.NewPedanticRegistry()
	reg.MustRegister(natsync.NewCollector("carts", r2))
	got = gather(t, reg)
	for name := range natsync.Metrics() {
		_, ok := got[name]
		want := !strings.HasPrefix(name, "converge_natsync_") && !strings.HasPrefix(name, "converge_keyspace_")
		if ok != want {
			t.Errorf("NewCollector of a replica: %s gathered %v, want %v", name, ok, want)
		}
	}
}

// Every metric is listed in the package documentation and in the
// module's README table, and nothing else is.
func TestMetricsDocumented(t *testing.T) {
	names := regexp.MustCompile(`\bconverge_[a-z_]+[a-z]\b`)
	for _, file := range []string{"doc.go", "README.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, n := range names.FindAllString(string(b), -1) {
			seen[n] = true
			if _, ok := natsync.Metrics()[n]; !ok {
				t.Errorf("%s names %s, which is not exported", file, n)
			}
		}
		for n := range natsync.Metrics() {
			if !seen[n] {
				t.Errorf("%s does not list %s", file, n)
			}
		}
	}
}

// alerts.yml parses as Prometheus rule groups whose expressions name
// only metrics that exist, grouped by labels they have.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`\bconverge_[a-z_]+[a-z]\b`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	metrics := natsync.Metrics()
	var rules int
	lagAlert := false
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: want an alert name, an expression and a summary", r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			used := names.FindAllString(r.Expr, -1)
			if len(used) == 0 {
				t.Errorf("%s: %q names no converge metric", r.Alert, r.Expr)
			}
			for _, n := range used {
				spec, ok := metrics[n]
				if !ok {
					t.Errorf("%s: %s is not a metric natsync exports", r.Alert, n)
					continue
				}
				lagAlert = lagAlert || n == "converge_peer_oldest_unacked_seconds"
				labels := append([]string{"set", "replica"}, spec[1:]...)
				for _, m := range by.FindAllStringSubmatch(r.Expr, -1) {
					for l := range strings.SplitSeq(m[1], ",") {
						if l = strings.TrimSpace(l); !slices.Contains(labels, l) {
							t.Errorf("%s: groups %s by %q, a label it does not have (%v)", r.Alert, n, l, labels)
						}
					}
				}
			}
		}
	}
	if rules == 0 || !lagAlert {
		t.Errorf("%d rules, lag alert %v: want rules, one on converge_peer_oldest_unacked_seconds", rules, lagAlert)
	}
}
