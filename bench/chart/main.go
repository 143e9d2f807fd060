// Command chart draws bench/results.json as a PNG for the README: for each
// figure with a peer or a bar, Hangar's median beside the peer's, each
// figure on its own scale, with the bar marked where it is a number.
//
//	go run ./bench/chart -in bench/results.json -out bench/results.png
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// row is one result of bench/hangarbench (see its result type).
type row struct {
	Metric     string  `json:"metric"`
	Unit       string  `json:"unit"`
	Median     float64 `json:"median"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Runs       int     `json:"runs"`
	Peer       string  `json:"peer"`
	PeerMedian float64 `json:"peerMedian"`
	Bar        string  `json:"bar"`
	Note       string  `json:"note"`
}

type report struct {
	Date    string `json:"date"`
	Machine struct {
		CPU      string  `json:"cpu"`
		Cores    int     `json:"cores"`
		MemoryGB float64 `json:"memoryGB"`
		Kernel   string  `json:"kernel"`
	} `json:"machine"`
	LoadBefore   string  `json:"loadAverageBefore"`
	LoadAfter    string  `json:"loadAverageAfter"`
	TotalSeconds float64 `json:"totalSeconds"`
	Results      []row   `json:"results"`
}

// Layout, in pixels. basicfont's face is 7×13.
const (
	width     = 1100
	margin    = 16
	labelW    = 56 * 7 // label column: 56 characters
	barX      = margin + labelW + 12
	barW      = 420
	valueX    = barX + barW + 10
	barH      = 12
	groupH    = 48
	headerH   = 64
	charW     = 7
	lineH     = 13
	maxLabel  = labelW / charW
	maxValues = (width - valueX - margin) / charW
)

var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	ink        = color.RGBA{0x20, 0x20, 0x20, 0xff}
	faint      = color.RGBA{0x80, 0x80, 0x80, 0xff}
	hangarC    = color.RGBA{0x1f, 0x6f, 0xd0, 0xff}
	peerC      = color.RGBA{0xa8, 0xa8, 0xa8, 0xff}
	barC       = color.RGBA{0xd0, 0x30, 0x30, 0xff}
	rangeC     = color.RGBA{0x10, 0x30, 0x60, 0xff}
)

func main() {
	in := flag.String("in", "bench/results.json", "results written by bench/hangarbench")
	out := flag.String("out", "bench/results.png", "PNG to write")
	markdown := flag.Bool("markdown", false, "print the table as Markdown (for bench/README.md) instead of drawing")
	flag.Parse()
	run := drawPNG
	if *markdown {
		run = func(in, _ string) error { return printMarkdown(in) }
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func readReport(in string) (report, error) {
	var rep report
	b, err := os.ReadFile(in)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("%s: %w", in, err)
	}
	return rep, nil
}

// printMarkdown prints the machine and every row as a Markdown table.
func printMarkdown(in string) error {
	rep, err := readReport(in)
	if err != nil {
		return err
	}
	m := rep.Machine
	fmt.Printf("Measured %s on %d cores (%s), %.0f GB, %s; load average %s before, %s after; %.0f s in all.\n\n",
		rep.Date, m.Cores, m.CPU, m.MemoryGB, m.Kernel, rep.LoadBefore, rep.LoadAfter, rep.TotalSeconds)
	fmt.Println("| metric | Hangar median | (min–max) | runs | peer | peer median | ratio | bar | note |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range rep.Results {
		peer, pm, ratio := "", "", ""
		if r.Peer != "" {
			peer, pm = r.Peer, num(r.PeerMedian)+" "+r.Unit
			if r.PeerMedian > 0 {
				ratio = fmt.Sprintf("%.2f×", r.Median/r.PeerMedian)
			}
		}
		// Markdown drops leading spaces; a detail row keeps its indent.
		metric := strings.TrimLeft(r.Metric, " ")
		metric = strings.Repeat("&nbsp;&nbsp;", (len(r.Metric)-len(metric))/2) + strings.ReplaceAll(metric, "|", "\\|")
		fmt.Printf("| %s | %s %s | (%s–%s) | %d | %s | %s | %s | %s | %s |\n", metric, num(r.Median), r.Unit, num(r.Min), num(r.Max), r.Runs, peer, pm, ratio, r.Bar, strings.ReplaceAll(r.Note, "|", "\\|"))
	}
	return nil
}

func drawPNG(in, out string) error {
	rep, err := readReport(in)
	if err != nil {
		return err
	}
	rows := charted(rep.Results)
	if len(rows) == 0 {
		return fmt.Errorf("%s: nothing with a peer or a bar to chart", in)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, headerH+groupH*len(rows)+margin))
	draw.Draw(img, img.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
	c := &canvas{img: img}

	c.text(margin, margin+lineH, ink, "Hangar benchmarks: median of each figure (thin line: min-max), peer beside it, red tick: the bar")
	c.text(margin, margin+2*lineH+4, faint, fmt.Sprintf("%s - %d cores, %.0f GB, %s, %s - load %s before, %s after",
		rep.Date, rep.Machine.Cores, rep.Machine.MemoryGB, rep.Machine.CPU, rep.Machine.Kernel, rep.LoadBefore, rep.LoadAfter))
	y := margin + 3*lineH + 10
	c.rect(margin, y-9, 10, 10, hangarC)
	c.text(margin+14, y, ink, "Hangar")
	c.rect(margin+80, y-9, 10, 10, peerC)
	c.text(margin+94, y, ink, "peer or physical floor (named on the right)")

	for i, r := range rows {
		c.group(headerH+i*groupH, r)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// chartRow is a row with the label it gets on the chart.
type chartRow struct {
	row
	label string
}

// charted picks the rows worth a bar: those with a peer or a bar. An
// indented row (a detail of the row above) is labelled with its parent's
// name up to the first comma, e.g. "API StartBuild: throughput, 10 clients".
func charted(rows []row) []chartRow {
	var out []chartRow
	parent := ""
	for _, r := range rows {
		name := strings.TrimSpace(r.Metric)
		if !strings.HasPrefix(r.Metric, " ") {
			parent = name
		} else if p, _, ok := strings.Cut(parent, ","); ok {
			name = p + ": " + name
		}
		if r.PeerMedian > 0 || (r.Bar != "" && !strings.HasPrefix(r.Metric, " ")) {
			out = append(out, chartRow{r, name})
		}
	}
	return out
}

type canvas struct{ img *image.RGBA }

func (c *canvas) rect(x, y, w, h int, col color.Color) {
	draw.Draw(c.img, image.Rect(x, y, x+w, y+h), image.NewUniform(col), image.Point{}, draw.Src)
}

// text draws s with its baseline at y; the font has ASCII only, so the
// table's typography is spelled out first.
func (c *canvas) text(x, y int, col color.Color, s string) {
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(ascii(s))
}

var asciiReplacer = strings.NewReplacer("≤", "<=", "≥", ">=", "→", "->", "–", "-", "—", "-", "×", "x", "…", "...", "µ", "u")

func ascii(s string) string {
	s = asciiReplacer.Replace(s)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// group draws one figure: its label, Hangar's bar with its min–max range,
// the peer's bar, and the bar's threshold.
func (c *canvas) group(top int, r chartRow) {
	better := "lower is better"
	if strings.HasSuffix(r.Unit, "/s") {
		better = "higher is better"
	}
	c.text(margin, top+lineH, ink, clip(r.label, maxLabel))
	c.text(margin, top+2*lineH+2, faint, clip(fmt.Sprintf("%s, %s", r.Unit, better), maxLabel))

	// The scale fits the medians and the bar, not the slowest sample: one
	// outlier must not shrink every median to a sliver. A range past the
	// scale is cut at the edge.
	threshold, hasThreshold := barValue(r.Bar)
	scale := max(r.Median, r.PeerMedian)
	if hasThreshold {
		scale = max(scale, threshold)
	}
	if scale <= 0 {
		scale = 1
	}
	scale *= 1.1
	px := func(v float64) int { return min(int(float64(barW)*v/scale), barW) }

	y := top + 4
	c.rect(barX, y, max(px(r.Median), 1), barH, hangarC)
	c.rect(barX+px(r.Min), y+barH/2, max(px(r.Max)-px(r.Min), 1), 1, rangeC)
	c.text(valueX, y+barH-1, ink, clip(fmt.Sprintf("%s %s (%s-%s)", num(r.Median), r.Unit, num(r.Min), num(r.Max)), maxValues))
	if r.PeerMedian > 0 {
		y += barH + 4
		c.rect(barX, y, max(px(r.PeerMedian), 1), barH, peerC)
		c.text(valueX, y+barH-1, faint, clip(fmt.Sprintf("%s: %s %s", r.Peer, num(r.PeerMedian), r.Unit), maxValues))
	}
	if hasThreshold {
		x := barX + px(threshold)
		c.rect(x-1, top, 2, 2*barH+10, barC)
		c.text(valueX, y+barH+lineH+1, barC, clip("bar: "+r.Bar, maxValues))
	}
}

var barNumber = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// barValue reads the number of a bar such as "≤ 20 ms p50" or "≥ 50 MB/s"
// (in the row's unit, as every bar in the table is).
func barValue(bar string) (float64, bool) {
	m := barNumber.FindString(bar)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(m, 64)
	return v, err == nil
}

// num shows three significant digits, without an exponent.
func num(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// clip shortens s to n characters once it is ASCII.
func clip(s string, n int) string {
	s = ascii(s)
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
