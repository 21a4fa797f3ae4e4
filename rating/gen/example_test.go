package gen_test

import (
	"context"
	"fmt"
	"io"

	"github.com/sgseq/sgseq/rating/gen"
)

func ExampleWrite() {
	// The same seed and config always give the same bytes.
	var sizes []int64
	for range 2 {
		st, err := gen.Write(context.Background(), io.Discard, gen.Config{Seed: 7, Contacts: 100, Days: 60})
		if err != nil {
			fmt.Println(err)
			return
		}
		sizes = append(sizes, st.Bytes)
		if st.Duplicates == 0 || st.Events <= st.Duplicates {
			fmt.Println("unexpected stats", st)
		}
	}
	fmt.Println("reproducible:", sizes[0] == sizes[1] && sizes[0] > 0)
	// Output:
	// reproducible: true
}

func ExampleExpected() {
	// The star range the contact-rating article gives a persona.
	r := gen.Expected[gen.Resubscriber]
	fmt.Printf("%s: %d–%d stars (%s)\n", gen.Resubscriber, r.Min, r.Max, r.Why)
	// Output:
	// resubscriber: 1–1 stars (unsubscribed and resubscribed)
}
