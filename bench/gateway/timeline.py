#!/usr/bin/env python3
"""Where the time of one request goes, from a system-wide trace of system calls.

    perf record -a -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -o T -- sleep 1
    perf script -i T -F pid,tid,cpu,time,event,trace | timeline.py CLIENT REPLICA [PROXY]

CLIENT, REPLICA and PROXY are process ids: a closed loop of one user (one
request at a time) from CLIENT, to REPLICA through PROXY, or directly
without PROXY. Each request is followed through the system calls that move
it: the client's write, the proxy's read of the request and its write to the
replica, the replica's read and write, the proxy's read of the response and
its write to the client, and the client's read. An HTTP message is a read
that returns at least MIN_MESSAGE bytes (the Go runtime's wake-up reads of
an eventfd return 8). The medians of the intervals between those points
are printed in microseconds. A traced system call costs a few microseconds
more than an untraced one, so the intervals are longer than in the
benchmark; both paths pay it alike.
"""
import re
import statistics
import sys

MIN_MESSAGE = 64
READS = {0, 45}  # read, recvfrom
WRITES = {1, 20, 44}  # write, writev, sendto

LINE = re.compile(r"\s*(\d+)/\d+\s+\[\d+\]\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit):\s+NR (\d+) (.*)")


def events(lines):
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        ret = None
        if m.group(3) == "exit":
            r = m.group(5).strip()
            ret = int(r[1:].strip()) if r.startswith("=") else None
        yield int(m.group(1)), float(m.group(2)) * 1e6, m.group(3), int(m.group(4)), ret


def main():
    client, replica = int(sys.argv[1]), int(sys.argv[2])
    proxy = int(sys.argv[3]) if len(sys.argv) > 3 else None
    # Each step: (name, pid, "enter" write | "exit" read of a message).
    steps = [("client writes the request", client, "write")]
    if proxy is not None:
        steps += [
            ("proxy has read it", proxy, "read"),
            ("proxy writes to the replica", proxy, "write"),
            ("proxy's write returns", proxy, "written"),
        ]
    steps += [
        ("replica has read it", replica, "read"),
        ("replica writes the response", replica, "write"),
    ]
    if proxy is not None:
        steps += [
            ("proxy has read it", proxy, "read"),
            ("proxy writes to the client", proxy, "write"),
            ("proxy's write returns", proxy, "written"),
        ]
    steps += [("client has read it", client, "read")]

    cycles, cur = [], []
    for pid, t, kind, nr, ret in events(sys.stdin):
        if pid == client and kind == "enter" and nr in WRITES:
            cur = [t]  # a new request starts the cycle over
            continue
        if not cur or len(cur) == len(steps):
            continue
        _, want_pid, what = steps[len(cur)]
        if pid != want_pid:
            continue
        if (what == "write" and kind == "enter" and nr in WRITES
                or what == "written" and kind == "exit" and nr in WRITES
                or what == "read" and kind == "exit" and nr in READS and ret is not None and ret >= MIN_MESSAGE):
            cur.append(t)
            if len(cur) == len(steps):
                cycles.append(cur)
    if not cycles:
        sys.exit("timeline: no whole request found in the trace")
    print("  %d requests traced; median microseconds from the step before:" % len(cycles))
    for i, (name, _, _) in enumerate(steps[1:], 1):
        print("  %7.1f  %s" % (statistics.median(c[i] - c[i - 1] for c in cycles), name))
    print("  %7.1f  in all" % statistics.median(c[-1] - c[0] for c in cycles))


if __name__ == "__main__":
    main()
