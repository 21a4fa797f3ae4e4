package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/alert"
)

// metrics holds the daemon's Prometheus collectors, in a private registry.
type metrics struct {
	reg           *prometheus.Registry
	accounts      *snapshotCollector // sgseq_score, sgseq_metric, sgseq_eligible
	alertsFiring  *snapshotCollector // sgseq_alerts_firing
	sweepDuration prometheus.Gauge
	lastSuccess   prometheus.Gauge
	sweeps        *prometheus.CounterVec
	requests      *prometheus.CounterVec
	rateRemaining *prometheus.GaugeVec // no labels: absent until a response carries X-RateLimit-*
}

var (
	descScore = prometheus.NewDesc("sgseq_score",
		"Latest stored SEQ score (1-5) per monitored account; absent while the account is ineligible.",
		[]string{"account"}, nil)
	descMetric = prometheus.NewDesc("sgseq_metric",
		"Latest stored SEQ component metric (1-5) per monitored account and metric.",
		[]string{"account", "metric"}, nil)
	descEligible = prometheus.NewDesc("sgseq_eligible",
		"1 when the monitored account's latest stored day has a score, else 0.",
		[]string{"account"}, nil)
	descAlertsFiring = prometheus.NewDesc("sgseq_alerts_firing",
		"Alerts currently firing, by rule and severity.",
		[]string{"rule", "severity"}, nil)
)

// snapshotCollector exports a set of samples that is replaced as a whole:
// a scrape sees either the old set or the new one, never a half-built or
// empty one, and series of labels that left the set disappear.
type snapshotCollector struct {
	descs   []*prometheus.Desc
	mu      sync.RWMutex
	samples []prometheus.Metric
}

func newSnapshotCollector(descs ...*prometheus.Desc) *snapshotCollector {
	return &snapshotCollector{descs: descs}
}

// Describe implements [prometheus.Collector].
func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements [prometheus.Collector].
func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	samples := c.samples
	c.mu.RUnlock()
	for _, s := range samples {
		ch <- s
	}
}

// set replaces the samples.
func (c *snapshotCollector) set(samples []prometheus.Metric) {
	c.mu.Lock()
	c.samples = samples
	c.mu.Unlock()
}

// gauge builds one constant gauge sample. The descriptors are static and
// the label counts fixed, so an error is a programming mistake; it is
// reported by the registry as an invalid metric rather than a panic.
func gauge(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}

func newMetrics() *metrics {
	m := &metrics{
		reg:          prometheus.NewRegistry(),
		accounts:     newSnapshotCollector(descScore, descMetric, descEligible),
		alertsFiring: newSnapshotCollector(descAlertsFiring),
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
	}
	m.reg.MustRegister(m.accounts, m.alertsFiring, m.sweepDuration, m.lastSuccess, m.sweeps,
		m.requests, m.rateRemaining)
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
// The per-account series cover exactly the monitored accounts: those of
// the last successful discovery or, before the first one, the stored
// accounts that pass the static account filters (parent, include/exclude
// globs). Each set of series is built first and then swapped in whole, so
// a scrape never sees it half-built.
func (d *Daemon) refreshGauges(ctx context.Context) {
	m := d.metrics
	latest, err := d.store.Latest(ctx)
	if err != nil {
		d.logger.Warn("metrics: reading latest scores", slog.Any(logKeyError, err))
	} else {
		var known map[string]bool
		if p := d.monitoredAccounts.Load(); p != nil {
			known = *p
		}
		var samples []prometheus.Metric
		for _, day := range latest {
			if known != nil && !known[day.Account] || known == nil && !d.staticMonitored(day.Account) {
				continue
			}
			if day.Score == nil {
				samples = append(samples, gauge(descEligible, 0, day.Account))
				continue
			}
			samples = append(samples, gauge(descEligible, 1, day.Account), gauge(descScore, *day.Score, day.Account))
			if day.Metrics != nil {
				for _, name := range client.AllMetrics {
					v, _ := day.Metrics.Get(name)
					samples = append(samples, gauge(descMetric, v, day.Account, string(name)))
				}
			}
		}
		m.accounts.set(samples)
	}
	recs, err := d.store.Alerts(ctx)
	if err != nil {
		d.logger.Warn("metrics: reading alerts", slog.Any(logKeyError, err))
		return
	}
	type ruleSev struct{ rule, sev string }
	counts := map[ruleSev]int{}
	var order []ruleSev
	for _, r := range recs {
		if r.State != alert.Firing {
			continue
		}
		k := ruleSev{string(r.Rule), string(r.Severity)}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	samples := make([]prometheus.Metric, 0, len(order))
	for _, k := range order {
		samples = append(samples, gauge(descAlertsFiring, float64(counts[k]), k.rule, k.sev))
	}
	m.alertsFiring.set(samples)
	if last, ok, err := d.store.LastSweep(ctx, true); err == nil && ok {
		m.lastSuccess.Set(float64(last.Finished.UnixMilli()) / 1000)
	}
}

// staticMonitored reports whether a stored account passes the accounts
// section's static filters; used before the first discovery, when the
// subusers' disabled flags are not known yet.
func (d *Daemon) staticMonitored(account string) bool {
	if account == alert.ParentAccount {
		return d.cfg.Accounts.IncludeParent
	}
	return d.monitored(client.Subuser{Username: account})
}

// Handler returns the daemon's HTTP handler:
//
//   - /healthz: 200 "ok" while the process runs.
//   - /readyz: 200 when the last sweep succeeded and the last successful
//     one finished less than two schedule periods ago; else 503 with the
//     reason.
//   - /metrics: Prometheus metrics.
//   - everything else: the read-only status pages and their JSON API
//     (package web; basic auth with SGSEQ_HTTP_USER/SGSEQ_HTTP_PASSWORD).
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
	mux.Handle("/", d.pages(os.LookupEnv)) // the status pages, package web
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

// setMonitoredAccounts records the accounts of a successful discovery.
func (d *Daemon) setMonitoredAccounts(names []string) {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	d.monitoredAccounts.Store(&set)
}
