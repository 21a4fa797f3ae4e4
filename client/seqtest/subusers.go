package seqtest

import (
	"net/http"
	"strconv"

	"github.com/sgseq/sgseq/client"
)

// offsetParams reads the limit (default def, at most 500) and offset
// parameters of an offset-paged list, answering 400 when one is invalid.
func offsetParams(w http.ResponseWriter, r *http.Request, def int) (limit, offset int, ok bool) {
	if limit, ok = intParam(w, r, "limit", def, 1, 500); !ok {
		return 0, 0, false
	}
	offset, ok = intParam(w, r, "offset", 0, 0, 1<<30)
	return limit, offset, ok
}

// intParam parses an optional non-negative integer query parameter. It
// writes a 400 and returns false when the value is malformed or outside
// [min, max].
func intParam(w http.ResponseWriter, r *http.Request, name string, def, min, max int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		writeError(w, http.StatusBadRequest, name, parseErr(name, "must be an integer between "+strconv.Itoa(min)+" and "+strconv.Itoa(max)))
		return 0, false
	}
	return n, true
}

// pageOf is the page [offset, offset+limit) of the items 0..n-1 that
// match accepts, each made by item; empty, not nil, when there is none.
func pageOf[R any](n, offset, limit int, match func(i int) bool, item func(i int) R) []R {
	out := []R{}
	skipped := 0
	for i := range n {
		if !match(i) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, item(i))
	}
	return out
}

// handleSubusers serves GET /v3/subusers: a bare array, ordered by id,
// filtered by username (exact) and region (all, global, eu), paged by limit
// (default 100, at most 500) and offset. region is included in each item
// when include_region=true or a region filter is given.
func (s *Server) handleSubusers(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := offsetParams(w, r, 100)
	if !ok {
		return
	}
	q := r.URL.Query()
	region := q.Get("region")
	switch region {
	case "", "all", "global", "eu":
	default:
		writeError(w, http.StatusBadRequest, "region", parseErr("region", "must be one of all, global, eu"))
		return
	}
	withRegion := region != "" || q.Get("include_region") == "true"
	username := q.Get("username")
	out := pageOf(len(s.subsByID), offset, limit, func(i int) bool {
		sub := s.subsByID[i]
		return (username == "" || sub.Username == username) &&
			(region == "" || region == "all" || sub.region() == region)
	}, func(i int) client.Subuser {
		sub := s.subsByID[i]
		it := client.Subuser{ID: sub.ID, Username: sub.Username, Email: sub.Email, Disabled: sub.Disabled}
		if withRegion {
			it.Region = sub.region()
		}
		return it
	})
	writeJSON(w, http.StatusOK, out)
}
