package rating

// contactKey is the 128-bit identity of a normalized email address: two
// independent 64-bit hashes. Contacts are told apart by this key alone, so
// the hot path never compares email bytes (a cache miss per event); the
// chance that two of n addresses share a key is about n²/2¹²⁹ — for ten
// million contacts below 10⁻²⁴.
type contactKey struct{ h1, h2 uint64 }

func keyOf(email []byte) contactKey {
	return contactKey{hash64(email, 1) | 1, hash64(email, 0x9e3779b97f4a7c15)}
}

// partOf returns the partition of a normalized email. Partitions follow
// email order (by the first two bytes), so ratings sorted within each
// partition and concatenated in partition order are sorted by email:
// 0 holds addresses starting below 'a' (digits, punctuation), 1..52 split
// each letter a..z at a second byte of 'n', 53 everything above 'z'.
func partOf(email []byte) int {
	if len(email) == 0 || email[0] < 'a' {
		return 0
	}
	c0 := email[0]
	if c0 > 'z' {
		return 53
	}
	p := 1 + 2*int(c0-'a')
	if len(email) > 1 && email[1] >= 'n' {
		p++
	}
	return p
}

// internSlot is 16 bytes: h1 and the low 32 bits of h2 identify the
// contact inside one worker's table (96 bits: for n contacts a false match
// has a chance of about n²/2⁹⁷, below 10⁻¹⁷ for a million), id is its
// partition-local index.
type internSlot struct {
	h1 uint64
	h2 uint32
	id uint32
}

// internTable maps contact keys to partition-local indexes with open
// addressing and linear probing, at most 3/4 full. h1 is never 0, so a
// zero slot is empty.
type internTable struct {
	slots []internSlot
	n     int
}

// full reports whether adding k more keys would pass the load limit.
func (t *internTable) full(k int) bool { return 4*(t.n+k) > 3*len(t.slots) }

// lookup returns the slot for k: either holding k, or the empty slot where
// it belongs.
func (t *internTable) lookup(k contactKey) *internSlot {
	mask := uint64(len(t.slots) - 1)
	i := k.h2 & mask
	h2 := uint32(k.h2)
	for {
		s := &t.slots[i]
		if (s.h1 == k.h1 && s.h2 == h2) || s.h1 == 0 {
			return s
		}
		i = (i + 1) & mask
	}
}

func (t *internTable) grow() {
	old := t.slots
	t.slots = make([]internSlot, max(1024, 2*len(old)))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.h1 == 0 {
			continue
		}
		// Rebuild the probe start from the stored bits: the table index
		// uses h2's low bits, which the slot keeps.
		i := uint64(s.h2) & mask
		for t.slots[i].h1 != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}
