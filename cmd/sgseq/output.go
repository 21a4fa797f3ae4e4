package main

import (
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
