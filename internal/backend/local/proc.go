package local

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, which
// the kernel fixes at 100 for user space on every architecture Go supports).
const userHZ = 100

// proc is what the backend needs of one process, from /proc/<pid>/stat.
type proc struct {
	pid, ppid, pgid int
	state           byte
	comm            string
	// cpuTicks is utime+stime+cutime+cstime: the process's CPU time plus
	// that of its children that exited and were waited for.
	cpuTicks uint64
	// start is the start time in clock ticks since boot; with pid it
	// identifies a process across pid reuse.
	start uint64
}

// readProc reads /proc/<pid>/stat.
func readProc(pid int) (proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, err
	}
	return parseStat(pid, b)
}

// parseStat parses the contents of /proc/<pid>/stat (see proc(5)).
func parseStat(pid int, b []byte) (proc, error) {
	// comm is in parentheses and may itself contain spaces and parentheses.
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return proc{}, fmt.Errorf("parse /proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b[close+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 20 {
		return proc{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	p := proc{pid: pid, state: f[0][0], comm: string(b[open+1 : close])}
	ints := []struct {
		field int
		dst   *int
	}{{4, &p.ppid}, {5, &p.pgid}}
	for _, x := range ints {
		v, err := strconv.Atoi(f[x.field-3])
		if err != nil {
			return proc{}, fmt.Errorf("parse /proc/%d/stat field %d: %w", pid, x.field, err)
		}
		*x.dst = v
	}
	for _, field := range []int{14, 15, 16, 17} { // utime stime cutime cstime
		v, err := strconv.ParseInt(f[field-3], 10, 64)
		if err != nil {
			return proc{}, fmt.Errorf("parse /proc/%d/stat field %d: %w", pid, field, err)
		}
		if v > 0 {
			p.cpuTicks += uint64(v)
		}
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return proc{}, fmt.Errorf("parse /proc/%d/stat field 22: %w", pid, err)
	}
	p.start = start
	return p, nil
}

// allProcs reads the stat of every process on the host (in this PID
// namespace). Processes that vanish while it reads are skipped.
func allProcs() ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	procs := make([]proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := readProc(pid)
		if err != nil {
			continue // gone, or unreadable
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// tree returns, from all processes, the descendants of the roots and (when
// pgid > 0) the members of process group pgid and their descendants. The
// roots themselves are included when present.
func tree(all []proc, roots []int, pgid int) []proc {
	children := map[int][]int{}
	byPID := make(map[int]proc, len(all))
	for _, p := range all {
		children[p.ppid] = append(children[p.ppid], p.pid)
		byPID[p.pid] = p
	}
	seen := map[int]bool{}
	var out []proc
	queue := append([]int(nil), roots...)
	if pgid > 0 {
		for _, p := range all {
			if p.pgid == pgid {
				queue = append(queue, p.pid)
			}
		}
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		p, ok := byPID[pid]
		if !ok || seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, p)
		queue = append(queue, children[pid]...)
	}
	return out
}

// alive reports whether p still exists as the same process and has not
// exited (a zombie has exited; only its parent's wait is missing).
func alive(p proc) bool {
	q, err := readProc(p.pid)
	return err == nil && q.start == p.start && q.state != 'Z' && q.state != 'X'
}

// cpuTime converts clock ticks to a duration.
func cpuTime(ticks uint64) time.Duration {
	return time.Duration(ticks) * (time.Second / userHZ)
}

// memory returns the resident memory of a process: its proportional set size
// (shared pages divided among the processes sharing them, so that a tree of
// forked workers sharing a model counts it once), or its resident set size
// where smaps_rollup is unavailable or unreadable.
func memory(pid int) (int64, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	if f, err := os.Open(dir + "/smaps_rollup"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					return kb * 1024, nil
				}
			}
		}
	}
	b, err := os.ReadFile(dir + "/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("parse %s/statm: %q", dir, b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s/statm: %w", dir, err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// treeUsage sums CPU time and memory over procs. Processes that vanished
// since the scan contribute their CPU time but no memory.
func treeUsage(procs []proc) (cpu time.Duration, mem int64) {
	var ticks uint64
	for _, p := range procs {
		ticks += p.cpuTicks
		if p.state == 'Z' {
			continue
		}
		if m, err := memory(p.pid); err == nil {
			mem += m
		}
	}
	return cpuTime(ticks), mem
}

// errNoListener: no process on this host was found listening on the port.
var errNoListener = errors.New("no listening process found")

// listener finds the process that listens on a TCP port in this network
// namespace: the socket inode from /proc/net/tcp{,6}, then the process
// holding a descriptor to it. When several do (a pre-forking server shares
// its socket with its workers), it returns the topmost, whose tree holds the
// others. Descriptors of other users' processes cannot be read, so their
// servers are not found.
func listener(port int) (proc, error) {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" { // 0A = LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); !ok || err != nil || int(p) != port {
				continue
			}
			if f[9] != "0" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return proc{}, fmt.Errorf("port %d: %w", port, errNoListener)
	}
	owners := map[int]proc{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return proc{}, fmt.Errorf("list processes: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !inodes[target] {
				continue
			}
			if p, err := readProc(pid); err == nil {
				owners[pid] = p
			}
			break
		}
	}
	for _, p := range owners {
		if _, parentOwns := owners[p.ppid]; !parentOwns {
			return p, nil
		}
	}
	return proc{}, fmt.Errorf("port %d: %w", port, errNoListener)
}
