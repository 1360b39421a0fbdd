package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in the data directory that a Server holds locked
// (flock) while it is open, so that two servers never run the same jobs
// and endpoints from one directory. The lock goes with the process: a
// server that crashed leaves nothing to clean up.
const LockFile = "inferscale.lock"

// ErrDataDirInUse is returned by New when another Server holds the data
// directory.
var ErrDataDirInUse = errors.New("data directory in use")

// lockDataDir takes the data directory's lock, writing this process's ID
// into the lock file for the next one to name.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is used by another inferscale serve%s; stop it or give another --data-dir",
				ErrDataDirInUse, dir, holder)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data directory: write %s: %w", path, err)
	}
	return f, nil
}
