package pools

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDefaultConfigValid(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(c *Config)
		fields []string // expected FieldError.Field values, in order
	}{
		{"no tiers", func(c *Config) { c.Tiers = nil }, []string{"pools.tiers"}},
		{"empty name and pool", func(c *Config) { c.Tiers[1].Name = ""; c.Tiers[1].Pool = "" },
			[]string{"pools.tiers[1].name", "pools.tiers[1].pool"}},
		{"duplicate name", func(c *Config) { c.Tiers[2].Name = "high" }, []string{"pools.tiers[2].name"}},
		{"duplicate pool", func(c *Config) { c.Tiers[2].Pool = c.Tiers[0].Pool }, []string{"pools.tiers[2].pool"}},
		{"long pool", func(c *Config) { c.Tiers[0].Pool = strings.Repeat("p", 65) }, []string{"pools.tiers[0].pool"}},
		{"unordered", func(c *Config) { c.Tiers[1].MinScore = 4.5 }, []string{"pools.tiers[1].min_score"}},
		{"equal min scores", func(c *Config) { c.Tiers[2].MinScore = 3 }, []string{"pools.tiers[2].min_score"}},
		{"out of range", func(c *Config) { c.Tiers[0].MinScore = 6 }, []string{"pools.tiers[0].min_score"}},
		{"window", func(c *Config) { c.WindowDays = 0 }, []string{"pools.window_days"}},
		{"window too long", func(c *Config) { c.WindowDays = ReplayDays + 1 }, []string{"pools.window_days"}},
		{"hold", func(c *Config) { c.HoldDays = -1 }, []string{"pools.hold_days"}},
		{"gap", func(c *Config) { c.OutlierGap = 0 }, []string{"pools.outlier_gap"}},
		{"members", func(c *Config) { c.OutlierMinMembers = 1 }, []string{"pools.outlier_min_members"}},
		{"scored days", func(c *Config) { c.MinScoredDays = 0 }, []string{"pools.min_scored_days"}},
		{"several", func(c *Config) { c.WindowDays = 0; c.HoldDays = 0 }, []string{"pools.window_days", "pools.hold_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			c.Tiers = append([]Tier(nil), c.Tiers...)
			tt.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v (err: %v)", got, tt.fields, err)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	t.Parallel()
	src := `
enabled: false
tiers:
  - {name: top, min_score: 4.5, pool: top-pool}
  - {name: rest, min_score: 1, pool: rest-pool}
window_days: 14
hold_days: 5
outlier_gap: 1.5
outlier_min_members: 4
min_scored_days: 7
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Tiers:      []Tier{{"top", 4.5, "top-pool"}, {"rest", 1, "rest-pool"}},
		WindowDays: 14, HoldDays: 5, OutlierGap: 1.5, OutlierMinMembers: 4, MinScoredDays: 7,
	}
	if c.Enabled || len(c.Tiers) != 2 || c.Tiers[0] != want.Tiers[0] || c.Tiers[1] != want.Tiers[1] ||
		c.WindowDays != 14 || c.HoldDays != 5 || c.OutlierGap != 1.5 || c.OutlierMinMembers != 4 || c.MinScoredDays != 7 {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestTierFor(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	tests := []struct {
		score float64
		want  string
	}{{5, "high"}, {4, "high"}, {3.999, "mid"}, {3, "mid"}, {2.5, "low"}, {1, "low"}, {0.5, "low"}}
	for _, tt := range tests {
		if got := c.Tiers[c.tierFor(tt.score)].Name; got != tt.want {
			t.Errorf("tierFor(%v) = %s, want %s", tt.score, got, tt.want)
		}
	}
}
