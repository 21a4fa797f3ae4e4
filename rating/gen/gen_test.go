package gen

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"testing"
)

func TestWriteReproducible(t *testing.T) {
	t.Parallel()
	var a, b, c bytes.Buffer
	cfg := Config{Seed: 3, Contacts: 300}
	sa, err := Write(context.Background(), &a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), &b, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same config, different output")
	}
	cfg.Seed = 4
	if _, err := Write(context.Background(), &c, cfg); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same output")
	}
	if sa.Bytes != int64(a.Len()) || sa.Events != int64(bytes.Count(a.Bytes(), []byte("\n"))) {
		t.Errorf("stats %+v for %d bytes", sa, a.Len())
	}
	if per := float64(sa.Bytes) / float64(sa.Events); per < 400 || per > 650 {
		t.Errorf("%.0f bytes per event, want about 500", per)
	}
	if sa.Duplicates == 0 || sa.Duplicates > sa.Events/10 {
		t.Errorf("%d duplicates of %d events", sa.Duplicates, sa.Events)
	}
	n := 0
	for _, p := range Personas {
		n += sa.Personas[p.Persona]
		if sa.Personas[p.Persona] == 0 {
			t.Errorf("no %s", p.Persona)
		}
	}
	if n != 300 {
		t.Errorf("personas add up to %d", n)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{NDJSON, Webhook, CSV} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			st, err := Write(context.Background(), &buf, Config{Seed: 1, Contacts: 50, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			events := 0
			switch f {
			case CSV:
				recs, err := csv.NewReader(&buf).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				events = len(recs) - 1
			default:
				for line := range bytes.Lines(buf.Bytes()) {
					if f == Webhook {
						var arr []map[string]any
						if err := json.Unmarshal(line, &arr); err != nil {
							t.Fatalf("%v: %s", err, line)
						}
						events += len(arr)
						continue
					}
					var ev map[string]any
					if err := json.Unmarshal(line, &ev); err != nil {
						t.Fatalf("%v: %s", err, line)
					}
					for _, k := range []string{"email", "timestamp", "event", "sg_event_id", "sg_message_id"} {
						if _, ok := ev[k]; !ok {
							t.Fatalf("no %s in %s", k, line)
						}
					}
					events++
				}
			}
			if int64(events) != st.Events {
				t.Errorf("%d events, stats say %d", events, st.Events)
			}
		})
	}
}

func TestRoster(t *testing.T) {
	t.Parallel()
	r := Roster(Config{Seed: 5, Contacts: 100})
	if len(r) != 100 {
		t.Fatalf("%d members", len(r))
	}
	for i, m := range r {
		if m.Persona != PersonaOf(5, i) || m.Email == "" {
			t.Errorf("member %d: %+v", i, m)
		}
	}
}
