package events

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sgseq/sgseq/internal/secret"
)

// DefaultMaxBody is the default request size limit: SendGrid's batches
// reach about 768 kB.
const DefaultMaxBody = 4 << 20

// ErrNoAuth is returned by [NewReceiver] when neither a verification key
// nor basic auth is configured and Insecure is not set.
var ErrNoAuth = errors.New("events: no verification key and no basic auth: anyone could post events")

// ReceiverConfig configures a [Receiver].
type ReceiverConfig struct {
	// Keys verify the signature of signed webhooks (several webhooks
	// each have their own). With none, signatures are not checked.
	Keys []PublicKey
	// User and Password, if User is set, require HTTP basic auth (put
	// them in the webhook URL: https://user:password@host/).
	User     string
	Password secret.Secret
	// MaxAge, if set, rejects a batch whose signed timestamp is further
	// than this from now (a replay defence; off by default because
	// SendGrid's retries may keep the first timestamp, and a replayed
	// batch adds nothing anyway: events are deduplicated).
	MaxAge time.Duration
	// MaxBody is the request size limit; 0 means DefaultMaxBody.
	MaxBody int64
	// Insecure allows a receiver with neither keys nor basic auth (the
	// caller checks that it listens on loopback only).
	Insecure bool
	// Now is the clock for MaxAge; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per rejected or failed batch; nil
	// discards them.
	Logger *slog.Logger
}

// Receiver is the Event Webhook endpoint: an http.Handler that verifies,
// parses and stores posted batches, answering 2xx only once their new
// events are durable. Routes:
//
//	POST /...     a webhook batch (any path)
//	GET /healthz  200 while the process runs
//	GET /readyz   200 while the store takes writes, else 503
//	GET /metrics  Prometheus metrics
//
// Answers to a POST: 200 stored (JSON {"events","stored","duplicates"}),
// 401 bad or missing basic auth, 403 missing or bad signature (or too old
// with MaxAge), 400 not a JSON array of objects, 413 over MaxBody, 503
// the store cannot take it (SendGrid retries). Nothing is stored unless
// the answer is 200.
type Receiver struct {
	store *Store
	cfg   ReceiverConfig
	log   *slog.Logger
	mux   *http.ServeMux
	m     *receiverMetrics
	bufs  sync.Pool
}

type receiverMetrics struct {
	reg        *prometheus.Registry
	received   prometheus.Counter
	stored     prometheus.Counter
	duplicates prometheus.Counter
	batches    *prometheus.CounterVec
	commit     prometheus.Histogram
	request    prometheus.Histogram
}

// NewReceiver returns the handler for store. It returns [ErrNoAuth] when
// cfg has neither keys nor basic auth and Insecure is false.
func NewReceiver(store *Store, cfg ReceiverConfig) (*Receiver, error) {
	if len(cfg.Keys) == 0 && cfg.User == "" && !cfg.Insecure {
		return nil, ErrNoAuth
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rc := &Receiver{store: store, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	if rc.log == nil {
		rc.log = slog.New(slog.DiscardHandler)
	}
	rc.m = newReceiverMetrics(store)
	rc.mux.HandleFunc("POST /", rc.post)
	rc.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	rc.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := store.Err(); err != nil {
			plain(w, http.StatusServiceUnavailable, "store not ready: "+err.Error())
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	rc.mux.Handle("GET /metrics", promhttp.HandlerFor(rc.m.reg, promhttp.HandlerOpts{}))
	return rc, nil
}

func newReceiverMetrics(store *Store) *receiverMetrics {
	m := &receiverMetrics{reg: prometheus.NewRegistry()}
	m.received = prometheus.NewCounter(prometheus.CounterOpts{Name: "sgseq_events_received_total",
		Help: "Events in accepted batches (verified, well-formed), duplicates included."})
	m.stored = prometheus.NewCounter(prometheus.CounterOpts{Name: "sgseq_events_stored_total",
		Help: "New events stored durably."})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "sgseq_events_duplicates_total",
		Help: "Events whose sg_event_id was already stored."})
	m.batches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sgseq_events_batches_total",
		Help: "Webhook batches by HTTP status answered."}, []string{"code"})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sgseq_events_commit_seconds",
		Help:    "Group commit latency: write and fsync of the events of concurrent batches.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.request = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sgseq_events_batch_seconds",
		Help:    "Time to answer a webhook batch, reading the body to the answer.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	stored := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sgseq_events_store_events",
		Help: "Events in the store."}, func() float64 { return float64(store.Len()) })
	m.reg.MustRegister(m.received, m.stored, m.duplicates, m.batches, m.commit, m.request, stored)
	for _, code := range []int{200, 400, 401, 403, 413, 503} {
		m.batches.WithLabelValues(strconv.Itoa(code))
	}
	return m
}

// ObserveCommit records one group commit; pass it as the store's
// Options.OnCommit.
func (rc *Receiver) ObserveCommit(_ int, took time.Duration) {
	rc.m.commit.Observe(took.Seconds())
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rc.mux.ServeHTTP(w, r)
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func (rc *Receiver) answer(w http.ResponseWriter, r *http.Request, code int, msg string, err error) {
	rc.m.batches.WithLabelValues(strconv.Itoa(code)).Inc()
	if code != http.StatusOK {
		rc.log.Warn("events: batch rejected", "status", code, "reason", msg, "remote", r.RemoteAddr, "err", err)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="sgseq events"`)
	}
	plain(w, code, msg)
}

func (rc *Receiver) post(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { rc.m.request.Observe(time.Since(start).Seconds()) }()
	if rc.cfg.User != "" && !rc.authOK(r) {
		rc.answer(w, r, http.StatusUnauthorized, "bad or missing basic auth", nil)
		return
	}
	if r.ContentLength > rc.cfg.MaxBody {
		rc.answer(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", rc.cfg.MaxBody), nil)
		return
	}
	buf := rc.getBuf()
	defer rc.bufs.Put(buf)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, rc.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rc.answer(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", rc.cfg.MaxBody), nil)
			return
		}
		rc.answer(w, r, http.StatusBadRequest, "cannot read body", err)
		return
	}
	body := buf.Bytes()
	if len(rc.cfg.Keys) > 0 {
		ts := r.Header.Get(HeaderTimestamp)
		if err := VerifySignature(rc.cfg.Keys, r.Header.Get(HeaderSignature), ts, body); err != nil {
			rc.answer(w, r, http.StatusForbidden, err.Error(), nil)
			return
		}
		if rc.cfg.MaxAge > 0 {
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				rc.answer(w, r, http.StatusForbidden, "signed timestamp is not Unix seconds", nil)
				return
			}
			if d := rc.cfg.Now().Sub(time.Unix(sec, 0)); d > rc.cfg.MaxAge || d < -rc.cfg.MaxAge {
				rc.answer(w, r, http.StatusForbidden, "signed timestamp too far from now", nil)
				return
			}
		}
	}
	var objs, ids [][]byte
	var raws []rawFields
	if err := splitBatch(body, func(obj, id []byte, rf *rawFields) {
		objs = append(objs, obj)
		ids = append(ids, id)
		raws = append(raws, *rf)
	}); err != nil {
		rc.answer(w, r, http.StatusBadRequest, "body is not a JSON array of event objects: "+err.Error(), nil)
		return
	}
	b := rc.store.newBatch(objs, ids, raws)
	res, err := rc.store.Append(r.Context(), b)
	if err != nil {
		rc.answer(w, r, http.StatusServiceUnavailable, "store cannot take the batch", err)
		return
	}
	rc.m.received.Add(float64(res.Events))
	rc.m.stored.Add(float64(res.Stored))
	rc.m.duplicates.Add(float64(res.Duplicates))
	rc.m.batches.WithLabelValues("200").Inc()
	w.Header().Set("Content-Type", "application/json")
	out, _ := json.Marshal(map[string]int{"events": res.Events, "stored": res.Stored, "duplicates": res.Duplicates})
	w.Write(append(out, '\n'))
}

func (rc *Receiver) getBuf() *bytes.Buffer {
	if b, ok := rc.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return bytes.NewBuffer(make([]byte, 0, 1<<20))
}

// authOK compares the basic auth credentials in constant time.
func (rc *Receiver) authOK(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hu, wu := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(rc.cfg.User))
	hp, wp := sha256.Sum256([]byte(p)), sha256.Sum256([]byte(rc.cfg.Password.Reveal()))
	return subtle.ConstantTimeCompare(hu[:], wu[:])&subtle.ConstantTimeCompare(hp[:], wp[:]) == 1
}
