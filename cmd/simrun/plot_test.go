package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// svgTexts parses an SVG file as XML and returns the text of its
// elements, in order.
func svgTexts(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	dec := xml.NewDecoder(f)
	var texts []string
	sawSVG := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the plot is not well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			sawSVG = sawSVG || tok.Name.Local == "svg"
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	require.True(t, sawSVG, "the plot has an svg element")
	return texts
}

func TestComparePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cmp.svg")
	_, errOut, status := simrun(t, "compare", "--scenario", "leak", "--seeds", "1", "--duration", "12h", "--plot", path)
	require.Equal(t, exitHolds, status, errOut)
	texts := svgTexts(t, path)
	for _, want := range []string{
		"leak, seed 1, transient logs: Jobs left open", "Descriptors in use (limit 1024)", "Hooks on switch stacks",
		"virtual time (hours)", "open jobs", "descriptors", "hooks",
	} {
		assert.Contains(t, texts, want, "the plot's labels")
	}
	for _, design := range []string{"module", "per-call", "local"} {
		n := 0
		for _, s := range texts {
			if s == design {
				n++
			}
		}
		assert.Equal(t, len(panels), n, "legend entries for %s, one per panel", design)
	}
}

// A plot changes nothing of the run it plots.
func TestSinglePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.png")
	plain, _, _ := simrun(t, "--seed", "4", "--duration", "6h")
	plotted, errOut, status := simrun(t, "--seed", "4", "--duration", "6h", "--plot", path)
	assert.Equal(t, exitViolated, status, errOut)
	assert.Equal(t, plain, plotted, "output with --plot")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "\x89PNG"), "a .png plot is a PNG")

	_, errOut, status = simrun(t, "--plot", "out.pdf")
	assert.Equal(t, exitUsage, status)
	assert.Equal(t, "simrun: --plot out.pdf: the file must end in .svg or .png\n", errOut)
}
