package rating

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPartOrder: partitions follow email order, so per-partition sorting
// gives a sorted whole.
func TestPartOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("0_.-+abcmnoxyz{~\xc3\xa9")
	var emails []string
	for range 5000 {
		b := make([]byte, r.IntN(4))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		emails = append(emails, string(b))
	}
	slices.Sort(emails)
	prev := 0
	for _, e := range emails {
		p := partOf([]byte(e))
		if p < prev || p < 0 || p >= numParts {
			t.Fatalf("partOf(%q) = %d after %d", e, p, prev)
		}
		prev = p
	}
}

func TestInternTable(t *testing.T) {
	t.Parallel()
	var tab internTable
	tab.grow()
	for i := range 10000 {
		for tab.full(1) {
			tab.grow()
		}
		k := keyOf([]byte{byte(i), byte(i >> 8), 'x'})
		s := tab.lookup(k)
		if s.h1 != 0 {
			t.Fatalf("key %d found before insert", i)
		}
		s.h1, s.h2, s.id = k.h1, uint32(k.h2), uint32(i)
		tab.n++
	}
	for i := range 10000 {
		k := keyOf([]byte{byte(i), byte(i >> 8), 'x'})
		if s := tab.lookup(k); s.h1 != k.h1 || s.id != uint32(i) {
			t.Fatalf("key %d: got id %d", i, s.id)
		}
	}
}
