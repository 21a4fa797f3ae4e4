//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package rating

// recordArena falls back to the Go heap where anonymous mappings are not
// available.
type recordArena struct{}

func (a *recordArena) alloc(n int) []record { return make([]record, 0, n) }
func (a *recordArena) release()             {}
