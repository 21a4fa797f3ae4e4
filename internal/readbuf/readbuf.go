// Package readbuf grows and fills the read buffers of the event file
// readers (rating's and the events importer's).
package readbuf

import "io"

// More reads once from r into the spare capacity of buf, doubling the
// capacity first when buf is full (a buffer of capacity 0 gets none, and
// reads nothing), and returns buf extended by the n bytes read and the
// error of the read.
func More(r io.Reader, buf []byte) ([]byte, int, error) {
	if len(buf) == cap(buf) {
		nb := make([]byte, len(buf), 2*cap(buf))
		copy(nb, buf)
		buf = nb
	}
	n, err := r.Read(buf[len(buf):cap(buf)])
	return buf[:len(buf)+n], n, err
}
