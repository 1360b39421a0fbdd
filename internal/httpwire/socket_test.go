package httpwire

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// socketPair returns the two ends of a loopback TCP connection.
func socketPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestSocket checks that a Socket reads and writes as its net.Conn does:
// whole writes past the socket buffer, EOF, deadlines, a closed socket.
func TestSocket(t *testing.T) {
	a, b := socketPair(t)
	sa, sb := NewSocket(a), NewSocket(b)
	if sa == nil || sb == nil {
		t.Fatal("no Socket for a TCP connection")
	}
	if NewSocket(struct{ net.Conn }{a}) != nil {
		t.Error("a Socket for a connection without a file descriptor")
	}

	// 8 MiB is far past the socket buffers: the write waits for the
	// reader (EAGAIN, then the poller) and still writes everything.
	want := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	werr := make(chan error, 1)
	go func() {
		n, err := sa.Write(want)
		if err == nil && n != len(want) {
			err = io.ErrShortWrite
		}
		werr <- err
	}()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 32<<10)
	for len(got) < len(want) {
		n, err := sb.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("read other bytes than were written")
	}

	// A read with nothing to read waits for the deadline.
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := sb.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	b.SetReadDeadline(time.Time{})

	// The peer closing is EOF; a closed socket is net.ErrClosed.
	a.Close()
	if n, err := sb.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("read after the peer closed: %d, %v; want 0, EOF", n, err)
	}
	if _, err := sa.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on a closed socket: %v, want net.ErrClosed", err)
	}
	if n, err := sb.Read(nil); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}
}

// TestSocketWriteToClosedPeer checks that writing to a connection the
// peer has closed fails with an error, not the process with SIGPIPE.
func TestSocketWriteToClosedPeer(t *testing.T) {
	a, b := socketPair(t)
	sa := NewSocket(a)
	b.(*net.TCPConn).SetLinger(0) // close with a reset
	b.Close()
	var err error
	for i := 0; i < 100 && err == nil; i++ { // the reset may take a write to arrive
		_, err = sa.Write([]byte("after the peer closed"))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a closed peer kept succeeding")
	}
	t.Logf("write error: %v", err)
	// The next write meets the closed connection (EPIPE, which also
	// raises SIGPIPE): an error again.
	if _, err := sa.Write([]byte("again")); err == nil {
		t.Error("a second write to a closed peer succeeded")
	} else {
		t.Logf("then: %v", err)
	}
}
