package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/client/seqtest"
)

func TestQuickStartSim(t *testing.T) {
	srv := seqtest.NewServer()
	defer srv.Close()
	var b bytes.Buffer
	if err := quickStart(context.Background(), &b, seqtest.TestAPIKey, client.WithBaseURL(srv.URL)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"garden-supply true", "garden-supply: 1 day(s)", "acme-news "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestReadmeQuotesQuickStart checks that README.md's SDK quick start is
// this program's quickStart body, between "README begin" and "README end".
func TestReadmeQuotesQuickStart(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(src), "\t// README begin\n")
	body, _, ok2 := strings.Cut(body, "\t// README end\n")
	if !ok || !ok2 {
		t.Fatal("markers not found in main.go")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	want := "```go\n" + strings.Join(lines, "\n") + "\n```"
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not quote examples/quickstart/main.go; its SDK quick start should be:\n%s", want)
	}
}
