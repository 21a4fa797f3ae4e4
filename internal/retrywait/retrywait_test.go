package retrywait

import (
	"testing"
	"time"
)

func TestJitter(t *testing.T) {
	tests := []struct {
		name          string
		base, maxWait time.Duration
		step          int
		lo, hi        time.Duration
	}{
		{"first", time.Second, time.Minute, 0, 500 * time.Millisecond, time.Second},
		{"doubled", time.Second, time.Minute, 3, 4 * time.Second, 8 * time.Second},
		{"capped", time.Second, 10 * time.Second, 10, 5 * time.Second, 10 * time.Second},
		{"zero", 0, time.Minute, 5, 0, 0},
		{"one", 1, 1, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				if d := Jitter(tt.base, tt.maxWait, tt.step); d < tt.lo || d > tt.hi {
					t.Fatalf("Jitter(%v, %v, %d) = %v, want in [%v, %v]", tt.base, tt.maxWait, tt.step, d, tt.lo, tt.hi)
				}
			}
		})
	}
}
