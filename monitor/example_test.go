package monitor_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/sgseq/sgseq/client/seqtest"
	"github.com/sgseq/sgseq/monitor"
)

// One sweep against the simulated account: a week of scores is fetched and
// stored, the rules run, and the alerts go to the log sink (here discarded).
func ExampleDaemon_Sweep() {
	srv := seqtest.NewServer() // the demo account, scores up to yesterday
	defer srv.Close()
	dir, err := os.MkdirTemp("", "sgseq-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	cfg := monitor.DefaultConfig()
	cfg.SendGrid.APIKey = seqtest.TestAPIKey
	cfg.Store.Path = filepath.Join(dir, "sgseq.db")
	cfg.Sweep.BackfillDays = 7
	ctx := context.Background()
	d, err := monitor.New(ctx, cfg, monitor.WithClientFunc(srv.Client), monitor.WithStdout(io.Discard))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	res, err := d.Sweep(ctx, monitor.SweepOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("fetched %d days for %d accounts; alerts firing: %v\n", len(res.Fetched), res.Accounts, res.Firing > 0)
	// Output:
	// fetched 7 days for 35 accounts; alerts firing: true
}
