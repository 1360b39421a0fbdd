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

// TestSocketWriteAwait checks that WriteAwait writes a request and returns
// once the reply is there to read, that bytes already waiting are read
// with the reply, and that it stops short without waiting when the socket
// takes only part of a large write, and on a deadline or a closed socket.
func TestSocketWriteAwait(t *testing.T) {
	a, b := socketPair(t)
	sa := NewSocket(a)

	// The peer answers each request after a pause: WriteAwait returns
	// only then, with the answer ready for one Read.
	const pause = 30 * time.Millisecond
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			time.Sleep(pause)
			if _, err := b.Write(append([]byte("re: "), buf[:n]...)); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	for i, req := range []string{"one", "two"} {
		start := time.Now()
		n, err := sa.WriteAwait([]byte(req))
		if err != nil || n != len(req) {
			t.Fatalf("request %d: WriteAwait = %d, %v", i, n, err)
		}
		if waited := time.Since(start); waited < pause {
			t.Errorf("request %d: WriteAwait returned after %v, before the reply (%v)", i, waited, pause)
		}
		n, err = sa.Read(buf)
		if err != nil || string(buf[:n]) != "re: "+req {
			t.Fatalf("request %d: read %q, %v; want %q", i, buf[:n], err, "re: "+req)
		}
	}

	// Bytes that came before the request are read with the reply.
	c, d := socketPair(t)
	sc := NewSocket(c)
	d.Write([]byte("early;"))
	time.Sleep(10 * time.Millisecond) // the early bytes are in c's buffer
	go func() {
		buf := make([]byte, 64)
		if _, err := d.Read(buf); err == nil {
			time.Sleep(pause)
			d.Write([]byte("reply"))
		}
	}()
	if _, err := sc.WriteAwait([]byte("request")); err != nil {
		t.Fatal(err)
	}
	got := []byte{}
	for len(got) < len("early;reply") {
		n, err := sc.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "early;reply" {
		t.Errorf("read %q, want %q", got, "early;reply")
	}

	// A write larger than the socket takes at once: WriteAwait returns
	// what went out, without waiting, and Write sends the rest.
	e, f := socketPair(t)
	se := NewSocket(e)
	big := bytes.Repeat([]byte("x"), 16<<20)
	n, err := se.WriteAwait(big)
	if err != nil || n <= 0 || n >= len(big) {
		t.Fatalf("WriteAwait of 16 MiB = %d, %v; want a partial write", n, err)
	}
	go io.Copy(io.Discard, f)
	if m, err := se.Write(big[n:]); err != nil || n+m != len(big) {
		t.Fatalf("rest of the write: %d, %v", m, err)
	}

	// The deadline ends the wait; the next Read reports it.
	e.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := se.WriteAwait([]byte("unanswered")); err != nil || n != len("unanswered") {
		t.Fatalf("WriteAwait with a deadline = %d, %v", n, err)
	}
	if _, err := se.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the deadline: %v, want os.ErrDeadlineExceeded", err)
	}

	// On a closed socket, it fails without writing.
	a.Close()
	if n, err := sa.WriteAwait([]byte("closed")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteAwait on a closed socket = %d, %v; want 0, net.ErrClosed", n, err)
	}
}

// TestPeerGone checks that PeerGone finds a connection the peer closed,
// reset or sent unasked-for bytes on, and leaves an open one as it is.
func TestPeerGone(t *testing.T) {
	wait := func(s *Socket) bool { // the close takes a moment to arrive
		for range 200 {
			if s.PeerGone() {
				return true
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	a, b := socketPair(t)
	sa := NewSocket(a)
	if sa.PeerGone() {
		t.Error("open connection: gone")
	}
	b.Close()
	if !wait(sa) {
		t.Error("closed connection: not gone")
	}

	a, b = socketPair(t)
	sa = NewSocket(a)
	b.(*net.TCPConn).SetLinger(0)
	b.Close()
	if !wait(sa) {
		t.Error("reset connection: not gone")
	}

	a, b = socketPair(t)
	sa = NewSocket(a)
	b.Write([]byte("x"))
	if !wait(sa) {
		t.Error("bytes unasked for: not gone")
	}
	if n, err := sa.Read(make([]byte, 2)); n != 1 || err != nil { // peeked, not read
		t.Errorf("read after PeerGone: %d, %v", n, err)
	}
}
