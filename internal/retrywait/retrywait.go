// Package retrywait computes the jittered, doubling waits the client's
// retries and polls and the monitor's retries use.
package retrywait

import (
	"math/rand/v2"
	"time"
)

// Jitter returns a wait in [b/2, b] where b = base·2^step capped at
// maxWait (b itself when it is 1ns or less).
func Jitter(base, maxWait time.Duration, step int) time.Duration {
	b := base
	for i := 0; i < step && b < maxWait; i++ {
		b *= 2
	}
	b = min(b, maxWait)
	if b <= 1 {
		return b
	}
	half := b / 2
	return half + rand.N(b-half+1)
}
