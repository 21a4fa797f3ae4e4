package secret

import (
	"io/fs"
	"runtime"
)

// ReadableByOthers reports whether a file with info fi can be read by its
// group or by others (mode & 0044), as ssh checks a private key. It is
// always false on Windows, whose permission bits mean nothing of the kind.
func ReadableByOthers(fi fs.FileInfo) bool {
	return runtime.GOOS != "windows" && fi.Mode().Perm()&0o044 != 0
}
