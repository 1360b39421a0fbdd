package local

import (
	"strings"
	"sync"
)

// tailSize is how much of a server's output is kept to quote in errors.
const tailSize = 4 << 10

// tail keeps the last tailSize bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept output, starting at a line boundary when it was
// cut, without trailing blank space.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(t.buf) == tailSize {
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = "…" + s[i:]
		}
	}
	return strings.TrimRight(s, " \t\r\n")
}

// quote formats the kept output for an error message.
func (t *tail) quote() string {
	s := t.String()
	if s == "" {
		return "; no output"
	}
	return "; last output:\n" + s
}
