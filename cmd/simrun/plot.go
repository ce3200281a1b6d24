package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/jobsim/jobsim/scenarios"
)

// series is one design's samples, for a plot.
type series struct {
	design  string
	samples []scenarios.Sample
}

// panel is one chart of the plot: a level read from each sample.
type panel struct {
	title string
	y     string
	level func(scenarios.Sample) int
}

var panels = []panel{
	{"Jobs left open", "open jobs", func(s scenarios.Sample) int { return s.OpenJobs }},
	{"Descriptors in use (limit 1024)", "descriptors", func(s scenarios.Sample) int { return s.FDs }},
	{"Hooks on switch stacks", "hooks", func(s scenarios.Sample) int { return s.Hooks }},
}

// sampleInterval is how often a run samples its levels for a plot: about
// 500 samples over the run, at least a minute apart.
func sampleInterval(span time.Duration) time.Duration {
	return max(time.Minute, (span / 500).Round(time.Minute))
}

// checkPlotFile refuses a plot file that is neither SVG nor PNG, and an
// empty name when the flag was given.
func checkPlotFile(path string, given bool) error {
	if path == "" {
		if given {
			return usageError{errors.New("--plot needs a file name")}
		}
		return nil
	}
	switch plotFormat(path) {
	case ".svg", ".png":
		if filepath.Base(path) == filepath.Ext(path) {
			return usageError{fmt.Errorf("--plot needs a file name, got %q", path)}
		}
		return nil
	}
	return usageError{fmt.Errorf("--plot %s: the file must end in .svg or .png", path)}
}

// plotFormat is the file's extension, in lower case.
func plotFormat(path string) string { return strings.ToLower(filepath.Ext(path)) }

// writePlot draws the panels one above the other, a line per design over
// virtual time in hours, and saves them to path as SVG or PNG.
func writePlot(path, title string, all []series) error {
	const width, rowHeight = 8 * vg.Inch, 3 * vg.Inch
	height := rowHeight * vg.Length(len(panels))
	var canvas vg.CanvasSizer
	if plotFormat(path) == ".png" {
		canvas = vgimg.New(width, height)
	} else {
		canvas = vgsvg.New(width, height)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Centimeter, PadX: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2}
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		if i == 0 {
			p.Title.Text = title + ": " + pn.title
		}
		p.X.Label.Text = "virtual time (hours)"
		p.Y.Label.Text = pn.y
		p.Y.Min = 0
		p.Legend.Top = true
		p.Legend.Left = true
		for k, s := range all {
			pts := make(plotter.XYs, len(s.samples))
			for j, smp := range s.samples {
				pts[j].X = smp.At.Hours()
				pts[j].Y = float64(pn.level(smp))
			}
			line, err := plotter.NewLine(pts)
			if err != nil {
				return fmt.Errorf("--plot: %w", err)
			}
			line.Color = plotutil.Color(k)
			line.Dashes = plotutil.Dashes(k)
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(s.design, line)
		}
		p.Draw(tiles.At(dc, 0, i))
	}
	return saveCanvas(path, canvas)
}

// plotTitle names what a comparison plotted.
func plotTitle(cmp comparison) string {
	return fmt.Sprintf("%s, seed %d, %s logs", cmp.Scenario, cmp.Seeds[0], cmp.LogMode)
}

// firstSeed returns each design's samples of the first seed.
func firstSeed(designs []string, reps [][]*scenarios.Report) []series {
	out := make([]series, len(designs))
	for d, name := range designs {
		out[d] = series{design: name, samples: reps[d][0].Samples}
	}
	return out
}

// saveCanvas writes canvas to path, as PNG for a .png file and SVG
// otherwise.
func saveCanvas(path string, canvas vg.CanvasSizer) error {
	var w io.WriterTo
	switch c := canvas.(type) {
	case *vgimg.Canvas:
		w = vgimg.PngCanvas{Canvas: c}
	case *vgsvg.Canvas:
		w = c
	}
	f, err := os.Create(path)
	if err != nil {
		return usageError{fmt.Errorf("--plot: %w", err)}
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("--plot: %w", err)
	}
	return f.Close()
}
