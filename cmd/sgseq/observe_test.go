package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/sgseq/sgseq/client/seqtest"
)

const (
	dashboardFile = "../../examples/grafana/sgseq-dashboard.json"
	rulesFile     = "../../examples/prometheus/rules.yaml"
	rulesTestFile = "../../examples/prometheus/rules.test.yaml"
)

// grafanaPanel is the part of a dashboard panel the tests read.
type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Repeat     string `json:"repeat"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

// grafanaDashboard is the part of the dashboard the tests read.
type grafanaDashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

// dashboardQueries returns every PromQL expression of the dashboard (panel
// targets and query variables) and checks the dashboard's structure: panel
// IDs unique, positions on the 24-column grid, every panel on the
// ${datasource} variable, every $variable defined.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: no uid or title", dashboardFile)
	}
	vars := map[string]bool{"__range": true, "__rate_interval": true, "__interval": true}
	var exprs []string
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" {
			exprs = append(exprs, v.Definition)
		}
	}
	for _, want := range []string{"datasource", "account"} {
		if !vars[want] {
			t.Errorf("%s: no $%s variable", dashboardFile, want)
		}
	}
	ids := map[int]bool{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("panel %q: id %d missing or not unique", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
				t.Errorf("panel %q: gridPos %+v off the 24-column grid", p.Title, p.GridPos)
			}
			if p.Repeat != "" && !vars[p.Repeat] {
				t.Errorf("panel %q: repeats over undefined $%s", p.Title, p.Repeat)
			}
			if p.Type != "row" {
				if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: datasource is not the ${datasource} Prometheus variable", p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q: no query", p.Title)
				}
			}
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, e := range exprs {
		for _, m := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(e, -1) {
			if !vars[m[1]] {
				t.Errorf("query %q uses undefined $%s", e, m[1])
			}
		}
	}
	return exprs
}

// promRules is a Prometheus rule file.
type promRules struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleQueries decodes rules.yaml strictly and returns every expression.
func ruleQueries(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var r promRules
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var exprs []string
	alerts := map[string]bool{}
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" || rule.Expr == "" || rule.Labels["severity"] == "" || rule.Annotations["summary"] == "" {
				t.Errorf("%s: rule %q needs alert, expr, a severity label and a summary", rulesFile, rule.Alert)
			}
			alerts[rule.Alert] = true
			exprs = append(exprs, rule.Expr)
		}
	}
	for _, want := range []string{"SgseqSweepStale", "SgseqSendGridAuthFailures", "SgseqScoreBelowFloor"} {
		if !alerts[want] {
			t.Errorf("%s: no %s alert", rulesFile, want)
		}
	}
	return exprs
}

var (
	promMetricRE   = regexp.MustCompile(`\bsgseq_[a-z_]+\b`)
	promSelectorRE = regexp.MustCompile(`\b(sgseq_[a-z_]+)\{([^}]*)\}`)
	promMatcherRE  = regexp.MustCompile(`(\w+)\s*(?:=~|!~|!=|=)`)
	promGroupingRE = regexp.MustCompile(`\b(?:by|without|ignoring|on)\s*\(([^)]*)\)`)
	promLabelsArg  = regexp.MustCompile(`label_values\(\s*(sgseq_[a-z_]+)\s*,\s*(\w+)\s*\)`)
)

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDashboardAndRulesSeriesExist runs "sgseq monitor" against the
// simulated account, scrapes /metrics after its first sweep, and checks
// that every sgseq_* metric the Grafana dashboard and the Prometheus rules
// query exists there, with the labels they select or group by.
func TestDashboardAndRulesSeriesExist(t *testing.T) {
	exprs := append(dashboardQueries(t), ruleQueries(t)...)

	// A rate limit it never reaches, so that responses carry X-RateLimit-*.
	monSim(t, seqtest.WithRateLimit(100000, time.Minute))
	addr := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "sgseq.yaml")
	if err := os.WriteFile(cfgPath, []byte("sendgrid:\n  api_key: ${SENDGRID_API_KEY}\nhttp:\n  addr: "+addr+"\nsweep:\n  backfill_days: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- execute(ctx, []string{"monitor", "--config", cfgPath}, &out, &errb) }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errb.String(), "sweep finished") {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no sweep; stderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("monitor: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	labels := func(f *dto.MetricFamily) map[string]bool {
		ls := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				ls[lp.GetName()] = true
			}
		}
		return ls
	}

	queried := map[string]bool{}
	for _, e := range exprs {
		names := promMetricRE.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("query %q reads no sgseq_* metric", e)
		}
		union := map[string]bool{"instance": true, "job": true} // added by the scrape
		for _, n := range names {
			queried[n] = true
			f, ok := families[n]
			if !ok || len(f.GetMetric()) == 0 {
				t.Errorf("query %q: %s is not in /metrics", e, n)
				continue
			}
			for l := range labels(f) {
				union[l] = true
			}
		}
		for _, m := range promSelectorRE.FindAllStringSubmatch(e, -1) {
			f, ok := families[m[1]]
			if !ok {
				continue
			}
			have := labels(f)
			for _, lm := range promMatcherRE.FindAllStringSubmatch(m[2], -1) {
				if !have[lm[1]] && lm[1] != "instance" && lm[1] != "job" {
					t.Errorf("query %q: %s has no label %q", e, m[1], lm[1])
				}
			}
		}
		for _, m := range promGroupingRE.FindAllStringSubmatch(e, -1) {
			for _, l := range strings.Split(m[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !union[l] {
					t.Errorf("query %q groups by %q, a label none of its metrics has", e, l)
				}
			}
		}
		for _, m := range promLabelsArg.FindAllStringSubmatch(e, -1) {
			if f, ok := families[m[1]]; ok && !labels(f)[m[2]] {
				t.Errorf("query %q: %s has no label %q", e, m[1], m[2])
			}
		}
	}
	// The dashboard covers every sgseq metric /metrics exports.
	var missing []string
	for n := range families {
		if strings.HasPrefix(n, "sgseq_") && !queried[n] {
			missing = append(missing, n)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("metrics neither the dashboard nor the rules use: %v", missing)
	}
}

// TestPrometheusFilesWithPromtool: promtool accepts rules.yaml, passes its
// unit tests (rules.test.yaml), and parses every dashboard query (as
// recording rules, with the dashboard variables substituted). promtool is
// Debian's prometheus package; .ci/run installs it, so under CI=true a
// missing promtool fails.
func TestPrometheusFilesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", rulesFile)
	run("test", "rules", rulesTestFile)

	subst := strings.NewReplacer("$account", "garden-supply", "$metric", "spam_rate", "$floor", "2",
		"$__range", "1d", "$__rate_interval", "5m", "$__interval", "1m")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardQueries(t) {
		if strings.HasPrefix(e, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		q, _ := json.Marshal(subst.Replace(e))
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run("check", "rules", f)
}
