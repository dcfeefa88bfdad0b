package main

import (
	"bytes"
	"fmt"
	"html"
	"os"
)

// The chart is the trade-off itself: for each design, on one row, the
// writes it lost, the writes it rejected and its median write latency,
// as three panels of bars side by side. It is plain SVG written here,
// with text sized for DejaVu Sans (wider than the usual sans-serif
// fonts, and what a plain Debian has), so that it fits whatever font a
// viewer substitutes.
const (
	chartWidth   = 1000
	chartMargin  = 16
	chartNameW   = 292 // the design names' column
	chartPanelW  = 212
	chartGap     = 14
	chartRowH    = 26
	chartBarH    = 15
	chartTop     = 92 // the first row's top
	chartFont    = `font-family="DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"`
	chartValueW  = 64 // room kept right of a bar for its value
	chartNotes   = 3
	chartNoteGap = 16
)

// A panel is one column of the chart.
type panel struct {
	title string
	color string
	value func(r *result) float64
	label func(r *result) string
}

var panels = []panel{
	{"writes lost", "#c0392b", func(r *result) float64 { return float64(r.lost) },
		func(r *result) string { return fmt.Sprint(r.lost) }},
	{"writes rejected", "#d68910", func(r *result) float64 { return float64(r.rejected) },
		func(r *result) string { return fmt.Sprint(r.rejected) }},
	{"p50 write latency", "#2471a3", func(r *result) float64 { return float64(r.p50) },
		func(r *result) string { return fmtDur(r.p50) }},
}

// chartHeight is the height of a chart of n designs.
func chartHeight(n int) int {
	return chartTop + n*chartRowH + 14 + chartNotes*chartNoteGap + chartMargin
}

// chart writes the trade-off chart of results as an SVG file.
func chart(file string, sc scenario, results []result) error {
	return os.WriteFile(file, chartSVG(sc, results), 0o644)
}

func chartSVG(sc scenario, results []result) []byte {
	var b bytes.Buffer
	h := chartHeight(len(results))
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>
<rect width="%d" height="%d" fill="#ffffff"/>
`, chartWidth, h, chartWidth, h, chartFont, chartWidth, h)
	text := func(x, y, size int, weight, anchor, fill, s string) {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d" font-weight="%s" text-anchor="%s" fill="%s">%s</text>
`, x, y, size, weight, anchor, fill, html.EscapeString(s))
	}
	text(chartMargin, 30, 17, "bold", "start", "#222222", "What each design trades, in one run of the same workload")
	text(chartMargin, 52, 12, "normal", "start", "#555555", fmt.Sprintf(
		"US ↔ eu-west partition %s–%s, us-east down %s–%s; shorter bars are better",
		fmtAt(sc.partStart), fmtAt(sc.partEnd), fmtAt(sc.outageStart), fmtAt(sc.outageEnd)))
	for i := range results {
		y := chartTop + i*chartRowH
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#f4f6f7"/>
`, chartMargin, y, chartWidth-2*chartMargin, chartRowH)
		}
		text(chartMargin+4, y+chartRowH/2+4, 12, "normal", "start", "#222222", results[i].design.name)
	}
	for k, p := range panels {
		x0 := chartMargin + chartNameW + k*(chartPanelW+chartGap)
		text(x0, chartTop-10, 13, "bold", "start", "#222222", p.title)
		peak := 0.0
		for i := range results {
			peak = max(peak, p.value(&results[i]))
		}
		for i := range results {
			r := &results[i]
			y := chartTop + i*chartRowH
			w := 0
			if v := p.value(r); v > 0 {
				w = max(2, int(v/peak*float64(chartPanelW-chartValueW))) // small, but seen
			}
			if w > 0 {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>
`, x0, y+(chartRowH-chartBarH)/2, w, chartBarH, p.color)
			}
			text(x0+w+4, y+chartRowH/2+4, 11, "normal", "start", "#222222", p.label(r))
		}
	}
	y := chartTop + len(results)*chartRowH + 14
	for i, note := range chartNoteLines {
		text(chartMargin, y+i*chartNoteGap+10, 11, "normal", "start", "#555555", note)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// chartNoteLines explain the panels, under them.
var chartNoteLines = [chartNotes]string{
	"lost: acknowledged writes the converged state does not reflect; rejected: refused or timed out (2 s);",
	"latency: from the client's request to its acknowledgement, at the median, over acknowledged writes.",
	"Active-active designs reject only during the outage, until DNS moves us-east's users; CRDTs also lose nothing.",
}
