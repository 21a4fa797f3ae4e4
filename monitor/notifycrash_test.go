package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sgseq/sgseq/internal/secret"
	"github.com/sgseq/sgseq/monitor/alert"
	"github.com/sgseq/sgseq/monitor/notify"
	"github.com/sgseq/sgseq/monitor/store"
)

// Environment of the child process of the notification crash tests: the
// store file and the webhook URL.
const (
	notifyChildStore = "SGSEQ_NOTIFY_CHILD_STORE"
	notifyChildHook  = "SGSEQ_NOTIFY_CHILD_HOOK"
)

// notifyChild runs in the child process: one `sgseq check`-like sweep of
// the demo account into the store, notifying the webhook with one message
// per account, stopped by SIGTERM as the CLI is.
func notifyChild(t *testing.T, path, hook string) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	clk := newTestClock(time.Time{})
	clk.setAsOf(demoEnd)
	srv := demoServer(t, clk)
	st, err := store.Open(ctx, path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	cfg := testConfig()
	cfg.Sweep.BackfillDays = 10
	n, err := notify.NewWebhook(secret.Secret(hook), notify.WithPace(0), notify.WithDigestThreshold(1000))
	if err != nil {
		fmt.Println("webhook:", err)
		os.Exit(3)
	}
	d, err := New(ctx, cfg, WithClientFunc(srv.Client), WithStore(st), WithClock(clk.Now), WithNotifier(n))
	if err != nil {
		fmt.Println("new:", err)
		os.Exit(3)
	}
	res, err := d.Sweep(ctx, SweepOptions{})
	fmt.Printf("swept: %d alerts, delivered %d, err %v\n", len(res.Alerts), res.Delivered, err)
	_ = st.Close()
	os.Exit(0)
}

// slowSlack is a local incoming webhook behind a slow link. It records
// every message that reaches it (Slack shows a message it received even
// when the sender dies before reading the answer) by the account its
// header names, and can hold the answer to the hold-th post of a run.
type slowSlack struct {
	*httptest.Server
	mu       sync.Mutex
	posts    int            // posts in this run
	seen     map[string]int // header -> times it reached the channel
	hold     int            // 1-based post of the run to hold, 0: none
	inFlight chan struct{}  // receives when the held post arrived
	release  chan struct{}  // closed to answer the held post
}

func newSlowSlack(t *testing.T) *slowSlack {
	s := &slowSlack{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Blocks []struct {
				Type string `json:"type"`
				Text struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"blocks"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || len(body.Blocks) == 0 {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.posts++
		n, hold, inFlight, release := s.posts, s.hold, s.inFlight, s.release
		s.seen[body.Blocks[0].Text.Text]++
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a slow link
		if n == hold {
			inFlight <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

// arm starts a run that holds its hold-th post.
func (s *slowSlack) arm(hold int) (inFlight <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts, s.hold = 0, hold
	s.inFlight, s.release = make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	rel := s.release
	return s.inFlight, func() { once.Do(func() { close(rel) }) }
}

func (s *slowSlack) repeats() (messages, repeated int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.seen {
		messages++
		repeated += n - 1
	}
	return messages, repeated
}

// runChild runs one child sweep; when the held post arrives it calls
// interrupt with the child's process. It returns whether the child was
// interrupted.
func runChild(t *testing.T, testName, path string, slack *slowSlack, hold int, interrupt func(*os.Process) error) bool {
	t.Helper()
	inFlight, release := slack.arm(hold)
	defer release()
	cmd := exec.Command(os.Args[0], "-test.run=^"+testName+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), notifyChildStore+"="+path, notifyChildHook+"="+slack.URL+"/services/T000/B000/hook")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var said []string
	done := make(chan struct{}) // closed when the child closed its stdout (exited)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			said = append(said, sc.Text())
		}
		close(done)
	}()
	interrupted := false
	select {
	case <-inFlight:
		if err := interrupt(cmd.Process); err != nil {
			t.Fatal(err)
		}
		interrupted = true
		// SIGKILL: the answer never reaches the child. SIGTERM: the child
		// waits for it; give the signal time to land, then answer.
		time.Sleep(100 * time.Millisecond)
		release()
	case <-done:
	}
	<-done
	_ = cmd.Wait()
	t.Logf("child (hold %d, interrupted %v): %s", hold, interrupted, strings.Join(said, " | "))
	return interrupted
}

// checkedStore creates a store that already had a check (so that the
// child sends one message per account, not a first check's digest).
func checkedStore(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.MarkChecked(context.Background(), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkAllDelivered fails unless every firing alert in the store was
// delivered and no resolution is pending.
func checkAllDelivered(t *testing.T, path string) int {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	firing := 0
	for _, r := range recs {
		if r.State != alert.Firing || r.LastNotified.IsZero() {
			t.Errorf("alert %s: state %s, last notified %v; want delivered", r.Key, r.State, r.LastNotified)
		}
		firing++
	}
	if firing == 0 {
		t.Error("no alerts in the store: the test proves nothing")
	}
	return firing
}

// TestNotifyCrashRepeatsAtMostOne kills (SIGKILL) `check` while Slack is
// answering a message, at the same moment of every run, until a run
// completes: each kill repeats at most the one message in flight, no
// message is lost, and later accounts are not starved (every run makes
// progress).
func TestNotifyCrashRepeatsAtMostOne(t *testing.T) {
	if path := os.Getenv(notifyChildStore); path != "" {
		notifyChild(t, path, os.Getenv(notifyChildHook))
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	t.Parallel()
	path := checkedStore(t, "crash.db")
	slack := newSlowSlack(t)
	kills := 0
	for run := 1; ; run++ {
		if run > 40 {
			t.Fatal("still killed after 40 runs: delivery starves")
		}
		if !runChild(t, "TestNotifyCrashRepeatsAtMostOne", path, slack, 3, (*os.Process).Kill) {
			break
		}
		kills++
	}
	msgs, repeated := slack.repeats()
	t.Logf("%d kills, %d messages, %d repeated", kills, msgs, repeated)
	if kills == 0 {
		t.Fatal("never killed: the demo has too few alerting accounts for this test")
	}
	if repeated > kills {
		t.Errorf("%d messages repeated after %d kills, want at most one per kill", repeated, kills)
	}
	firing := checkAllDelivered(t, path)
	if msgs < 3 || firing == 0 {
		t.Errorf("%d messages for %d alerts", msgs, firing)
	}
}

// TestNotifySIGTERMRepeatsNothing sends SIGTERM to `check` while Slack is
// answering a message: the post finishes, is recorded, the process exits;
// the next run sends the rest. No message reaches the channel twice.
func TestNotifySIGTERMRepeatsNothing(t *testing.T) {
	if path := os.Getenv(notifyChildStore); path != "" {
		notifyChild(t, path, os.Getenv(notifyChildHook))
		return
	}
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	t.Parallel()
	path := checkedStore(t, "term.db")
	slack := newSlowSlack(t)
	term := func(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
	if !runChild(t, "TestNotifySIGTERMRepeatsNothing", path, slack, 2, term) {
		t.Fatal("the first run was not interrupted: too few alerting accounts")
	}
	runChild(t, "TestNotifySIGTERMRepeatsNothing", path, slack, 0, term)
	msgs, repeated := slack.repeats()
	if repeated != 0 {
		t.Errorf("%d of %d messages repeated after SIGTERM, want none", repeated, msgs)
	}
	checkAllDelivered(t, path)
}
