package web

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
)

// numbersHTML renders the numeric cells of an overview row (day, score,
// five metrics, sparkline) straight to HTML: thousands of rows through the
// template would cost a reflective call per value. It is safe without
// escaping by construction: its input is numbers, a date and constant
// class names, never account-controlled text (cell.Text comes from
// fmtValue and cell.Level from level).
func numbersHTML(date client.Date, staleFor int, score cell, eligible bool, metrics [5]cell, sp sparkline) template.HTML {
	var b strings.Builder
	b.Grow(600)
	b.WriteString(`<td class="day">`)
	b.WriteString(date.String())
	if staleFor > 0 {
		b.WriteString(` <span class="muted">(`)
		b.WriteString(strconv.Itoa(staleFor))
		b.WriteString(` d behind)</span>`)
	}
	b.WriteString(`</td><td class="score lvl-`)
	b.WriteString(score.Level)
	b.WriteString(`">`)
	if eligible {
		b.WriteString(score.Text)
	} else {
		b.WriteString(`<span class="inel">ineligible</span>`)
	}
	b.WriteString(`</td>`)
	for _, m := range metrics {
		b.WriteString(`<td class="m lvl-`)
		b.WriteString(m.Level)
		b.WriteString(`">`)
		b.WriteString(m.Text)
		b.WriteString(`</td>`)
	}
	b.WriteString(`<td class="sparkcell"><svg class="spark" viewBox="0 0 `)
	b.WriteString(sp.Width + " " + sp.Height + `" width="` + sp.Width + `" height="` + sp.Height)
	b.WriteString(`" role="img" aria-label="daily scores, oldest first: ` + sp.Label + `"><title>` + sp.Label + `</title>`)
	if sp.D != "" {
		b.WriteString(`<path d="` + sp.D + `"/>`)
	}
	if sp.HasLast {
		b.WriteString(`<circle cx="` + sp.LastX + `" cy="` + sp.LastY + `" r="1.8"/>`)
	}
	b.WriteString(`</svg></td>`)
	return template.HTML(b.String()) // numbers and constants only, see above
}
