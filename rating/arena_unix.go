//go:build linux || darwin || freebsd || netbsd || openbsd

package rating

import (
	"syscall"
	"unsafe"
)

// arenaRegion is the size of one mapping of record storage.
const arenaRegion = 64 << 20

// recordArena hands out record chunks from large anonymous mappings, asking
// for transparent huge pages: a page fault maps 2 MB instead of 4 kB, which
// matters when hundreds of megabytes of records are written once. Records
// hold no pointers, so memory the garbage collector does not see is safe.
// Memory is returned by release (after Rate) or when the Engine is
// collected.
type recordArena struct {
	regions [][]byte
	cur     []byte
	off     int
}

// alloc returns an empty record slice with capacity n.
func (a *recordArena) alloc(n int) []record {
	size := n * int(unsafe.Sizeof(record{}))
	if a.off+size > len(a.cur) {
		m, err := syscall.Mmap(-1, 0, max(arenaRegion, size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return make([]record, 0, n) // no mapping: the Go heap will do
		}
		adviseHuge(m)
		a.regions = append(a.regions, m)
		a.cur, a.off = m, 0
	}
	p := unsafe.Pointer(&a.cur[a.off])
	a.off += size
	return unsafe.Slice((*record)(p), n)[:0]
}

// release unmaps every region; no record handed out may be used after.
func (a *recordArena) release() {
	for _, m := range a.regions {
		_ = syscall.Munmap(m)
	}
	a.regions, a.cur, a.off = nil, nil, 0
}
