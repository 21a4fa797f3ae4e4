package web_test

import (
	"context"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sgseq/sgseq/monitor/store"
	"github.com/sgseq/sgseq/monitor/web"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden compares whole pages with testdata/*.golden.html: the
// escaped subuser on the overview and its account page, and the empty
// store. Rewrite them with go test ./monitor/web/ -run TestGolden -update.
func TestGolden(t *testing.T) {
	st := fixture(t)
	empty, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	opts := web.Options{Now: func() time.Time { return clock }}
	tests := []struct {
		name string
		h    http.Handler
		path string
	}{
		{"overview", web.Handler(st, opts), "/"},
		{"account-escaped", web.Handler(st, opts), "/accounts/" + url.PathEscape(evil)},
		{"empty", web.Handler(empty, opts), "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, tt.h, http.MethodGet, tt.path)
			file := filepath.Join("testdata", tt.name+".golden.html")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(r.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if r.body != string(want) {
				t.Errorf("%s differs from %s (run with -update after checking the change)\n%s", tt.path, file, r.body)
			}
		})
	}
}
