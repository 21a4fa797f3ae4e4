package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// TestWrite: the file is replaced only after a complete write; a failed
// write leaves the previous file and no temporary file behind.
func TestWrite(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	tests := []struct {
		name     string
		old      string // "" = no file before
		oldPerm  os.FileMode
		write    func(io.Writer) error
		wantErr  error
		want     string
		wantPerm os.FileMode
	}{
		{"new file", "", 0, writeString("new\n"), nil, "new\n", DefaultPerm},
		{"replace keeps permissions", "old\n", 0o600, writeString("new\n"), nil, "new\n", 0o600},
		{"failed write keeps the old file", "old complete output\n", 0o644, func(w io.Writer) error {
			fmt.Fprintln(w, "half a row,")
			return boom
		}, boom, "old complete output\n", 0o644},
		{"empty output", "old\n", 0o644, func(io.Writer) error { return nil }, nil, "", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "out.json")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), tt.oldPerm); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.oldPerm); err != nil { // umask
					t.Fatal(err)
				}
			}
			err := Write(path, tt.write)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Write = %v, want %v", err, tt.wantErr)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(path)
			if string(got) != tt.want || fi.Mode().Perm() != tt.wantPerm {
				t.Errorf("file holds %q mode %v, want %q mode %v", got, fi.Mode().Perm(), tt.want, tt.wantPerm)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("directory holds %d entries, want 1 (no temporary file left)", len(ents))
			}
		})
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	t.Parallel()
	err := Write(filepath.Join(t.TempDir(), "no", "such", "dir.csv"), writeString("x"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write into a missing directory = %v, want fs.ErrNotExist", err)
	}
}

// TestWriteSymlink: a symbolic link stays a link; its target gets the new
// content and keeps its permissions.
func TestWriteSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target.csv")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.csv")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlink: %v", err)
	}
	if err := Write(link, writeString("via link\n")); err != nil {
		t.Fatal(err)
	}
	li, _ := os.Lstat(link)
	ti, _ := os.Stat(target)
	got, _ := os.ReadFile(target)
	if li.Mode()&os.ModeSymlink == 0 || string(got) != "via link\n" || ti.Mode().Perm() != 0o600 {
		t.Errorf("link mode %v, target %q mode %v", li.Mode(), got, ti.Mode())
	}
}
