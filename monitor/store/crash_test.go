package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/history"
)

// crashEnv names the store file the child process of TestCrashMidSaveDay
// writes to.
const crashEnv = "SGSEQ_STORE_CRASH_CHILD"

var (
	crashDone = client.MustParseDate("2026-11-01")
	crashMid  = client.MustParseDate("2026-11-02")
)

func crashDays(date client.Date, n int) []history.DayScore {
	out := make([]history.DayScore, n)
	for i := range out {
		out[i] = history.DayScore{Account: fmt.Sprintf("u%03d", i), Date: date, Score: client.Float(3),
			FetchedAt: time.Unix(1, 0)}
	}
	return out
}

// crashChild runs in the child process: it saves one day completely, then
// starts saving a second and announces, mid-transaction, that it may be
// killed.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	if err := s.SaveDay(ctx, history.ScopeSubusers, crashDone, crashDays(crashDone, 20)); err != nil {
		fmt.Println("save:", err)
		os.Exit(3)
	}
	n := 0
	testHookSavedRow = func(history.DayScore) {
		if n++; n == 50 {
			fmt.Println("mid-transaction")
			time.Sleep(time.Hour) // killed here
		}
	}
	_ = s.SaveDay(ctx, history.ScopeSubusers, crashMid, crashDays(crashMid, 100))
	fmt.Println("not killed")
	os.Exit(4)
}

// TestCrashMidSaveDay kills (SIGKILL) a process in the middle of a SaveDay
// transaction and checks that the store holds the committed day, nothing of
// the interrupted one, and accepts writes again.
func TestCrashMidSaveDay(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashMidSaveDay$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "mid-transaction" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q, want mid-transaction", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	done, err := s.CompletedDates(ctx, history.ScopeSubusers, crashDone, crashMid)
	if err != nil {
		t.Fatal(err)
	}
	if !done[crashDone] || done[crashMid] || len(done) != 1 {
		t.Errorf("completed after crash = %v, want only %s", done, crashDone)
	}
	for acct, want := range map[string]int{"u000": 1, "u019": 1, "u030": 0, "u049": 0} {
		h, err := s.History(ctx, acct, client.Date{}, client.Date{})
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != want || (want == 1 && h[0].Date != crashDone) {
			t.Errorf("%s after crash: %+v, want %d day(s) (%s)", acct, h, want, crashDone)
		}
	}
	// The next run resumes: the interrupted day saves.
	if err := s.SaveDay(ctx, history.ScopeSubusers, crashMid, crashDays(crashMid, 100)); err != nil {
		t.Fatalf("save after crash: %v", err)
	}
	if done, _ := s.CompletedDates(ctx, history.ScopeSubusers, crashMid, crashMid); !done[crashMid] {
		t.Error("interrupted day not complete after the retry")
	}
}
