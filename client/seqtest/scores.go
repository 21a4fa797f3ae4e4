package seqtest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sgseq/sgseq/client"
)

// retentionDays is how far back SendGrid keeps scores.
const retentionDays = client.RetentionDays

// scoresResult is the body of a 200 from either scores endpoint.
type scoresResult struct {
	Result   []client.Score `json:"result"`
	Metadata *metadata      `json:"_metadata,omitempty"`
}

type metadata struct {
	NextParams *nextParams `json:"next_params,omitempty"`
}

type nextParams struct {
	AfterKey string `json:"after_key"`
}

// parseErr builds SendGrid's "failed to parse request" message.
func parseErr(field, what string) string {
	return `failed to parse request: "` + field + `" ` + what
}

// dateParam validates one date query parameter: present, well formed, not
// in the future, not more than 90 days back.
func (s *Server) dateParam(r *http.Request, field string) (client.Date, string) {
	v := r.URL.Query().Get(field)
	if v == "" {
		return client.Date{}, parseErr(field, "must be provided")
	}
	d, err := client.ParseDate(v)
	if err != nil {
		return client.Date{}, parseErr(field, "is invalid")
	}
	return d, ""
}

// checkWindow reports the error for a date outside [today-90, today].
func (s *Server) checkWindow(field string, d client.Date) string {
	today := s.today()
	if d.After(today) {
		return parseErr(field, "cannot be in the future")
	}
	if d.Before(today.AddDays(-retentionDays)) {
		return parseErr(field, "cannot be more than 90 days in the past")
	}
	return ""
}

// subject resolves the on-behalf-of header: the parent, a subuser or a
// customer account. ok is false (and a 403 written) for an unknown one.
func (s *Server) subject(w http.ResponseWriter, r *http.Request) (*Subject, bool) {
	obo := strings.TrimSpace(r.Header.Get("on-behalf-of"))
	if obo == "" {
		return &s.acct.Parent, true
	}
	if id, ok := strings.CutPrefix(obo, "account-id "); ok {
		if c := s.custByID[strings.TrimSpace(id)]; c != nil {
			return c, true
		}
		writeError(w, http.StatusForbidden, "", "access forbidden: unknown account-id")
		return nil, false
	}
	if sub := s.subByName[obo]; sub != nil {
		return sub, true
	}
	writeError(w, http.StatusForbidden, "", "access forbidden: unknown subuser")
	return nil, false
}

// scoreOf renders one history day as an API item.
func scoreOf(sub *Subject, d Day) client.Score {
	return client.Score{UserID: sub.userID(), Username: sub.Username, Date: d.Date, Score: d.Score, Metrics: d.Metrics}
}

// lastScored is the latest day that has scores: min(yesterday, End).
func (s *Server) lastScored() client.Date {
	last := s.today().AddDays(-1)
	if s.acct.End.Before(last) {
		last = s.acct.End
	}
	return last
}

// handleScores serves GET /v3/engagementquality/scores.
func (s *Server) handleScores(w http.ResponseWriter, r *http.Request) {
	from, msg := s.dateParam(r, "from")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "from", msg)
		return
	}
	to, msg := s.dateParam(r, "to")
	if msg != "" {
		writeError(w, http.StatusBadRequest, "to", msg)
		return
	}
	if from.After(to) {
		writeError(w, http.StatusBadRequest, "from", parseErr("from", `cannot come after "to"`))
		return
	}
	for _, f := range []struct {
		name string
		d    client.Date
	}{{"from", from}, {"to", to}} {
		if msg := s.checkWindow(f.name, f.d); msg != "" {
			writeError(w, http.StatusBadRequest, f.name, msg)
			return
		}
	}
	sub, ok := s.subject(w, r)
	if !ok {
		return
	}
	key := RouteScores + " " + from.String() + ".." + to.String() + " " + r.Header.Get("on-behalf-of")
	if !from.Before(s.today()) || s.consumePending(key, from, to) {
		// Today is not scored yet: SendGrid answers 202 with an empty object.
		writeJSON(w, http.StatusAccepted, struct{}{})
		return
	}
	last := s.lastScored()
	res := scoresResult{Result: []client.Score{}}
	for d := from; !d.After(to) && !d.After(last); d = d.AddDays(1) {
		if day, ok := dayAt(sub.History, d); ok {
			res.Result = append(res.Result, scoreOf(sub, day))
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// handleSubuserScores serves GET /v3/engagementquality/subusers/scores.
func (s *Server) handleSubuserScores(w http.ResponseWriter, r *http.Request) {
	date, msg := s.dateParam(r, "date")
	if msg == "" {
		msg = s.checkWindow("date", date)
	}
	if msg != "" {
		writeError(w, http.StatusBadRequest, "date", msg)
		return
	}
	q := r.URL.Query()
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit", parseErr("limit", "must be an integer between 1 and 1000"))
			return
		}
		limit = n
	}
	var after int64
	hasAfter := false
	if v := q.Get("after_key"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after_key", parseErr("after_key", "is invalid"))
			return
		}
		after, hasAfter = n, true
	}
	if obo := r.Header.Get("on-behalf-of"); obo != "" && !strings.HasPrefix(obo, "account-id ") {
		writeError(w, http.StatusForbidden, "", "access forbidden: subusers have no subusers")
		return
	}
	key := RouteSubuserScores + " " + date.String() + " " + r.Header.Get("on-behalf-of")
	if !date.Before(s.today()) || s.consumePending(key, date, date) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	res := scoresResult{Result: []client.Score{}}
	if !date.After(s.lastScored()) {
		start := 0
		if hasAfter {
			start = sort.Search(len(s.subsByID), func(i int) bool { return s.subsByID[i].ID > after })
		}
		var lastID int64
		for _, sub := range s.subsByID[start:] {
			day, ok := dayAt(sub.History, date)
			if !ok {
				continue
			}
			if len(res.Result) == limit {
				// More remain: point the next page after the last one sent.
				res.Metadata = &metadata{NextParams: &nextParams{AfterKey: strconv.FormatInt(lastID, 10)}}
				break
			}
			res.Result = append(res.Result, scoreOf(sub, day))
			lastID = sub.ID
		}
	}
	writeJSON(w, http.StatusOK, res)
}
