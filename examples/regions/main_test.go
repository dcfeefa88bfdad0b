package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A row is one design's line of the main table, as printed.
type row struct {
	acked, rejected, lost, conflicting, vsCausal int
	converged                                    string
}

// output runs the program with its defaults, a chart and an HTML report,
// once for all the tests of this file, and returns what it printed and
// the chart.
func output(t *testing.T) (string, string) {
	t.Helper()
	r := outputs(t)
	return r.out, r.svg
}

// A runOutput is what one run of the program wrote.
type runOutput struct{ out, svg, html string }

var outputs = func() func(t *testing.T) runOutput {
	var r runOutput
	return func(t *testing.T) runOutput {
		t.Helper()
		if r.out == "" {
			dir, err := os.MkdirTemp("", "regions")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			chart, report := filepath.Join(dir, "regions.svg"), filepath.Join(dir, "regions.html")
			var b bytes.Buffer
			cfg := config{seed: 1, duration: 10 * time.Minute, skew: 50 * time.Millisecond, chart: chart, html: report}
			if err := run(&b, cfg); err != nil {
				t.Fatal(err)
			}
			svg, err := os.ReadFile(chart)
			if err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			r = runOutput{b.String(), string(svg), string(page)}
		}
		return r
	}
}()

// section returns the lines that follow the first line starting with
// header, up to a blank line.
func section(t *testing.T, out, header string) []string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, header) {
			n := i + 1
			for n < len(lines) && lines[n] != "" {
				n++
			}
			return lines[i+1 : n]
		}
	}
	t.Fatalf("no %q in the output:\n%s", header, out)
	return nil
}

// fields returns the fields after design's name on its line of lines.
func fields(t *testing.T, lines []string, d *design) []string {
	t.Helper()
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, d.name+" "); ok {
			return strings.Fields(strings.ReplaceAll(rest, "|", " "))
		}
	}
	t.Fatalf("no line for %q in\n%s", d.name, strings.Join(lines, "\n"))
	return nil
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

func rows(t *testing.T, out string) map[string]row {
	t.Helper()
	lines := section(t, out, "design  ")
	m := map[string]row{}
	for _, d := range designs {
		f := fields(t, lines, d)
		if len(f) != 9 {
			t.Fatalf("%s: got %d fields %q, want 9", d.name, len(f), f)
		}
		m[d.key] = row{atoi(t, f[0]), atoi(t, f[1]), atoi(t, f[2]), atoi(t, f[3]), atoi(t, f[4]), f[5]}
	}
	return m
}

func byKey(key string) *design {
	for _, d := range designs {
		if d.key == key {
			return d
		}
	}
	panic("no design " + key)
}

// TestConclusions checks the table's conclusions, from the program's own
// output with its default flags.
func TestConclusions(t *testing.T) {
	out, _ := output(t)
	r := rows(t, out)
	for key, x := range r {
		if x.acked == 0 {
			t.Errorf("%s: no write acknowledged", key)
		}
		if x.converged == "no" {
			t.Errorf("%s: did not converge after the heal", key)
		}
	}
	if x := r["crdt"]; x.lost != 0 || x.vsCausal != 0 {
		t.Errorf("CRDTs: got %d lost, %d against causality, want 0 and 0", x.lost, x.vsCausal)
	}
	if x := r["lww-wall"]; x.vsCausal < 1 {
		t.Errorf("wall-clock LWW under %v skew: got %d writes resolved against causality, want ≥ 1", 50*time.Millisecond, x.vsCausal)
	}
	if x := r["lww-hlc"]; x.vsCausal != 0 {
		t.Errorf("HLC LWW: got %d writes resolved against causality, want 0", x.vsCausal)
	}
	if x := r["regional"]; x.conflicting != 0 || x.lost != 0 {
		t.Errorf("regional primary: got %d conflicting, %d lost, want 0 and 0", x.conflicting, x.lost)
	}
	if x := r["sync"]; x.lost != 0 {
		t.Errorf("sync active-passive: got %d lost, want 0", x.lost)
	}
	if x := r["quorum"]; x.lost != 0 || x.rejected == 0 {
		t.Errorf("quorum: got %d lost, %d rejected, want 0 lost and some rejected", x.lost, x.rejected)
	}
}

// TestActiveActiveNumbersExplained checks the two sentences the program
// prints under its table: every write an active-active design rejects is
// a us-east user's during the outage, before DNS moves them, and the two
// LWW designs show the same stale share, since they ship writes on one
// schedule and their merge rule does not change which writes a region
// has.
func TestActiveActiveNumbersExplained(t *testing.T) {
	out, _ := output(t)
	main := section(t, out, "design  ")
	rej := section(t, out, "rejected writes")
	var stale []string
	for _, key := range []string{"lww-wall", "lww-hlc", "crdt"} {
		d := byKey(key)
		total := atoi(t, fields(t, main, d)[1])
		f := fields(t, rej, d)
		if len(f) != 8 {
			t.Fatalf("%s: got %d rejected fields %q, want 8", key, len(f), f)
		}
		if got := atoi(t, f[4]); got != total || total == 0 {
			t.Errorf("%s: %d writes rejected, %d of them us-east users' during the outage; want all, and some", key, total, got)
		}
		stale = append(stale, fields(t, main, d)[8])
	}
	if stale[0] != stale[1] {
		t.Errorf("the LWW designs' stale shares differ: %q", stale[:2])
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, s := range []string{"rejected by every active-active design", "same stale share"} {
		if !strings.Contains(flat, s) {
			t.Errorf("the output does not explain its numbers: no %q", s)
		}
	}
}

// TestAnycastRecoversFaster: with DNS failover, us-east users write
// again about one TTL later than with anycast, which moves them as soon as
// the region is declared down; so anycast rejects fewer of their writes.
func TestAnycastRecoversFaster(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, "failover routing")
	if len(lines) != 3 {
		t.Fatalf("failover routing: got %d lines, want a header and 2 rows:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	parse := func(l string) (int, time.Duration) {
		f := strings.Fields(l)
		var m int
		var s float64
		if _, err := fmt.Sscanf(f[len(f)-1], "%d:%f", &m, &s); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		return atoi(t, f[len(f)-2]), time.Duration(m)*time.Minute + time.Duration(s*float64(time.Second))
	}
	dnsRej, dnsAt := parse(lines[1])
	anyRej, anyAt := parse(lines[2])
	if d := dnsAt - anyAt; d < dnsTTL-healthEvery || d > dnsTTL+healthEvery {
		t.Errorf("DNS resumes %v after anycast, want the TTL %v ± %v", d, dnsTTL, healthEvery)
	}
	if anyRej >= dnsRej {
		t.Errorf("anycast rejected %d us-east writes, DNS %d: want fewer", anyRej, dnsRej)
	}
}

// TestAsyncLossGrowsWithLag: the tighter the replication link during the
// load spike, the further the async replicas trail at the failover and
// the more acknowledged writes it loses.
func TestAsyncLossGrowsWithLag(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, "replication lag under load")
	if len(lines) != 3+len(spikeCaps) {
		t.Fatalf("replication lag under load: got %d lines, want a header, %d rows and a note:\n%s", len(lines), 1+len(spikeCaps), strings.Join(lines, "\n"))
	}
	prevLag, prevLost := time.Duration(-1), -1
	for _, l := range lines[1 : 2+len(spikeCaps)] {
		f := strings.Fields(l)
		lag, err := time.ParseDuration(f[len(f)-2])
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lost := atoi(t, f[len(f)-1])
		if lag <= prevLag || lost <= prevLost {
			t.Errorf("%q: lag %v and %d lost, want both above the row before (%v, %d)", l, lag, lost, prevLag, prevLost)
		}
		prevLag, prevLost = lag, lost
	}
	if prevLag < time.Second {
		t.Errorf("the tightest link trails by %v at the failover, want seconds", prevLag)
	}
}

// TestCachedReads: for reads of items homed in another region, a local
// cache of the home region is faster than reading the home and staler.
func TestCachedReads(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, "cross-region reads")
	if len(lines) != 2+nReadWays {
		t.Fatalf("cross-region reads: got %d lines, want a header, %d rows and a note:\n%s", len(lines), nReadWays, strings.Join(lines, "\n"))
	}
	type way struct {
		p50   time.Duration
		stale float64
	}
	var ways [nReadWays]way
	for i := range ways {
		f := strings.Fields(strings.TrimPrefix(lines[1+i], readWayNames[i]))
		if len(f) != 3 {
			t.Fatalf("%q: want p50, stale and failed", lines[1+i])
		}
		p50, err := time.ParseDuration(f[0])
		if err != nil {
			t.Fatal(err)
		}
		stale, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil {
			t.Fatal(err)
		}
		ways[i] = way{p50, stale}
	}
	home, cache := ways[readHome], ways[readCached]
	if cache.p50 >= home.p50 || cache.stale <= home.stale {
		t.Errorf("cache: p50 %v, %.1f%% stale; home: p50 %v, %.1f%% stale; want the cache faster and staler", cache.p50, cache.stale, home.p50, home.stale)
	}
}

// labelled returns the value after label on the lines of a section that
// lists one figure a line: "  label   value".
func labelled(t *testing.T, lines []string, label string) string {
	t.Helper()
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), label+" "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no %q in\n%s", label, strings.Join(lines, "\n"))
	return ""
}

// firstInt returns the integer a value starts with.
func firstInt(t *testing.T, s string) int {
	t.Helper()
	f := strings.Fields(s)
	if len(f) == 0 {
		t.Fatalf("no number in %q", s)
	}
	return atoi(t, f[0])
}

// TestCRDTThroughMergeReplica checks that the CRDT design's figures come
// from converge's own replication: merge.Replica's messages, over a
// network that reordered and duplicated some of them, and still no
// acknowledged write lost, and the regions converged.
func TestCRDTThroughMergeReplica(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, byKey("crdt").name+", replicated by merge.Replica")
	if n := firstInt(t, labelled(t, lines, "merge messages")); n == 0 {
		t.Error("no merge message counted")
	}
	if n := firstInt(t, labelled(t, lines, "reordered")); n == 0 {
		t.Error("no delivery reordered: the network should reorder merge messages")
	}
	if n := firstInt(t, labelled(t, lines, "delivered twice")); n == 0 {
		t.Error("no delivery duplicated")
	}
	if n := firstInt(t, labelled(t, lines, "acked writes lost")); n != 0 {
		t.Errorf("got %d acknowledged writes lost, want 0", n)
	}
	if c := labelled(t, lines, "converged"); c == "no" {
		t.Error("the CRDT design did not converge")
	}
	if r := rows(t, out)["crdt"]; r.lost != 0 || r.converged == "no" {
		t.Errorf("table: got %d lost, converged %q; want 0 lost and converged", r.lost, r.converged)
	}
}

// TestAsyncLosesItsLag checks that async active-passive loses writes at
// failover, all of them acknowledged by the old primary in the last
// replication interval before it failed: at most one shipping period
// plus a one-way trip to us-west (and a little for the client's reply).
func TestAsyncLosesItsLag(t *testing.T) {
	out, _ := output(t)
	lost := rows(t, out)["async"].lost
	if lost == 0 {
		t.Fatal("async active-passive lost no write at failover, want the writes of its replication lag")
	}
	prefix := "  async    " + strconv.Itoa(lost) + " lost writes were acknowledged "
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no line %q…: the %d lost writes are not all around the outage:\n%s", prefix, lost, out)
	}
	var from, to int
	if _, err := fmt.Sscanf(strings.TrimPrefix(line, prefix), "%dms to %dms", &from, &to); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if window := -(shipEvery + 50*time.Millisecond).Milliseconds(); from < int(window) || to > 0 {
		t.Errorf("lost writes acknowledged from %+dms to %+dms of the outage, want within [%dms, 0]", from, to, window)
	}
}

// TestSyncPaysARoundTrip checks that synchronous replication costs the
// users next to the primary about one us-east ↔ us-west round trip
// (60–80 ms) more than asynchronous.
func TestSyncPaysARoundTrip(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, "p50 write latency, by where the user was")
	p50 := func(key string) time.Duration {
		f := fields(t, lines, byKey(key))
		d, err := time.ParseDuration(f[0])
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if extra := p50("sync") - p50("async"); extra < 55*time.Millisecond || extra > 95*time.Millisecond {
		t.Errorf("sync costs us-east users %v more than async at p50, want about one us-east ↔ us-west round trip (60–80ms)", extra)
	}
}

// TestQuorumMinorityReadOnly checks that during the partition the quorum
// design refuses the writes of eu-west, the minority side, and takes
// those of the US side.
func TestQuorumMinorityReadOnly(t *testing.T) {
	out, _ := output(t)
	f := fields(t, section(t, out, "rejected writes, by where the user was: during the partition | during the outage"), byKey("quorum"))
	if eu := atoi(t, f[2]); eu == 0 {
		t.Errorf("quorum: eu-west users had no write rejected during the partition, want the minority side read-only")
	}
	if us := atoi(t, f[0]) + atoi(t, f[1]); us != 0 {
		t.Errorf("quorum: US users had %d writes rejected during the partition, want 0 on the majority side", us)
	}
	if !strings.Contains(out, "quorum   ") || !strings.Contains(out, "us-west elected leader") {
		t.Errorf("no election of us-west after the us-east outage in:\n%s", out)
	}
}

// TestChart checks that -chart wrote an SVG with a row per design and
// the three panels.
func TestChart(t *testing.T) {
	_, svg := output(t)
	if !strings.HasPrefix(svg, "<?xml") || !strings.Contains(svg, "<svg") {
		t.Fatalf("chart is not SVG: %.100q", svg)
	}
	for _, d := range designs {
		if !strings.Contains(svg, ">"+html.EscapeString(d.name)+"<") {
			t.Errorf("chart has no row %q", d.name)
		}
	}
	for _, p := range panels {
		if !strings.Contains(svg, ">"+p.title+"<") {
			t.Errorf("chart has no panel %q", p.title)
		}
	}
	if !strings.Contains(svg, "sans-serif") {
		t.Error("chart names no generic font family to fall back on")
	}
}

// TestCommittedFilesAreCurrent checks that the chart README.md shows and
// the report it links, docs/regions.svg and docs/regions.html, are what
// the program's default run draws: a change to the simulation or to its
// drawing must come with them. REGIONS_UPDATE=1 go test -run
// TestCommittedFilesAreCurrent ./examples/regions writes them again.
func TestCommittedFilesAreCurrent(t *testing.T) {
	r := outputs(t)
	for _, f := range []struct{ path, got string }{
		{"../../docs/regions.svg", r.svg},
		{"../../docs/regions.html", r.html},
	} {
		if os.Getenv("REGIONS_UPDATE") == "1" {
			if err := os.WriteFile(f.path, []byte(f.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != f.got {
			t.Errorf("%s is not what the default run draws; REGIONS_UPDATE=1 go test -run TestCommittedFilesAreCurrent ./examples/regions writes it again", f.path)
		}
	}
}

// TestChartRenders renders the chart with rsvg-convert, with whatever
// fonts the machine has (a plain Debian: DejaVu), and checks that
// nothing is drawn in the margins around the canvas or in the gaps
// between the names and the panels: text that does not fit would run
// into them.
func TestChartRenders(t *testing.T) {
	bin, err := exec.LookPath("rsvg-convert")
	if err != nil {
		t.Skip("rsvg-convert not installed (Debian: apt-get install librsvg2-bin); .ci/run installs it")
	}
	_, svg := output(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "chart.svg"), filepath.Join(dir, "chart.png")
	if err := os.WriteFile(in, []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Render with the fonts of a plain Debian that has rsvg-convert and
	// nothing more — DejaVu, which librsvg pulls in — whatever else this
	// machine has (Chromium brings Liberation, for one): the chart must fit
	// with those.
	const dejavu = "/usr/share/fonts/truetype/dejavu"
	if _, err := os.Stat(dejavu); err != nil {
		t.Skipf("no DejaVu fonts in %s (Debian: apt-get install fonts-dejavu-core): %v", dejavu, err)
	}
	conf := filepath.Join(dir, "fonts.conf")
	xml := `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">` +
		`<fontconfig><dir>` + dejavu + `</dir><cachedir>` + filepath.Join(dir, "fontcache") + `</cachedir></fontconfig>`
	if err := os.WriteFile(conf, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-o", out, in)
	cmd.Env = append(os.Environ(), "FONTCONFIG_FILE="+conf)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rsvg-convert: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	h := chartHeight(len(designs))
	if b := img.Bounds(); b.Dx() != chartWidth || b.Dy() != h {
		t.Fatalf("rendered %v, want %dx%d", b, chartWidth, h)
	}
	blank := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r>>8 >= 0xf0 && g>>8 >= 0xf0 && b>>8 >= 0xf0 // white, or a row's stripe
	}
	check := func(what string, x0, x1, y0, y1 int) {
		t.Helper()
		for x := x0; x < x1; x++ {
			for y := y0; y < y1; y++ {
				if !blank(x, y) {
					t.Errorf("%s: drawn at (%d, %d): text runs past its room", what, x, y)
					return
				}
			}
		}
	}
	edge := chartMargin / 2
	check("left margin", 0, edge, 0, h)
	check("right margin", chartWidth-edge, chartWidth, 0, h)
	check("top margin", 0, chartWidth, 0, edge)
	check("bottom margin", 0, chartWidth, h-edge, h)
	rows := chartTop + len(designs)*chartRowH
	x := chartMargin + chartNameW
	check("gap after the names", x-chartGap, x-2, chartTop, rows)
	for k := 1; k < len(panels); k++ {
		x := chartMargin + chartNameW + k*(chartPanelW+chartGap)
		check(fmt.Sprintf("gap before panel %q", panels[k].title), x-chartGap, x-2, chartTop, rows)
	}
	// Something was drawn: a bar of every panel.
	drawn := 0
	for k := range panels {
		x := chartMargin + chartNameW + k*(chartPanelW+chartGap)
		for y := chartTop; y < rows; y++ {
			if !blank(x+1, y) {
				drawn++
				break
			}
		}
	}
	if drawn != len(panels) {
		t.Errorf("bars drawn in %d of %d panels", drawn, len(panels))
	}
	// And text: a chart rendered with no font at all would pass the
	// margin checks. Every design's name leaves ink in its row.
	for i, d := range designs {
		y0 := chartTop + i*chartRowH
		inked := false
		for x := chartMargin; x < chartMargin+chartNameW && !inked; x++ {
			for y := y0; y < y0+chartRowH; y++ {
				if !blank(x, y) {
					inked = true
					break
				}
			}
		}
		if !inked {
			t.Errorf("no text drawn in the name column of row %d (%s)", i, d.name)
		}
	}
}

// TestDeterministic checks that one seed gives one output, and another
// seed another.
func TestDeterministic(t *testing.T) {
	runs := make([]string, 3)
	for i, seed := range []uint64{7, 7, 8} {
		var b bytes.Buffer
		if err := run(&b, config{seed: seed, duration: time.Minute, skew: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		runs[i] = b.String()
	}
	if runs[0] != runs[1] {
		t.Errorf("two runs with seed 7 differ:\n%s\n---\n%s", runs[0], runs[1])
	}
	if runs[0] == runs[2] {
		t.Error("seeds 7 and 8 gave the same output")
	}
}

// TestBadFlags checks that flags out of range are refused with a reason.
func TestBadFlags(t *testing.T) {
	for _, cfg := range []config{
		{seed: 1, duration: 30 * time.Second, skew: 0},
		{seed: 1, duration: time.Minute, skew: -time.Millisecond},
		{seed: 1, duration: time.Minute, skew: time.Second},
	} {
		if err := run(&bytes.Buffer{}, cfg); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("run(%+v): got %v, want an error saying what is wanted", cfg, err)
		}
	}
}

// TestReadmeTable checks that the table README.md shows is the one the
// program prints with its defaults.
func TestReadmeTable(t *testing.T) {
	out, _ := output(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, header := range []string{"design  ", "p50 write latency", "rejected writes", "replication lag under load", "cross-region reads", "data residency", "failover routing"} {
		want := strings.Join(section(t, out, header), "\n")
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks the table under %q as the program prints it:\n%s", header, want)
		}
	}
}

// TestInventory: stock kept in an LWW register or a plain counter is
// oversold when every region sells at once; a bounded counter never
// oversells, and still sells nearly all of it.
func TestInventory(t *testing.T) {
	out, _ := output(t)
	lines := section(t, out, "inventory:")
	stockUnits, _ := stockFor(10 * time.Minute)
	byName := map[string][]string{}
	for _, l := range lines[1:] {
		for _, name := range []string{"stock level in an LWW register", "stock in a counter (PNCounter)", "bounded counter (BCounter, escrow)"} {
			if rest, ok := strings.CutPrefix(l, name+" "); ok {
				byName[name] = strings.Fields(rest)
			}
		}
	}
	if len(byName) != 3 {
		t.Fatalf("inventory table has %d of 3 designs:\n%s", len(byName), strings.Join(lines, "\n"))
	}
	for name, f := range byName {
		sold, oversold := uint64(atoi(t, f[0])), atoi(t, f[1])
		if f[4] != "yes" {
			t.Errorf("%s: did not converge", name)
		}
		switch name {
		case "bounded counter (BCounter, escrow)":
			if oversold != 0 || sold > stockUnits {
				t.Errorf("%s: sold %d, oversold %d of %d", name, sold, oversold, stockUnits)
			}
			if sold < stockUnits*9/10 {
				t.Errorf("%s: sold only %d of %d: rights stranded", name, sold, stockUnits)
			}
			if left := uint64(atoi(t, f[3])); left != stockUnits-sold {
				t.Errorf("%s: shows %d left after selling %d of %d", name, left, sold, stockUnits)
			}
		default:
			if oversold == 0 {
				t.Errorf("%s: oversold nothing; the scenario should make it oversell", name)
			}
		}
	}
}

// TestHTMLReport checks that -html wrote one self-contained page: the
// eight tables (four with a row per design), the chart inline, what each design
// trades, and nothing fetched from the network.
func TestHTMLReport(t *testing.T) {
	page := outputs(t).html
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Fatalf("not an HTML page: %.80q", page)
	}
	if n := strings.Count(page, "<table>"); n != 8 {
		t.Errorf("%d tables, want 8", n)
	}
	if !strings.Contains(page, "<svg") || strings.Contains(page, "<?xml") {
		t.Error("the chart is not inline")
	}
	text := html.UnescapeString(page)
	for _, d := range designs {
		if c := strings.Count(text, d.name); c < 5 {
			t.Errorf("%q appears %d times: want a row in each design table, the chart and the trade-offs", d.name, c)
		}
		if !strings.Contains(text, d.trades) {
			t.Errorf("no trade-off paragraph for %q", d.name)
		}
	}
	for _, ref := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(page, ref) {
			t.Errorf("the page refers to %q: it must load nothing", ref)
		}
	}
}

// pageCheck is run in the page by TestHTMLReportInChromium, after it
// has laid out: it counts the tables, rows and charts, lists elements
// that stick out of the window, and writes the result as JSON into a
// <pre id="check">.
const pageCheck = `<script>
(function () {
  var w = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 1 || r.left < -1)) {
      bad.push(el.tagName + " " + (el.textContent || "").trim().slice(0, 40));
    }
  });
  var out = {
    tables: document.querySelectorAll("table").length,
    rows: document.querySelectorAll("tr").length,
    charts: document.querySelectorAll("svg rect").length,
    overflow: bad,
    wide: document.documentElement.scrollWidth > w
  };
  var pre = document.createElement("pre");
  pre.id = "check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>`

// TestHTMLReportInChromium opens the report in headless Chromium at two
// window widths, takes a screenshot, and checks from inside the page that
// the tables and the chart are there and that nothing overflows the
// window.
func TestHTMLReportInChromium(t *testing.T) {
	var bin string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no Chromium (Debian: apt-get install chromium); .ci/run installs it")
	}
	page := outputs(t).html
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(strings.Replace(page, "</body>", pageCheck+"\n</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	chrome := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"}, args...)
		out, err := exec.CommandContext(ctx, bin, append(args, "file://"+file)...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		return out
	}
	for _, width := range []int{1280, 900} {
		// One run per width both prints the DOM, with the page check's
		// result, and takes the screenshot.
		shot := filepath.Join(dir, fmt.Sprintf("report-%d.png", width))
		dom := string(chrome(fmt.Sprintf("--window-size=%d,2400", width), "--virtual-time-budget=2000", "--dump-dom", "--screenshot="+shot))
		_, after, ok := strings.Cut(dom, `<pre id="check">`)
		js, _, ok2 := strings.Cut(after, "</pre>")
		if !ok || !ok2 {
			t.Fatalf("width %d: the page check did not run:\n%.400s", width, dom)
		}
		var got struct {
			Tables, Rows, Charts int
			Overflow             []string
			Wide                 bool
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(js)), &got); err != nil {
			t.Fatalf("width %d: %v in %q", width, err, js)
		}
		if want := 4*(len(designs)+1) + 4 + (2 + len(spikeCaps)) + (1 + nReadWays) + 3; got.Tables != 8 || got.Rows != want {
			t.Errorf("width %d: %d tables, %d rows; want 8 and %d", width, got.Tables, got.Rows, want)
		}
		if got.Charts < len(designs) {
			t.Errorf("width %d: the chart has %d shapes", width, got.Charts)
		}
		if got.Wide || len(got.Overflow) > 0 {
			t.Errorf("width %d: the page is wider than the window (%v); sticking out: %q", width, got.Wide, got.Overflow)
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("width %d: no screenshot: %v", width, err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("width %d: screenshot: %v", width, err)
		}
		if b := img.Bounds(); b.Dx() != width {
			t.Errorf("width %d: screenshot %v", width, b)
		}
	}
}

// TestDataResidency checks the residency count against the writes
// themselves, on a two-minute run: the CRDT design stores every accepted
// write of EU-homed personal data in the three other regions, so they
// hold exactly three records of each; the regional design stores none
// outside eu-west, accepts every such write there, and serves the other
// regions' reads of it from eu-west.
func TestDataResidency(t *testing.T) {
	const d = 2 * time.Minute
	sc := newScenario(d, 50*time.Millisecond)
	wl := newWorkload(1, d)
	play := func(key string) (*world, result) {
		w, err := newWorld(byKey(key), sc, wl, 1)
		if err != nil {
			t.Fatal(err)
		}
		w.run(nil)
		return w, w.measure()
	}
	w, res := play("crdt")
	var want int64
	for i := range w.writes {
		if wr := &w.writes[i]; wr.accepted && euPersonal(wr.item) {
			want += 3 * int64(recordBytes(wr.item))
		}
	}
	if want == 0 || res.heldEU != want || res.holdingEU != nRegions {
		t.Errorf("crdt: %d bytes held outside eu-west in %d regions; want %d bytes (3 regions × every accepted EU write) in %d",
			res.heldEU, res.holdingEU, want, nRegions)
	}
	w, res = play("regional")
	if res.heldEU != 0 || res.holdingEU != 1 {
		t.Errorf("regional: %d bytes held outside eu-west, %d regions hold EU data; want 0 and 1", res.heldEU, res.holdingEU)
	}
	for i := range w.writes {
		if wr := &w.writes[i]; wr.accepted && euPersonal(wr.item) && wr.origin != euWest {
			t.Fatalf("regional: write %d of EU data accepted in %s", wr.id, regionNames[wr.origin])
		}
	}
	if r := res.residency; r.reads == 0 || r.answered == 0 || r.failed == 0 || r.failed >= r.reads {
		t.Errorf("regional: %d reads from eu-west (%d bytes), %d failed; want some, a few of them failed during the partition", r.reads, r.answered, r.failed)
	}

	// The program's table says the same of the full run.
	out, _ := output(t)
	for _, l := range section(t, out, "data residency:")[1 : len(designs)+1] {
		pinned := strings.HasPrefix(l, byKey("regional").name)
		if held := strings.Fields(l[38:])[0] != "0"; held == pinned {
			t.Errorf("%q: want EU data held elsewhere by every design but the regional one", l)
		}
	}
}
