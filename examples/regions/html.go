package main

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"strings"
)

// The HTML report (-html FILE) is one self-contained file: the scenario,
// the tables, the chart inline and what each design trades. It loads
// nothing from the network, so it can be mailed or archived as it is.

// A htmlTable is a table of the report: a header row and rows of cells,
// the first cell of each row its name.
type htmlTable struct {
	Caption string
	Head    []string
	Rows    [][]string
	Note    string
}

type htmlReport struct {
	Title    string
	Workload string
	Scenario string
	Chart    template.HTML
	Tables   []htmlTable
	Designs  []*design
	Events   []string
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "DejaVu Sans", Verdana, Arial, Helvetica, sans-serif; color: #222; margin: 24px auto; max-width: 1040px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
p.lead { color: #555; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #ddd; }
td { white-space: nowrap; }
th { text-align: right; background: #f4f6f7; vertical-align: bottom; } th:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; } td:first-child { text-align: left; }
p.note { font-size: 12px; color: #555; max-width: 900px; }
.chart svg { max-width: 100%; height: auto; }
dl dt { font-weight: bold; margin-top: 8px; } dl dd { margin-left: 16px; }
ul.events { font-size: 12px; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="lead">{{.Workload}}<br>{{.Scenario}}</p>
<div class="chart">{{.Chart}}</div>
{{range .Tables}}<table>
<caption>{{.Caption}}</caption>
<tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{end}}<h2>What each design trades</h2>
<dl>
{{range .Designs}}<dt>{{.Name}}</dt><dd>{{.Trades}}</dd>
{{end}}</dl>
<h2>Events</h2>
<ul class="events">
{{range .Events}}<li>{{.}}</li>
{{end}}</ul>
</body>
</html>
`))

// Name and Trades are the design's fields, for the template.
func (d *design) Name() string   { return d.name }
func (d *design) Trades() string { return d.trades }

// writeHTML writes the report of a run to file.
func writeHTML(file string, cfg config, sc scenario, wl *workload, results []result, x extraRuns, invs []inventory) error {
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, buildReport(cfg, sc, wl, results, x, invs)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return os.WriteFile(file, b.Bytes(), 0o644)
}

func buildReport(cfg config, sc scenario, wl *workload, results []result, x extraRuns, invs []inventory) htmlReport {
	svg := string(chartSVG(sc, results))
	svg = svg[strings.Index(svg, "<svg"):] // inline: no XML declaration
	rep := htmlReport{
		Title: "Seven multi-region designs, one workload",
		Workload: fmt.Sprintf("%d users in 4 regions (%d travelling), %d writes and %d reads over %v, seed %d.",
			nUsers, len(wl.trips), wl.writes, wl.reads, cfg.duration, cfg.seed),
		Scenario: fmt.Sprintf("Scenario: eu-west clocks +%v; US ↔ eu-west partition %s–%s; us-east outage %s–%s.",
			cfg.skew, fmtAt(sc.partStart), fmtAt(sc.partEnd), fmtAt(sc.outageStart), fmtAt(sc.outageEnd)),
		Chart:   template.HTML(svg), // written by chartSVG, every text escaped
		Designs: designs,
	}
	main := htmlTable{Caption: "What users got, per design",
		Head: []string{"design", "acked", "rejected", "lost", "conflicting", "vs-causal", "converged", "p50 write", "p99 write", "stale"},
		Note: "acked: writes the user saw succeed; rejected: refused or timed out (2 s); lost: acked writes the converged state does not reflect, overwritten by no write that had seen them; conflicting: acked writes that met a concurrent write to the same item at some region; vs-causal: acked writes that lose to a write they had seen; converged: time from the last heal until every region agrees; stale: reads missing a write acknowledged 1 s or more before."}
	lat := htmlTable{Caption: "p50 write latency, by where the user was", Head: []string{"design", "us-east", "us-west", "eu-west", "ap"}}
	rej := htmlTable{Caption: "Rejected writes, by where the user was: during the partition, then during the outage",
		Head: []string{"design", "us-east", "us-west", "eu-west", "ap", "us-east", "us-west", "eu-west", "ap"}}
	for _, r := range results {
		conv := "no"
		if r.converged {
			conv = fmtDur(r.convergence)
		}
		main.Rows = append(main.Rows, []string{r.design.name, fmt.Sprint(r.acked), fmt.Sprint(r.rejected), fmt.Sprint(r.lost),
			fmt.Sprint(r.conflicting), fmt.Sprint(r.againstCausality), conv, fmtDur(r.p50), fmtDur(r.p99),
			fmt.Sprintf("%.1f%%", 100*float64(r.staleReads)/float64(max(r.reads, 1)))})
		row := []string{r.design.name}
		for _, d := range r.p50By {
			row = append(row, fmtDur(d))
		}
		lat.Rows = append(lat.Rows, row)
		row = []string{r.design.name}
		for _, n := range append(r.rejectedInPartition[:], r.rejectedInOutage[:]...) {
			row = append(row, fmt.Sprint(n))
		}
		rej.Rows = append(rej.Rows, row)
		for _, n := range r.notes {
			rep.Events = append(rep.Events, r.design.key+": "+n)
		}
	}
	inv := htmlTable{Caption: fmt.Sprintf("Inventory: %d units sold in every region at once, %d sales of 1–3 units attempted", invs[0].units, invs[0].sales),
		Head: []string{"design", "sold", "oversold", "refused", "stock shown", "converged"},
		Note: "A last-writer-wins register forgets the sales that raced; a plain counter counts every sale but sells the last units on both sides of the partition; a bounded counter sells from the rights each node holds and never sells a unit twice."}
	for _, v := range invs {
		conv := "no"
		if v.converged {
			conv = "yes"
		}
		inv.Rows = append(inv.Rows, []string{v.name, fmt.Sprint(v.sold), fmt.Sprint(v.oversold), fmt.Sprint(v.refused), fmt.Sprint(v.left), conv})
	}
	rep.Tables = []htmlTable{main, lat, rej, spikeTable(sc, results, x.spikes), crossReadsTable(results), residencyTable(results), routingTable(sc, results, x.anycast), inv}
	return rep
}
