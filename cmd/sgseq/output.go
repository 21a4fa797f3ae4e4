package main

// Output formats, tables fitted to the terminal, and the scores contract.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sgseq/sgseq/client"
)

// scoreJSON is one element of the documented "-o json" array of
// "sgseq scores" and "sgseq subusers scores": the API's field names plus
// "eligible". An ineligible day has "eligible": false and no score or
// metrics keys.
type scoreJSON struct {
	UserID   string          `json:"user_id"`
	Username string          `json:"username"`
	Date     client.Date     `json:"date"`
	Eligible bool            `json:"eligible"`
	Score    *float64        `json:"score,omitempty"`
	Metrics  *client.Metrics `json:"metrics,omitempty"`
}

// scoresCSVHeader is the documented CSV header of the scores commands.
var scoresCSVHeader = []string{
	"user_id", "username", "date", "eligible", "score",
	"metrics.engagement_recency", "metrics.open_rate", "metrics.bounce_classification",
	"metrics.bounce_rate", "metrics.spam_rate",
}

// scoresTableHeader is the table header of the scores commands.
var scoresTableHeader = []string{"DATE", "USER_ID", "USERNAME", "SCORE", "ENGAGEMENT", "OPEN", "BOUNCE_CLASS", "BOUNCE_RATE", "SPAM"}

// ineligibleText is what the table shows instead of a score on an
// ineligible day; a missing metric shows as cliMissing.
const (
	ineligibleText = "n/a (ineligible)"
	cliMissing     = "—"
)

// scoresTable renders scores for writeOutput in all three formats.
func scoresTable(scores []client.Score) tableData {
	t := tableData{
		Header:    scoresTableHeader,
		CSVHeader: scoresCSVHeader,
		Rows:      make([][]string, 0, len(scores)),
		CSVRows:   make([][]string, 0, len(scores)),
	}
	js := make([]scoreJSON, 0, len(scores))
	for _, s := range scores {
		j := scoreJSON{UserID: s.UserID, Username: s.Username, Date: s.Date, Eligible: s.Eligible()}
		row := []string{s.Date.String(), s.UserID, s.Username}
		csvRow := []string{s.UserID, s.Username, s.Date.String()}
		if s.Eligible() {
			j.Score = s.Score
			row = append(row, cliFloat(*s.Score))
			csvRow = append(csvRow, "true", cliFloat(*s.Score))
		} else {
			row = append(row, ineligibleText)
			csvRow = append(csvRow, "false", "")
		}
		for _, m := range client.AllMetrics {
			if s.Eligible() && s.Metrics != nil {
				v, _ := s.Metrics.Get(m)
				row = append(row, cliFloat(v))
				csvRow = append(csvRow, cliFloat(v))
			} else {
				row = append(row, cliMissing)
				csvRow = append(csvRow, "")
			}
		}
		if s.Eligible() {
			j.Metrics = s.Metrics
		}
		t.Rows = append(t.Rows, row)
		t.CSVRows = append(t.CSVRows, csvRow)
		js = append(js, j)
	}
	t.JSON = js
	return t
}

// Output formats of -o.
const (
	outputTable = "table"
	outputWide  = "wide" // the table with no cell shortened to the terminal width
	outputJSON  = "json"
	outputCSV   = "csv"
)

// cliAddOutputFlag adds -o/--output (table, wide, json or csv; default
// table) and --no-headers.
func cliAddOutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", outputTable, "output format: table, wide (table, nothing shortened), json or csv")
	cliAddNoHeadersFlag(cmd)
}

// cliAddNoHeadersFlag adds --no-headers (for commands with their own -o).
func cliAddNoHeadersFlag(cmd *cobra.Command) {
	cmd.Flags().Bool("no-headers", false, "table output: leave out the header row")
}

// checkOutputFormat validates a -o value. A value that looks like a file
// name gets a hint: --out is the file, -o the format.
func checkOutputFormat(format string) error {
	switch format {
	case outputTable, outputWide, outputJSON, outputCSV:
		return nil
	}
	return cliFormatError(format, "table, wide, json or csv")
}

// cliFormatError is the error for an unknown -o value; want lists the
// formats of the command.
func cliFormatError(format, want string) error {
	if strings.ContainsAny(format, "./\\") {
		return fmt.Errorf("invalid --output %q: want %s (-o is the format; did you mean --out %s?)", format, want, format)
	}
	return fmt.Errorf("invalid --output %q: want %s", format, want)
}

// tableOut is a command's stdout with the table options of its flags:
// writeOutput and newTableWriter read them from the writer they are given.
type tableOut struct {
	io.Writer
	// Width, when positive, is the terminal width that table cells are
	// shortened to fit (with "…"). 0 leaves them whole.
	Width int
	// NoHeaders leaves out the header row of writeOutput's tables.
	NoHeaders bool
}

// cliOut returns the command's stdout for writeOutput: tables are fitted
// to the terminal's width when stdout is a terminal (unless -o wide) and
// lose their header with --no-headers.
func cliOut(cmd *cobra.Command) io.Writer {
	w := cmd.OutOrStdout()
	t := &tableOut{Writer: w}
	if f := cmd.Flags().Lookup("no-headers"); f != nil {
		t.NoHeaders = f.Value.String() == "true"
	}
	wide := false
	if f := cmd.Flags().Lookup("output"); f != nil {
		wide = f.Value.String() == outputWide
	}
	if !wide {
		t.Width = cliTerminalWidth(w)
	}
	return t
}

// cliTerminalWidth returns the width of the terminal w writes to, or 0
// when w is not a terminal.
func cliTerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		return 0
	}
	return width
}

// tableData is what a command prints, in every format.
type tableData struct {
	// Header and Rows make the table (and the CSV unless CSVHeader is set).
	Header []string
	Rows   [][]string
	// CSVHeader and CSVRows, when CSVHeader is set, replace Header and
	// Rows for -o csv (e.g. empty cells where the table says "n/a").
	CSVHeader []string
	CSVRows   [][]string
	// JSON is the value printed by -o json. When nil, each row becomes an
	// object keyed by Header.
	JSON any
	// Footer lines are printed after the table only.
	Footer []string
}

// writeOutput renders t to w as a tab-aligned table (fitted and headed as
// a tableOut w says), a JSON document or CSV with a header row.
func writeOutput(w io.Writer, format string, t tableData) error {
	if err := checkOutputFormat(format); err != nil {
		return err
	}
	switch format {
	case outputJSON:
		v := t.JSON
		if v == nil {
			objs := make([]map[string]string, 0, len(t.Rows))
			for _, r := range t.Rows {
				o := make(map[string]string, len(t.Header))
				for i, h := range t.Header {
					if i < len(r) {
						o[h] = r[i]
					}
				}
				objs = append(objs, o)
			}
			v = objs
		}
		return writeJSON(w, v)
	case outputCSV:
		header, rows := t.Header, t.Rows
		if t.CSVHeader != nil {
			header, rows = t.CSVHeader, t.CSVRows
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	default:
		tw := newTableWriter(w)
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
		for _, r := range t.Rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, f := range t.Footer {
			if _, err := fmt.Fprintln(w, f); err != nil {
				return err
			}
		}
		return nil
	}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tableWriter collects tab-separated lines and, on Flush, writes them as
// aligned columns (two spaces apart), the cells shortened to fit the width
// of a *tableOut it writes to; the first line is the header, left out with
// the tableOut's NoHeaders. It replaces
// tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) for tables shown to people.
type tableWriter struct {
	w   io.Writer
	buf []byte
}

// newTableWriter returns a tableWriter writing to w.
func newTableWriter(w io.Writer) *tableWriter { return &tableWriter{w: w} }

// Write buffers p.
func (t *tableWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// Flush writes the buffered lines, aligned and fitted.
func (t *tableWriter) Flush() error {
	text := strings.TrimSuffix(string(t.buf), "\n")
	t.buf = t.buf[:0]
	if text == "" {
		return nil
	}
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		rows = append(rows, strings.Split(line, "\t"))
	}
	if o, ok := t.w.(*tableOut); ok {
		if o.Width > 0 {
			fitTable(rows, o.Width)
		}
		if o.NoHeaders {
			rows = rows[1:]
		}
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fitMinWidth is the narrowest a column is shortened to.
const fitMinWidth = 8

// fitTable shortens cells, widest column first, so that the aligned rows
// (columns two spaces apart) fit in width; no column is made narrower than
// fitMinWidth or its header (the first row), so a table with many columns
// may still be wider. The last cell of a row that has fewer cells than
// the others is not aligned, so it is shortened to the space left.
func fitTable(rows [][]string, width int) {
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	colw := make([]int, cols)
	minw := make([]int, cols)
	for _, r := range rows {
		for i, c := range r {
			colw[i] = max(colw[i], utf8.RuneCountInString(c))
		}
	}
	for i := range minw {
		minw[i] = colw[i]
		if len(rows) > 0 && i < len(rows[0]) {
			minw[i] = min(colw[i], max(fitMinWidth, utf8.RuneCountInString(rows[0][i])))
		}
	}
	total := func() int {
		n := 2 * (cols - 1)
		for _, w := range colw {
			n += w
		}
		return n
	}
	for total() > width {
		widest := -1
		for i := range colw {
			if colw[i] > minw[i] && (widest < 0 || colw[i] > colw[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		colw[widest]--
	}
	for _, r := range rows {
		for i := range r {
			r[i] = fitCell(r[i], colw[i])
		}
	}
}

// fitCell shortens s to n runes, the last one "…".
func fitCell(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// lineWrapper wraps the lines written through it at spaces to fit a
// terminal width; a continuation line is indented two spaces more than the
// line it continues. A width of 0 passes everything through.
type lineWrapper struct {
	w     io.Writer
	width int
	buf   []byte
}

// Write wraps every complete line of p and buffers the rest.
func (l *lineWrapper) Write(p []byte) (int, error) {
	if l.width <= 0 {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		if _, err := io.WriteString(l.w, wrapLine(line, l.width)+"\n"); err != nil {
			return 0, err
		}
	}
}

// Flush writes a last line without a newline.
func (l *lineWrapper) Flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(l.w, wrapLine(string(l.buf), l.width))
	l.buf = nil
	return err
}

// wrapLine breaks line at spaces into lines of at most width runes (a
// word longer than that stays whole).
func wrapLine(line string, width int) string {
	if utf8.RuneCountInString(line) <= width {
		return line
	}
	indent := line[:len(line)-len(strings.TrimLeft(line, " "))] + "  "
	var b strings.Builder
	cur := line[:len(indent)-2]
	n := utf8.RuneCountInString(cur)
	first := true
	for _, word := range strings.Fields(line) {
		wl := utf8.RuneCountInString(word)
		switch {
		case first:
			cur += word
			n += wl
			first = false
		case n+1+wl > width:
			b.WriteString(cur + "\n")
			cur = indent + word
			n = utf8.RuneCountInString(cur)
		default:
			cur += " " + word
			n += 1 + wl
		}
	}
	b.WriteString(cur)
	return b.String()
}
