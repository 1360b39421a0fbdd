package simulate

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"time"
)

// Plot geometry, in SVG user units.
const (
	plotWidth   = 960
	plotMarginL = 70
	plotMarginR = 70
	plotTop     = 50
	plotHeight  = 300
	plotBottom  = 60
)

// WriteSVG draws a result: the traffic and the capacity in service (both
// in invocations per minute, on the left axis), the instances in service
// (right axis), and the minutes when traffic exceeded capacity shaded.
func WriteSVG(w io.Writer, title string, r *Result) error {
	bw := bufio.NewWriter(w)
	n := len(r.Minutes)
	if n == 0 {
		return fmt.Errorf("plot: no minutes")
	}
	var yMax float64
	maxInst := 1
	for _, m := range r.Minutes {
		yMax = math.Max(yMax, math.Max(m.Traffic, m.Capacity))
		maxInst = max(maxInst, m.Instances, m.Desired)
	}
	yMax = niceCeil(yMax)
	// Whole instances on each of the five grid lines.
	instMax := float64(5 * ((maxInst + 4) / 5))
	innerW := float64(plotWidth - plotMarginL - plotMarginR)
	x := func(i int) float64 { return plotMarginL + innerW*float64(i)/float64(n) }
	y := func(v float64) float64 { return plotTop + plotHeight*(1-v/yMax) }
	yi := func(v float64) float64 { return plotTop + plotHeight*(1-v/instMax) }

	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotTop+plotHeight+plotBottom, plotWidth, plotTop+plotHeight+plotBottom)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", plotMarginL, html.EscapeString(title))
	p(`<text x="%d" y="38" fill="#555">%s</text>`+"\n", plotMarginL, html.EscapeString(r.Summary()))

	// Minutes over the latency threshold.
	for i, m := range r.Minutes {
		if m.OverThreshold {
			p(`<rect x="%.1f" y="%d" width="%.2f" height="%d" fill="#f4c7c3"/>`+"\n", x(i), plotTop, x(i+1)-x(i), plotHeight)
		}
	}
	// Grid and axes.
	for k := 0; k <= 5; k++ {
		v := yMax * float64(k) / 5
		p(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotMarginL, plotWidth-plotMarginR, y(v), y(v))
		p(`<text x="%d" y="%.1f" text-anchor="end" dy="4">%s</text>`+"\n", plotMarginL-6, y(v), compact(v))
		iv := instMax * float64(k) / 5
		p(`<text x="%d" y="%.1f" dy="4" fill="#1a7f37">%s</text>`+"\n", plotWidth-plotMarginR+6, yi(iv), compact(iv))
	}
	p(`<rect x="%d" y="%d" width="%.0f" height="%d" fill="none" stroke="#333"/>`+"\n", plotMarginL, plotTop, innerW, plotHeight)
	// Ticks fall on round times of day (every 6 hours: 00:00, 06:00, ...),
	// whatever the start.
	ticks := timeTicks(n)
	first := (ticks - int(r.Start.Unix()/60%int64(ticks))) % ticks
	for i := first; i <= n; i += ticks {
		at := r.Start.Add(time.Duration(i) * time.Minute)
		p(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#333"/>`+"\n", x(i), x(i), plotTop+plotHeight, plotTop+plotHeight+4)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(i), plotTop+plotHeight+18, tickLabel(at, n))
	}
	p(`<text x="%d" y="%d" text-anchor="middle">time (UTC), %s from %s</text>`+"\n", plotMarginL+int(innerW/2), plotTop+plotHeight+38,
		r.Duration(), r.Start.UTC().Format("2006-01-02 15:04"))
	p(`<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">invocations per minute</text>`+"\n", plotTop+plotHeight/2)
	p(`<text transform="translate(%d %d) rotate(90)" text-anchor="middle" fill="#1a7f37">instances</text>`+"\n", plotWidth-14, plotTop+plotHeight/2)

	series := func(color string, width float64, step bool, v func(Minute) float64, scale func(float64) float64) {
		p(`<polyline fill="none" stroke="%s" stroke-width="%.1f" points="`, color, width)
		for i, m := range r.Minutes {
			if step {
				p("%.1f,%.1f %.1f,%.1f ", x(i), scale(v(m)), x(i+1), scale(v(m)))
			} else {
				p("%.1f,%.1f ", (x(i)+x(i+1))/2, scale(v(m)))
			}
		}
		p(`"/>` + "\n")
	}
	series("#1f6feb", 1.5, false, func(m Minute) float64 { return m.Traffic }, y)
	series("#d4a72c", 2, true, func(m Minute) float64 { return m.Capacity }, y)
	series("#1a7f37", 1.5, true, func(m Minute) float64 { return float64(m.Instances) }, yi)

	legend := []struct{ color, label string }{
		{"#1f6feb", "traffic"}, {"#d4a72c", "capacity in service"}, {"#1a7f37", "instances in service"}, {"#f4c7c3", "over the latency threshold"},
	}
	lx := plotMarginL + 10
	for _, l := range legend {
		p(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, plotTop+8, l.color, lx+16, plotTop+18, l.label)
		lx += 30 + 7*len(l.label)
	}
	p("</svg>\n")
	return bw.Flush()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*e >= v {
			return f * e
		}
	}
	return 10 * e
}

// timeTicks returns minutes between time ticks for about 6 to 12 ticks.
func timeTicks(minutes int) int {
	for _, t := range []int{1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320} {
		if minutes/t <= 12 {
			return t
		}
	}
	return 10080
}

// tickLabel labels the time tick at: its time of day, but over several
// days, where times of day repeat, midnight is the date.
func tickLabel(at time.Time, minutes int) string {
	at = at.UTC()
	if minutes > 24*60 && at.Hour() == 0 && at.Minute() == 0 {
		return at.Format("Jan 2")
	}
	return at.Format("15:04")
}

// compact formats an axis value: 1500 → 1.5k, 2000000 → 2M.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case v >= 1e3:
		return fmt.Sprintf("%gk", math.Round(v/1e2)/10)
	}
	return fmt.Sprintf("%g", math.Round(v*10)/10)
}
