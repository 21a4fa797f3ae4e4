package readbuf

import (
	"io"
	"strings"
	"testing"
)

func TestMore(t *testing.T) {
	tests := []struct {
		name    string
		buf     []byte
		wantCap int
		want    string
	}{
		{"spare room", append(make([]byte, 0, 8), "ab"...), 8, "abcdef"},
		{"full doubles", []byte("ab"), 4, "abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := More(strings.NewReader("cdef"), tt.buf)
			if err != nil || cap(got) != tt.wantCap || string(got) != tt.want || n != len(tt.want)-2 {
				t.Errorf("More = %q (cap %d), %d, %v; want %q (cap %d)", got, cap(got), n, err, tt.want, tt.wantCap)
			}
		})
	}
	buf, n, err := More(strings.NewReader(""), make([]byte, 0, 4))
	if len(buf) != 0 || n != 0 || err != io.EOF {
		t.Errorf("More at EOF = %q, %d, %v; want empty, 0, EOF", buf, n, err)
	}
}
