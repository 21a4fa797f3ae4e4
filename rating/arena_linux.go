package rating

import "syscall"

func adviseHuge(m []byte) { _ = syscall.Madvise(m, syscall.MADV_HUGEPAGE) }
