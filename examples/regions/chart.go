package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette gives each design a color a reader can tell apart.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff},
}

// chart draws, per design, the number of items on which the regions
// disagree over time, with the faults shaded, and saves it as SVG.
func chart(file string, sc scenario, results []result) error {
	p := plot.New()
	p.Title.Text = "Replica divergence: items on which the four regions disagree"
	p.X.Label.Text = "minutes"
	p.Y.Label.Text = "items diverging"
	p.Legend.Top = true

	peak := 1.0
	for _, r := range results {
		for _, v := range r.divergence {
			peak = max(peak, v)
		}
	}
	top := 1.5 * peak // room for the legend above the lines
	p.Y.Min, p.Y.Max = 0, top
	for _, f := range []struct {
		from, to float64
		label    string
	}{
		{sc.partStart.Minutes(), sc.partEnd.Minutes(), "partition"},
		{sc.outageStart.Minutes(), sc.outageEnd.Minutes(), "us-east down"},
	} {
		band, err := plotter.NewPolygon(plotter.XYs{{X: f.from, Y: 0}, {X: f.to, Y: 0}, {X: f.to, Y: top}, {X: f.from, Y: top}})
		if err != nil {
			return err
		}
		band.Color = color.RGBA{0xee, 0xee, 0xee, 0xff}
		band.LineStyle.Width = 0
		p.Add(band)
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: f.from, Y: 1.05 * peak}}, Labels: []string{" " + f.label}})
		if err != nil {
			return err
		}
		p.Add(l)
	}
	for i, r := range results {
		pts := make(plotter.XYs, len(r.divergence))
		for k, v := range r.divergence {
			pts[k] = plotter.XY{X: r.sampleAt[k].Minutes(), Y: v}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("chart: %s: %w", r.design.name, err)
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(1.2)
		if i%2 == 1 {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line)
		p.Legend.Add(r.design.name, line)
	}
	p.Legend.ThumbnailWidth = vg.Points(20)
	p.Legend.TextStyle.XAlign = draw.XLeft
	if err := p.Save(9*vg.Inch, 5*vg.Inch, file); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
