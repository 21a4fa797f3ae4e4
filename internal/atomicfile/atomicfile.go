// Package atomicfile writes output files so that a reader never sees half
// of one: the content goes to a temporary file in the same directory,
// which is synced to disk and only then renamed over the target.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// DefaultPerm is the permission of a file Write creates.
const DefaultPerm os.FileMode = 0o644

// Write replaces the file at path with what write produces.
//
// A regular file (or a new one, created with [DefaultPerm]) is replaced
// atomically: write fills a temporary file in the same directory, which is
// synced and renamed over path only when write and the sync succeeded, and
// the directory is then synced so the rename survives a crash. On any error
// the old file stays as it was and the temporary file is removed. A
// symbolic link is followed (the link stays, its target is replaced), and
// an existing file keeps its permissions.
//
// Anything else that exists (/dev/null, a named pipe, /dev/stdout) is
// opened and written in place: renaming over it would replace the device
// with a file.
//
// Errors are the os package's (*fs.PathError and friends) or write's,
// unwrapped, so errors.Is works on them.
func Write(path string, write func(io.Writer) error) (err error) {
	perm := DefaultPerm
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return writeInPlace(path, write)
		}
		perm = fi.Mode().Perm()
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some systems
// (Windows) cannot open or sync a directory, and the file itself was
// synced already.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// writeInPlace writes to an existing file that is not a regular file.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
