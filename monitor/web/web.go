package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/history"
	"github.com/sgseq/sgseq/monitor/pools"
	"github.com/sgseq/sgseq/monitor/status"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Security headers sent with every response.
const (
	// ContentSecurityPolicy allows nothing but the server's own static
	// files: no inline script or style, no framing, no form posts elsewhere.
	ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// PlanSource gives the current IP-pool plan (see [PlanCache]).
type PlanSource interface {
	Plan(ctx context.Context) (*pools.Plan, error)
}

// BasicAuth is a username and password that every route requires (HTTP
// basic authentication), for a page exposed beyond the loopback interface.
type BasicAuth struct {
	Username string
	Password string
}

// String hides the password.
func (b BasicAuth) String() string { return b.Username + ":REDACTED" }

// Options configures [Handler].
type Options struct {
	// Plans gives the current IP-pool plan; nil when pools are not enabled
	// (no pool columns, /pools answers 404).
	Plans PlanSource
	// PoolsConfig is the planner's configuration, used with Plans to replay
	// an account's tier history.
	PoolsConfig pools.Config
	// Auth, when set with a non-empty Username, makes every route require
	// these credentials.
	Auth *BasicAuth
	// Refresh, when positive, makes the pages reload themselves this often
	// (an optional embedded script; the pages work without it).
	Refresh time.Duration
	// Now is the clock for "3 hours ago" (default time.Now).
	Now func() time.Time
	// Logger logs store errors (default: discard).
	Logger *slog.Logger
}

type handler struct {
	src      Source
	plans    PlanSource
	poolsCfg pools.Config
	refresh  time.Duration
	now      func() time.Time
	logger   *slog.Logger
	tmpl     map[string]*template.Template
	bufs     sync.Pool
	cache    overviewCache
}

// Handler serves the status pages and their JSON API from src, read-only:
//
//	GET /                                   every account, worst first
//	GET /accounts/{account}                 one account's whole history
//	GET /pools                              the IP-pool plan (when opts.Plans is set)
//	GET /api/v1/status                      = sgseq status -o json
//	GET /api/v1/accounts/{account}/history  = sgseq history ACCOUNT -o json [?days=N]
//	GET /static/...                         the embedded stylesheet, script and icon
//
// Only GET (and HEAD) are served. Every response carries
// [ContentSecurityPolicy], X-Content-Type-Options: nosniff and
// X-Frame-Options: DENY.
func Handler(src Source, opts Options) http.Handler {
	h := &handler{src: src, plans: opts.Plans, poolsCfg: opts.PoolsConfig, refresh: opts.Refresh, now: opts.Now, logger: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.bufs.New = func() any { return new(bytes.Buffer) }
	h.tmpl = parseTemplates()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.serveOverview)
	mux.HandleFunc("GET /accounts/{account}", h.serveAccount)
	mux.HandleFunc("GET /pools", h.servePools)
	mux.HandleFunc("GET /api/v1/status", h.serveStatusJSON)
	mux.HandleFunc("GET /api/v1/accounts/{account}/history", h.serveHistoryJSON)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the status pages are read-only", http.StatusMethodNotAllowed)
			return
		}
		h.serveError(w, r, http.StatusNotFound, "No such page.")
	})
	var out http.Handler = mux
	if opts.Auth != nil && opts.Auth.Username != "" {
		out = requireAuth(*opts.Auth, out)
	}
	return secure(out)
}

// secure sets the security headers of every response.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// requireAuth answers 401 unless the request carries auth's credentials
// (compared in constant time).
func requireAuth(auth BasicAuth, next http.Handler) http.Handler {
	wantU, wantP := sha256.Sum256([]byte(auth.Username)), sha256.Sum256([]byte(auth.Password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotU, gotP := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if !ok || subtle.ConstantTimeCompare(gotU[:], wantU[:])&subtle.ConstantTimeCompare(gotP[:], wantP[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="sgseq", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// page is what every page's template gets besides its own model.
type page struct {
	Title    string
	Sweep    sweepInfo
	Now      time.Time
	PoolsOn  bool
	PoolsErr string
	Refresh  int // seconds; 0 = no auto-refresh
	// ShowSweep shows the last sweep at the top (not on error pages).
	ShowSweep bool
}

func (h *handler) newPage(title string, si sweepInfo, poolsOn bool) page {
	return page{Title: title, Sweep: si, Now: h.now(), PoolsOn: poolsOn, Refresh: int(h.refresh / time.Second), ShowSweep: true}
}

// renderRead renders the page name of data read from the store, or the
// store's error when the read failed.
func (h *handler) renderRead(w http.ResponseWriter, r *http.Request, name string, data any, err error) {
	if err != nil {
		h.serveStoreError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, name, data)
}

func (h *handler) serveOverview(w http.ResponseWriter, r *http.Request) {
	ov, err := h.readOverview(r.Context())
	h.renderRead(w, r, "overview", ov, err)
}

func (h *handler) serveAccount(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	p, err := h.readAccount(r.Context(), account)
	var na errNoAccount
	if errors.As(err, &na) {
		msg := fmt.Sprintf("No stored history for the account %q.", account)
		if strings.EqualFold(strings.Trim(account, "()"), "parent") && account != alert.ParentAccount {
			msg += fmt.Sprintf(" The parent account is %q.", alert.ParentAccount)
		}
		h.serveError(w, r, http.StatusNotFound, msg)
		return
	}
	h.renderRead(w, r, "account", p, err)
}

func (h *handler) servePools(w http.ResponseWriter, r *http.Request) {
	if h.plans == nil {
		h.serveError(w, r, http.StatusNotFound, "IP pools are not enabled (pools.enabled in the configuration).")
		return
	}
	p, err := h.readPools(r.Context())
	h.renderRead(w, r, "pools", p, err)
}

func (h *handler) serveStatusJSON(w http.ResponseWriter, r *http.Request) {
	rows, err := status.Read(r.Context(), h.src)
	if err != nil {
		h.serveJSONError(w, r, http.StatusInternalServerError, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, rows)
}

func (h *handler) serveHistoryJSON(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			h.serveJSONError(w, r, http.StatusBadRequest, fmt.Errorf("invalid days %q: want 1 or more", v))
			return
		}
		days = n
	}
	hist, err := status.History(r.Context(), h.src, account, days)
	if errors.Is(err, status.ErrNoHistory) {
		h.serveJSONError(w, r, http.StatusNotFound, err)
		return
	}
	if err != nil {
		h.serveJSONError(w, r, http.StatusInternalServerError, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, status.Days(account, hist))
}

// jsonError is the body of an API error.
type jsonError struct {
	Error string `json:"error"`
}

func (h *handler) serveJSONError(w http.ResponseWriter, r *http.Request, code int, err error) {
	msg := err.Error()
	if code >= 500 {
		h.logger.ErrorContext(r.Context(), "status page: store read failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		msg = "the store could not be read (see the server's log)"
	}
	h.writeJSON(w, r, code, jsonError{Error: msg})
}

func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.putBuf(buf)
	if err := status.WriteJSON(buf, v); err != nil {
		h.logger.ErrorContext(r.Context(), "status page: encode JSON", slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeBuffered(w, code, "application/json", buf, true)
}

// writeBuffered answers code with the content buf holds, of type ctype,
// not cached; the body only when withBody.
func writeBuffered(w http.ResponseWriter, code int, ctype string, buf *bytes.Buffer, withBody bool) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	if withBody {
		_, _ = w.Write(buf.Bytes())
	}
}

// errorPage is the model of an error page.
type errorPage struct {
	page
	Code    int
	Message string
}

func (h *handler) serveError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	p := &errorPage{page: h.newPage(http.StatusText(code), sweepInfo{}, h.plans != nil), Code: code, Message: msg}
	p.Refresh, p.ShowSweep = 0, false
	h.render(w, r, code, "error", p)
}

func (h *handler) serveStoreError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	h.logger.ErrorContext(r.Context(), "status page: store read failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	h.serveError(w, r, http.StatusInternalServerError, "The store could not be read (see the server's log).")
}

// maxPooledBuf bounds the buffers kept for reuse.
const maxPooledBuf = 4 << 20

func (h *handler) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		b.Reset()
		h.bufs.Put(b)
	}
}

// render executes a page into a buffer first, so that a template error
// gives a clean 500 rather than half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.putBuf(buf)
	if err := h.tmpl[name].ExecuteTemplate(buf, "layout", data); err != nil {
		h.logger.ErrorContext(r.Context(), "status page: render", slog.String("page", name), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeBuffered(w, code, "text/html; charset=utf-8", buf, r.Method != http.MethodHead)
}

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"overview", "account", "pools", "error"}

func parseTemplates() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t := template.New(n).Funcs(funcs)
		out[n] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/"+n+".html"))
	}
	return out
}

var funcs = template.FuncMap{
	"score": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmtValue(*p)
	},
	"metric": func(m *client.Metrics, name string) string {
		if m == nil {
			return "–"
		}
		v, _ := m.Get(client.Metric(name))
		return fmtValue(v)
	},
	"metricLevel": func(m *client.Metrics, name string) string {
		if m == nil {
			return "none"
		}
		v, _ := m.Get(client.Metric(name))
		return level(&v)
	},
	"level":       level,
	"metrics":     func() []client.Metric { return client.AllMetrics },
	"metricName":  func(m client.Metric) string { return metricTitles[m] },
	"accountPath": accountPath,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ago": func(now, t time.Time) string { return ago(now.Sub(t)) },
	"dur": func(d time.Duration) string {
		if d < time.Second {
			return d.Round(time.Millisecond).String()
		}
		return d.Round(time.Second).String()
	},
	"join": strings.Join,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"num":      num,
	"sub":      func(a, b float64) float64 { return a - b },
	"addf":     func(a, b float64) float64 { return a + b },
	"isParent": func(a string) bool { return a == alert.ParentAccount },
	"eligible": func(d history.DayScore) bool { return d.Score != nil },
}

// level classes a 1–5 value for colouring: bad (≤ 2), fair (3), good (≥ 4).
func level(p *float64) string {
	switch {
	case p == nil:
		return "none"
	case *p <= 2:
		return "bad"
	case *p < 4:
		return "fair"
	}
	return "good"
}

// ago writes a duration in the past briefly: "just now", "5 min ago",
// "3 h ago", "2 days ago".
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
}
