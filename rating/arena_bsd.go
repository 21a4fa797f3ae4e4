//go:build darwin || freebsd || netbsd || openbsd

package rating

func adviseHuge([]byte) {}
