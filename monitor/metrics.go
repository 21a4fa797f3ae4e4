package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// metrics holds the daemon's Prometheus collectors, in a private registry.
type metrics struct {
	reg           *prometheus.Registry
	score         *prometheus.GaugeVec
	metric        *prometheus.GaugeVec
	eligible      *prometheus.GaugeVec
	sweepDuration prometheus.Gauge
	lastSuccess   prometheus.Gauge
	sweeps        *prometheus.CounterVec
	requests      *prometheus.CounterVec
	rateRemaining *prometheus.GaugeVec // no labels: absent until a response carries X-RateLimit-*
	alertsFiring  *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		score: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sgseq_score", Help: "Latest stored SEQ score (1-5) per account; absent while the account is ineligible.",
		}, []string{"account"}),
		metric: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sgseq_metric", Help: "Latest stored SEQ component metric (1-5) per account and metric.",
		}, []string{"account", "metric"}),
		eligible: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sgseq_eligible", Help: "1 when the account's latest stored day has a score, else 0.",
		}, []string{"account"}),
		sweepDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sgseq_sweep_duration_seconds", Help: "Wall time of the last sweep.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sgseq_last_success_timestamp_seconds", Help: "Unix time the last successful sweep finished.",
		}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sgseq_sweeps_total", Help: "Sweeps run, by result (success or error).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sgseq_api_requests_total", Help: "SendGrid API HTTP attempts (retries included) by status code, or \"error\" for transport errors.",
		}, []string{"status"}),
		rateRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sgseq_ratelimit_remaining", Help: "X-RateLimit-Remaining of the latest SendGrid response that carried one; absent until then.",
		}, nil),
		alertsFiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sgseq_alerts_firing", Help: "Alerts currently firing, by rule and severity.",
		}, []string{"rule", "severity"}),
	}
	m.reg.MustRegister(m.score, m.metric, m.eligible, m.sweepDuration, m.lastSuccess, m.sweeps,
		m.requests, m.rateRemaining, m.alertsFiring)
	// Both results exist from the start, so that rate() and increase() of
	// the errors work from the first failure.
	m.sweeps.WithLabelValues("success")
	m.sweeps.WithLabelValues("error")
	return m
}

func (m *metrics) observeRequest(ev client.RequestEvent) {
	status := "error"
	if ev.StatusCode > 0 {
		status = strconv.Itoa(ev.StatusCode)
	}
	m.requests.WithLabelValues(status).Inc()
	if ev.Rate.Limit > 0 {
		m.rateRemaining.WithLabelValues().Set(float64(ev.Rate.Remaining))
	}
}

func (m *metrics) observeSweep(res *SweepResult, err error, finished time.Time) {
	m.sweepDuration.Set(res.Duration.Seconds())
	if err != nil {
		m.sweeps.WithLabelValues("error").Inc()
		return
	}
	m.sweeps.WithLabelValues("success").Inc()
	m.lastSuccess.Set(float64(finished.UnixMilli()) / 1000)
}

// refreshGauges reloads the per-account and alert gauges from the store.
func (d *Daemon) refreshGauges(ctx context.Context) {
	latest, err := d.store.Latest(ctx)
	if err != nil {
		d.logger.Warn("metrics: reading latest scores", slog.Any(LogKeyError, err))
		return
	}
	m := d.metrics
	m.score.Reset()
	m.metric.Reset()
	m.eligible.Reset()
	for _, day := range latest {
		if day.Score == nil {
			m.eligible.WithLabelValues(day.Account).Set(0)
			continue
		}
		m.eligible.WithLabelValues(day.Account).Set(1)
		m.score.WithLabelValues(day.Account).Set(*day.Score)
		if day.Metrics != nil {
			for _, name := range client.AllMetrics {
				v, _ := day.Metrics.Get(name)
				m.metric.WithLabelValues(day.Account, string(name)).Set(v)
			}
		}
	}
	recs, err := d.store.Alerts(ctx)
	if err != nil {
		d.logger.Warn("metrics: reading alerts", slog.Any(LogKeyError, err))
		return
	}
	m.alertsFiring.Reset()
	for _, r := range recs {
		if r.State == alert.Firing {
			m.alertsFiring.WithLabelValues(string(r.Rule), string(r.Severity)).Inc()
		}
	}
	if last, ok, err := d.store.LastSweep(ctx, true); err == nil && ok {
		m.lastSuccess.Set(float64(last.Finished.UnixMilli()) / 1000)
	}
}

// Handler returns the daemon's HTTP handler:
//
//   - /healthz: 200 "ok" while the process runs.
//   - /readyz: 200 when the last sweep succeeded and the last successful
//     one finished less than two schedule periods ago; else 503 with the
//     reason.
//   - /metrics: Prometheus metrics.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if reason := d.notReady(r.Context()); reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, reason)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// notReady returns why the daemon is not ready, or "".
func (d *Daemon) notReady(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, found, err := d.store.LastSweep(ctx, true)
	if err != nil {
		return "store: " + err.Error()
	}
	// Judge by the last finished sweep: one still running (or whose process
	// died) says nothing yet, and must not hide the failure before it.
	last, finished, err := d.store.LastFinishedSweep(ctx)
	if err != nil {
		return "store: " + err.Error()
	}
	if finished && !last.Succeeded() {
		return fmt.Sprintf("last sweep (started %s) failed: %s", last.Started.UTC().Format(time.RFC3339), last.Err)
	}
	if !found {
		return "no successful sweep yet"
	}
	now := d.now()
	if limit := 2 * d.period(now); now.Sub(ok.Finished) > limit {
		return fmt.Sprintf("last successful sweep finished %s, more than %s ago", ok.Finished.UTC().Format(time.RFC3339), limit)
	}
	return ""
}
