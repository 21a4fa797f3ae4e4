package errjoin

import (
	"errors"
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	tests := []struct {
		name string
		err  error
		want []error
	}{
		{"nil", nil, nil},
		{"single", a, []error{a}},
		{"joined", errors.Join(a, b), []error{a, b}},
		{"wrapped single", fmt.Errorf("x: %w", a), []error{fmt.Errorf("x: %w", a)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.err)
			if len(got) != len(tt.want) {
				t.Fatalf("Split = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Error() != tt.want[i].Error() {
					t.Errorf("Split[%d] = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
