package rating

import (
	"encoding/binary"
	"math/bits"
)

const (
	hashP0 = 0xa0761d6478bd642f
	hashP1 = 0xe7037ed1a0b428db
	hashP2 = 0x8ebc6af09c88c6e3
)

func hashMix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash64 is a small, fast, deterministic 64-bit hash (wyhash-style
// multiply-mix over 8-byte words). Determinism matters: fingerprints decide
// which duplicate is kept and how ties sort, and output must not change from
// run to run.
func hash64(b []byte, seed uint64) uint64 {
	h := seed ^ hashP0 ^ uint64(len(b))*hashP2
	for len(b) >= 8 {
		h = hashMix(h^binary.LittleEndian.Uint64(b), hashP1)
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		h = hashMix(h^t, hashP1^hashP0)
	}
	return hashMix(h^hashP0, hashP2)
}
