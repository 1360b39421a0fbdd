package local

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// OwnerEnv marks the processes an instance consists of with the process
// that launched it: "PID:START", START being that process's start time in
// clock ticks since boot, so that a reused PID does not pass for it. Every
// descendant inherits it, including those that leave the instance's
// process group or session.
const OwnerEnv = "INFERSCALE_OWNER"

// ownerToken is this process's OwnerEnv value.
var ownerToken = sync.OnceValue(func() string {
	self, err := readProc(os.Getpid())
	if err != nil {
		// Without a start time, any process with this PID passes for
		// the owner: orphans are then only missed, never wrongly killed.
		return strconv.Itoa(os.Getpid()) + ":0"
	}
	return strconv.Itoa(self.pid) + ":" + strconv.FormatUint(self.start, 10)
})

// ReapOrphans kills the processes that instances of an inferscale process
// that no longer runs left behind. A parent-death signal stops each
// instance's own process when its launcher dies, even by SIGKILL, but not
// that process's children: a model server's workers would run on, holding
// CPUs and memory, until someone killed them by hand. New calls it, so that
// the next backend on the host cleans up after one that crashed. It
// returns the processes it killed.
func ReapOrphans(logger *slog.Logger) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		logger.Warn("look for orphaned instance processes", "err", err)
		return nil
	}
	var killed []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if killOrphan(pid) {
			killed = append(killed, pid)
			logger.Warn("killed a process left behind by an instance of an inferscale that stopped", "pid", pid)
		}
	}
	return killed
}

// killOrphan kills pid if it carries an OwnerEnv of a process that no
// longer runs. A pidfd holds on to the process while its marks are read, so
// that the signal cannot reach another process that got the PID since.
func killOrphan(pid int) bool {
	if !orphaned(pid) {
		return false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, syscall.ENOSYS) {
		// Before Linux 5.3: (pid, start time) identify the process.
		before, err := readProc(pid)
		if err != nil || !orphaned(pid) || !alive(before) {
			return false
		}
		return syscall.Kill(pid, syscall.SIGKILL) == nil
	}
	if err != nil {
		return false // gone
	}
	defer unix.Close(fd)
	// The pidfd refers to whatever process had the PID when it was
	// opened: check that one.
	if !orphaned(pid) {
		return false
	}
	return unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil
}

// orphaned reports whether pid is a process with an OwnerEnv whose owner
// no longer runs.
func orphaned(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false // gone, or another user's
	}
	p, err := readProc(pid)
	if err != nil || p.state == 'Z' || p.state == 'X' {
		return false
	}
	owner, start, ok := parseOwner(env)
	if !ok {
		return false
	}
	o, err := readProc(owner)
	return err != nil || (start != 0 && o.start != start) || o.state == 'Z' || o.state == 'X'
}

// parseOwner finds OwnerEnv in an environment block (NUL-separated) and
// parses its value.
func parseOwner(env []byte) (pid int, start uint64, ok bool) {
	prefix := []byte(OwnerEnv + "=")
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		v, found := bytes.CutPrefix(kv, prefix)
		if !found {
			continue
		}
		p, s, found := strings.Cut(string(v), ":")
		if !found {
			return 0, 0, false
		}
		var err1, err2 error
		pid, err1 = strconv.Atoi(p)
		start, err2 = strconv.ParseUint(s, 10, 64)
		if err1 != nil || err2 != nil || pid <= 0 {
			return 0, 0, false
		}
		return pid, start, true
	}
	return 0, 0, false
}

// ownerEnvEntry is the OwnerEnv entry for a child's environment.
func ownerEnvEntry() string { return fmt.Sprintf("%s=%s", OwnerEnv, ownerToken()) }
