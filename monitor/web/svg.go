package web

import (
	"math"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
)

// Scores and metrics run from 1 (worst) to 5 (best).
const (
	minValue = 1.0
	maxValue = 5.0
)

// Sparkline geometry: one step per day.
const (
	sparkStep   = 4.0
	sparkHeight = 26.0
	sparkPad    = 3.0
)

// none marks a day without a value in a series (NaN).
var none = math.NaN()

// has reports whether v is a value (not [none]).
func has(v float64) bool { return !math.IsNaN(v) }

// sparkline is an inline SVG of a few days of scores, its numbers already
// formatted (the overview draws thousands).
type sparkline struct {
	// Width and Height of the viewBox.
	Width, Height string
	// D is the path: one subpath per run of scored days ("" when none).
	D string
	// LastX, LastY is the newest scored point, drawn as a dot; HasLast is
	// false when the series has no score.
	LastX, LastY string
	HasLast      bool
	// Label describes the series in words, for screen readers and the
	// tooltip ("5 4 4 - 3").
	Label string
}

// num formats a coordinate compactly (at most one decimal).
func num(v float64) string {
	return strconv.FormatFloat(float64(int(v*10+0.5))/10, 'f', -1, 64)
}

// yOf maps a value 1..5 into [top, top+h], 5 at the top.
func yOf(v, top, h float64) float64 {
	v = min(max(v, minValue), maxValue)
	return top + (maxValue-v)/(maxValue-minValue)*h
}

// pathOf draws ys ([none] = no value) at x = x0 + i*step: one subpath per
// run of values, a lone value as a dot (a round-capped zero-length line).
func pathOf(ys []float64, x0, step, top, h float64) string {
	var b strings.Builder
	b.Grow(len(ys) * 9)
	run := 0
	for i, v := range ys {
		if !has(v) {
			if run == 1 {
				b.WriteString("h0.01")
			}
			run = 0
			continue
		}
		if run == 0 {
			b.WriteByte('M')
		} else {
			b.WriteByte('L')
		}
		b.WriteString(num(x0 + float64(i)*step))
		b.WriteByte(' ')
		b.WriteString(num(yOf(v, top, h)))
		run++
	}
	if run == 1 {
		b.WriteString("h0.01")
	}
	return b.String()
}

// newSparkline draws scores, one per day, oldest first.
func newSparkline(scores []float64) sparkline {
	s := sparkline{Width: num(sparkPad*2 + float64(max(len(scores)-1, 0))*sparkStep), Height: num(sparkHeight)}
	h := sparkHeight - 2*sparkPad
	s.D = pathOf(scores, sparkPad, sparkStep, sparkPad, h)
	for i := len(scores) - 1; i >= 0; i-- {
		if has(scores[i]) {
			s.LastX, s.LastY, s.HasLast = num(sparkPad+float64(i)*sparkStep), num(yOf(scores[i], sparkPad, h)), true
			break
		}
	}
	var b strings.Builder
	b.Grow(len(scores) * 2)
	for i, v := range scores {
		if i > 0 {
			b.WriteByte(' ')
		}
		if has(v) {
			b.WriteString(fmtValue(v))
		} else {
			b.WriteByte('-')
		}
	}
	s.Label = b.String()
	return s
}

// fmtValue prints a score or metric: "4", "3.5".
func fmtValue(v float64) string {
	if v == math.Trunc(v) && v >= 0 && v < 10 {
		return digits[int(v) : int(v)+1]
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

const digits = "0123456789"

// Chart geometry of the account page (viewBox units).
const (
	chartWidth  = 960.0
	chartLeft   = 28.0 // room for the y labels
	chartRight  = 8.0
	chartTop    = 6.0
	chartPlot   = 72.0 // plot height
	chartBottom = 18.0 // room for the x labels
)

// chart is an inline SVG line chart of one series over an account's whole
// stored history.
type chart struct {
	Title         string
	Width, Height float64
	// Left, Right, Top and Bottom bound the plot area.
	Left, Right, Top, Bottom float64
	// D is the series' path; gaps are days without a value.
	D string
	// Gaps are the x ranges of the days without a value (ineligible or
	// not stored), shaded.
	Gaps []span
	// YTicks are the horizontal grid lines (values 1..5).
	YTicks []tick
	// XTicks are the date labels along the bottom.
	XTicks []tick
	// Label describes the chart for screen readers.
	Label string
}

// span is an x range.
type span struct{ X, W float64 }

// tick is a grid line or label at a position.
type tick struct {
	Pos    float64
	Text   string
	Anchor string // text-anchor of a label: start, middle, end
}

// newChart draws ys, one per day from first ([none] = no value), with
// title.
func newChart(title string, first client.Date, ys []float64) chart {
	c := chart{Title: title, Width: chartWidth, Height: chartTop + chartPlot + chartBottom,
		Left: chartLeft, Right: chartWidth - chartRight, Top: chartTop, Bottom: chartTop + chartPlot}
	n := len(ys)
	step := (c.Right - c.Left) / float64(max(n-1, 1))
	c.D = pathOf(ys, c.Left, step, c.Top, chartPlot)
	for v := maxValue; v >= minValue; v-- {
		c.YTicks = append(c.YTicks, tick{Pos: yOf(v, c.Top, chartPlot), Text: fmtValue(v)})
	}
	// Gaps: runs of missing days, each shaded half a step either side.
	for i := 0; i < n; {
		if has(ys[i]) {
			i++
			continue
		}
		j := i
		for j < n && !has(ys[j]) {
			j++
		}
		x0 := max(c.Left+(float64(i)-0.5)*step, c.Left)
		x1 := min(c.Left+(float64(j-1)+0.5)*step, c.Right)
		c.Gaps = append(c.Gaps, span{X: x0, W: x1 - x0})
		i = j
	}
	c.XTicks = dateTicks(first, n, c.Left, step)
	scored, lo, hi := 0, maxValue, minValue
	for _, v := range ys {
		if has(v) {
			scored++
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	last := first.AddDays(max(n-1, 0))
	if scored == 0 {
		c.Label = title + ": no value from " + first.String() + " to " + last.String()
	} else {
		c.Label = title + " from " + first.String() + " to " + last.String() + ": " + strconv.Itoa(scored) + " of " +
			strconv.Itoa(n) + " days with a value, between " + fmtValue(lo) + " and " + fmtValue(hi)
	}
	return c
}

// dateTicks labels the first day, the last day and, between them, month
// starts (or, over a long history, year starts) far enough apart.
func dateTicks(first client.Date, n int, left, step float64) []tick {
	if n == 0 {
		return nil
	}
	const minGap = 70.0 // viewBox units between two labels
	last := first.AddDays(n - 1)
	out := []tick{{Pos: left, Text: first.String(), Anchor: "start"}}
	lastPos := left + float64(n-1)*step
	monthly := float64(n) < 3*365
	prev := left
	for i := 1; i < n-1; i++ {
		d := first.AddDays(i)
		if d.Day != 1 || (!monthly && d.Month != 1) {
			continue
		}
		pos := left + float64(i)*step
		if pos-prev < minGap || lastPos-pos < minGap {
			continue
		}
		text := d.String()[:7]
		if !monthly {
			text = d.String()[:4]
		}
		out = append(out, tick{Pos: pos, Text: text, Anchor: "middle"})
		prev = pos
	}
	if n > 1 && lastPos-prev >= minGap/2 {
		out = append(out, tick{Pos: lastPos, Text: last.String(), Anchor: "end"})
	}
	return out
}
