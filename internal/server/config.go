package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/inferscale/inferscale/internal/api"
)

// ParseCredentials reads a credentials file: one access key per line,
//
//	ACCESS_KEY SECRET_KEY [ACCOUNT]
//
// with fields separated by spaces or tabs. ACCOUNT is the 12-digit account
// the key's requests act in (api.DefaultAccount when omitted). Blank lines
// and lines starting with # are ignored. A key listed twice is an error.
func ParseCredentials(r io.Reader) (map[string]api.Credential, error) {
	creds := map[string]api.Credential{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte-order mark some editors write
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("credentials line %d: want ACCESS_KEY SECRET_KEY [ACCOUNT], got %d fields", n, len(f))
		}
		c := api.Credential{SecretKey: f[1]}
		if len(f) == 3 {
			if !isAccount(f[2]) {
				return nil, fmt.Errorf("credentials line %d: account %q is not 12 digits", n, f[2])
			}
			c.Account = f[2]
		}
		if _, dup := creds[f[0]]; dup {
			return nil, fmt.Errorf("credentials line %d: access key %s listed twice", n, f[0])
		}
		creds[f[0]] = c
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("credentials: no access keys")
	}
	return creds, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Loopback reports whether the listen address addr (host:port) only
// accepts connections from this host: its host is "localhost" or a loopback
// IP. An empty host means every interface.
func Loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
