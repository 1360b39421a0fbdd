package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServer is a real TLS server on loopback that counts requests over
// TLS 1.x with HTTP/1.1, and connections.
func tlsServer(t *testing.T) (srv *httptest.Server, served, conns *atomic.Int64) {
	served, conns = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.TLS == nil || r.ProtoMajor != 1 || r.Host == "" {
			http.Error(w, "want HTTP/1.1 over TLS with a Host", http.StatusBadRequest)
			return
		}
		served.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.EnableHTTP2 = true                           // offered: the load generator must still speak HTTP/1.1
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, served, conns
}

// TestHTTPS load-tests a TLS server: closed and open loops on keep-alive
// connections, the server's certificate verified against the given roots,
// refused when it cannot be, or not checked when the config says so.
func TestHTTPS(t *testing.T) {
	srv, served, conns := tlsServer(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	trusted := &tls.Config{RootCAs: roots}
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", srv.URL)
	}

	for _, tt := range []struct {
		name string
		o    Options
	}{
		{name: "closed loop", o: Options{Users: ConstantUsers(4, 0), MaxRequests: 400}},
		{name: "open loop", o: Options{Arrivals: &Arrivals{Rate: 400}, Duration: time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served.Store(0)
			conns.Store(0)
			tt.o.Request = Request{URL: srv.URL + "/invocations", Payloads: payloads(), TLS: trusted}
			res, err := Run(context.Background(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeaks(t)
			checkTotals(t, res)
			// An open loop's end cuts off the requests still in flight
			// (unfinished); the server may have answered some of them.
			if n := served.Load(); res.Sent < 300 || res.Succeeded+res.Unfinished != res.Sent || n < res.Succeeded || n > res.Sent {
				t.Errorf("sent %d succeeded %d unfinished %d served %d (errors %v, %s)", res.Sent, res.Succeeded, res.Unfinished, n, res.Errors, res.FirstError)
			}
			if tt.o.Arrivals == nil && res.Unfinished != 0 {
				t.Errorf("closed loop to MaxRequests: %d unfinished", res.Unfinished)
			}
			if n := conns.Load(); n < 1 || n > 20 {
				t.Errorf("%d connections for %d requests: want kept-alive ones", n, res.Sent)
			}
		})
	}

	t.Run("unknown authority", func(t *testing.T) {
		served.Store(0)
		res, err := Run(context.Background(), Options{
			Request: Request{URL: srv.URL, Payloads: payloads()}, // the system's roots
			Users:   ConstantUsers(2, 0), MaxRequests: 10,
		})
		if err != nil {
			t.Fatal(err)
		}
		checkNoLeaks(t)
		if res.Succeeded != 0 || served.Load() != 0 || res.Errors[ClassConnection] != res.Sent {
			t.Errorf("succeeded %d served %d errors %v: want every request refused", res.Succeeded, served.Load(), res.Errors)
		}
		if !strings.Contains(res.FirstError, "certificate") {
			t.Errorf("FirstError = %q, want it to name the certificate", res.FirstError)
		}
	})

	t.Run("not verified", func(t *testing.T) {
		res, err := Run(context.Background(), Options{
			Request: Request{URL: srv.URL, Payloads: payloads(), TLS: &tls.Config{InsecureSkipVerify: true}},
			Users:   ConstantUsers(2, 0), MaxRequests: 10,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Succeeded != 10 {
			t.Errorf("succeeded %d of %d (%s)", res.Succeeded, res.Sent, res.FirstError)
		}
	})
}
