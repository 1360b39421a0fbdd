#!/usr/bin/env bash
# Benchmarks the InvokeEndpoint gateway of `inferscale serve` against the same
# model replica called directly and through nginx (Debian's package) as a
# keep-alive reverse proxy: the latency each proxy adds and its maximum
# throughput, in the same run, against the same replica.
#
#   bash bench/gateway/run.sh             # about 5 minutes
#   DURATION=3s ROUNDS=1 USERS="1 16" bash bench/gateway/run.sh
#
# Paths measured, interleaved round by round (direct, gateway, nginx, ...):
#   direct   the replica's own POST /invocations
#   gateway  inferscale serve's POST /endpoints/E/invocations (SageMaker
#            Runtime InvokeEndpoint, unsigned: serve runs without
#            --credentials), which routes to the replica and records the
#            invocation metrics, as it does in production
#   nginx    one worker, `proxy_pass` to the replica through an upstream with
#            `keepalive` connections, HTTP/1.1, at the same path
# The endpoint has one variant with one instance: the replica is a child
# `inferscale model-server` process of serve, started by the local backend.
# Its model is a tiny MLP (4 inputs, 4 hidden, 2 classes: nanoseconds of
# arithmetic) so that HTTP handling, not the model, is what everyone pays;
# MODEL=reference uses the reference model at its minimum service time
# (100 µs, timer-based) instead.
#
# Target (issue 4): the gateway adds at most 50 µs at p50 and 500 µs at p99
# over direct calls, and its maximum throughput is at least nginx's.
#   - latency is judged at the lowest USERS level (1 user by default): a
#     closed loop of one user sends one request at a time, so the difference
#     to direct calls is the proxy's own time, not queueing behind others;
#   - throughput is judged at the highest USERS level (64 by default), where
#     the proxy's CPU is saturated; both proxies run on the same one core.
# Every run must also be free of errors.
#
# Pinning (PIN=1): the proxy under test (serve, or nginx) on CPU 0, the load
# generator on CPU 1. The replica goes where the local backend puts it: the
# backend hands out the CPUs serve may use at start and keeps the lowest of
# them for a load generator. With 3 or more CPUs, serve starts on CPUs 1..N-1
# (CPU 1 kept for the load generator, the replica on CPU 2 and up), and is
# moved to CPU 0 once the replica runs. With only 2 CPUs that is impossible:
# serve starts on CPU 0, and the replica shares CPU 0 with the proxies (the
# backend logs a warning). On such a machine the throughput of the proxied
# paths is that of one core running the proxy AND the replica, so the
# gateway/nginx ratio is diluted towards 1 by the replica's cost, and the
# direct path, with a core of its own, is not a throughput peer. Latency at
# 1 user is less affected: one request at a time never needs two cores, but
# where the replica sits changes how many cross-core wake-ups a request
# makes. The replica's affinity is printed; REPLICA_CPUS (e.g. 1) moves it
# elsewhere once it runs, to see how much the placement matters.
#
# Besides req/s and latency, each run reports the CPU time the proxy and the
# replica used per request (utime + stime from /proc, all threads): on a core
# of its own, a proxy's maximum throughput is 1 / its CPU time per request,
# whatever the placement, so "cpu us/req" is the steadiest throughput
# comparison on a shared or small machine.
#
# Environment: USERS ("1 16 64"), DURATION (10s per run), ROUNDS (3; medians),
# WARMUP (2s per path), REPLICA_CPUS (empty: where the backend put it),
# INSTANCE_TYPE (ml.c5.large), MODEL (tiny | reference),
# TARGET_ADDED_P50_US (50), TARGET_ADDED_P99_US (500), PIN (1; 0: none),
# PROFILE (0; 1: `perf record` serve during the first gateway run at the
# highest USERS level and print where its CPU time goes), PERF_OUT (a
# directory to keep that profile and the binary in, for `perf report -i`),
# TIMELINE (0; 1: follow one request at a time through the system calls of
# the client, the proxy and the replica, on each path, and print where its
# time goes: see bench/gateway/timeline.py; needs perf, as PROFILE does).
# Traffic goes to 127.0.0.1 only; every process started here is stopped on
# exit.
set -euo pipefail
. "$(dirname "$0")/../nginx.sh"

USERS=${USERS:-1 16 64}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
INSTANCE_TYPE=${INSTANCE_TYPE:-ml.c5.large}
MODEL=${MODEL:-tiny}
TARGET_ADDED_P50_US=${TARGET_ADDED_P50_US:-50}
TARGET_ADDED_P99_US=${TARGET_ADDED_P99_US:-500}
PIN=${PIN:-1}
PROFILE=${PROFILE:-0}
TIMELINE=${TIMELINE:-0}
REPLICA_CPUS=${REPLICA_CPUS:-}
ENDPOINT=bench-gateway
PATHS="direct gateway nginx"

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
serve_pid= nginx_pid= replica_pid=
stop() { # stop PID: TERM, then KILL after 10 s
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop "$nginx_pid"
	stop "$serve_pid" # stops its replica
	stop "$replica_pid" # in case serve could not
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools nginx

ncpu=$(nproc)
proxy_cpu=() client_cpu=() serve_start_cpu=() repin_serve=0
if [ "$PIN" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
	proxy_cpu=(taskset -c 0)
	client_cpu=(taskset -c 1)
	if [ "$ncpu" -ge 3 ]; then
		serve_start_cpu=(taskset -c "1-$((ncpu - 1))")
		repin_serve=1
	else
		serve_start_cpu=(taskset -c 0)
	fi
fi

(cd "$root" && go build -o "$work/inferscale" ./cmd/inferscale)

# inferscale serve on a port the kernel picks; it prints "listening on ADDR".
mkdir -p "$work/data"
"${serve_start_cpu[@]}" "$work/inferscale" serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
addr=
for _ in $(seq 100); do
	addr=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/serve.out" | head -n1)
	[ -n "$addr" ] && curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null && break
	kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.1
done
curl -fsS -o /dev/null "http://$addr/healthz"

case $MODEL in
tiny) model_env='{"INFERSCALE_MODEL": "mlp", "INFERSCALE_MLP_INPUT": "4", "INFERSCALE_MLP_HIDDEN": "4", "INFERSCALE_MLP_CLASSES": "2"}' ;;
reference) model_env='{"INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "100us", "INFERSCALE_REFERENCE_SLOTS": "100000"}' ;;
*) echo "MODEL=$MODEL: want tiny or reference" >&2; exit 2 ;;
esac
printf '{"instances": [[0.5, -1.25, 2.0, 0.75]]}' >"$work/payload.json"

# Model, endpoint config (one variant, one instance), endpoint; wait until it
# is in service.
python3 - "http://$addr/" "$ENDPOINT" "$INSTANCE_TYPE" "$model_env" <<'PY'
import json, sys, time, urllib.request

url, endpoint, itype, env = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])

def call(op, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": "SageMaker." + op,
        "Content-Type": "application/x-amz-json-1.1",
    })
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")

call("CreateModel", {"ModelName": endpoint, "ExecutionRoleArn": "arn:aws:iam::123456789012:role/bench",
                     "PrimaryContainer": {"Image": "inferscale/sample-model", "Environment": env}})
call("CreateEndpointConfig", {"EndpointConfigName": endpoint, "ProductionVariants": [{
    "VariantName": "main", "ModelName": endpoint, "InstanceType": itype,
    "InitialInstanceCount": 1, "InitialVariantWeight": 1}]})
call("CreateEndpoint", {"EndpointName": endpoint, "EndpointConfigName": endpoint})
deadline = time.monotonic() + 120
while True:
    d = call("DescribeEndpoint", {"EndpointName": endpoint})
    if d["EndpointStatus"] == "InService":
        break
    if d["EndpointStatus"] == "Failed" or time.monotonic() > deadline:
        sys.exit("endpoint %s is %s: %s" % (endpoint, d["EndpointStatus"], d.get("FailureReason", "")))
    time.sleep(0.2)
PY

# The replica: serve's child model-server process; its port from its
# environment, checked against the listening sockets.
replica_pid=$(ps --no-headers --ppid "$serve_pid" -o pid,args | awk '/model-server/ { print $1 }')
[ "$(echo "$replica_pid" | wc -w)" = 1 ] || { echo "want one replica process under serve, found: '$replica_pid'" >&2; exit 1; }
replica_port=$(tr '\0' '\n' <"/proc/$replica_pid/environ" | sed -n 's/^SAGEMAKER_BIND_TO_PORT=//p')
ss -ltnpH "sport = :$replica_port" | grep -q "pid=$replica_pid," ||
	{ echo "replica $replica_pid does not listen on port $replica_port" >&2; exit 1; }
if [ "$repin_serve" = 1 ]; then
	taskset -a -p -c 0 "$serve_pid" >/dev/null
fi
if [ -n "$REPLICA_CPUS" ]; then
	taskset -a -p -c "$REPLICA_CPUS" "$replica_pid" >/dev/null
fi

# nginx on the proxy CPU (one worker), proxying the gateway's path to the
# replica over kept-alive upstream connections.
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
max_users=$(printf '%s\n' $USERS | sort -n | tail -n1)
min_users=$(printf '%s\n' $USERS | sort -n | head -n1)
nginx_conf "$work/nginx" <<CONF
  upstream replica {
    server 127.0.0.1:${replica_port};
    keepalive $((max_users + 64));
    keepalive_requests 10000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${nginx_port} backlog=4096;
    location = /endpoints/${ENDPOINT}/invocations {
      proxy_pass http://replica/invocations;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
CONF
"${proxy_cpu[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!

url_direct="http://127.0.0.1:$replica_port/invocations"
url_gateway="http://$addr/endpoints/$ENDPOINT/invocations"
url_nginx="http://127.0.0.1:$nginx_port/endpoints/$ENDPOINT/invocations"
invoke() { curl -fsS -X POST "$1" -H 'Content-Type: application/json' --data-binary @"$work/payload.json" -o "$2"; }
for _ in $(seq 50); do
	invoke "$url_nginx" /dev/null 2>/dev/null && break
	sleep 0.1
done
nginx_worker=$(pgrep -P "$nginx_pid" | head -n1)

# All three paths must answer with the same bytes.
invoke "$url_direct" "$work/direct.out"
for p in gateway nginx; do
	u=url_$p
	invoke "${!u}" "$work/$p.out"
	cmp -s "$work/direct.out" "$work/$p.out" || {
		echo "$p answers differently from the replica:" >&2
		cat "$work/direct.out" "$work/$p.out" >&2
		exit 1
	}
done

# load PATH USERS DURATION: prints "req/s p50_us p99_us errors
# proxy_cpu_us_per_req replica_cpu_us_per_req" (the proxy's is 0 for direct).
clk_tck=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of all threads
load() {
	local u=url_$1 proxy= p0=0 p1=0 r0 r1
	case $1 in gateway) proxy=$serve_pid ;; nginx) proxy=$nginx_worker ;; esac
	[ -z "$proxy" ] || p0=$(ticks "$proxy")
	r0=$(ticks "$replica_pid")
	"${client_cpu[@]}" "$work/inferscale" loadtest --url "${!u}" --users "$2" --duration "$3" \
		--payload "$work/payload.json" --content-type application/json --output json --quiet >"$work/load.json"
	[ -z "$proxy" ] || p1=$(ticks "$proxy")
	r1=$(ticks "$replica_pid")
	python3 - "$work/load.json" "$((p1 - p0))" "$((r1 - r0))" "$clk_tck" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
proxy, replica, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = d["sent"] - d["succeeded"] - d["unfinished"]
per_req = lambda t: 1e6 * t / hz / max(d["sent"], 1)
print("%.0f %.0f %.0f %d %.1f %.1f" % (d["throughput_per_second"], d["latency"]["p50_ms"] * 1000,
      d["latency"]["p99_ms"] * 1000, errors, per_req(proxy), per_req(replica)))
PY
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() { printf "%-6s %-8s %9s %8s %8s %6s %8s %8s %8s %8s  %s\n" "$@"; }

cpus_of() { awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$1/status"; }
echo "# $ncpu CPUs; $DURATION per run, $ROUNDS round(s)$([ "$ROUNDS" -gt 1 ] && echo ', medians'), paths interleaved; model $MODEL on $INSTANCE_TYPE"
echo "# CPUs: serve $(cpus_of "$serve_pid"), nginx worker $(cpus_of "$nginx_worker"), replica $(cpus_of "$replica_pid"), load generator ${client_cpu[2]:-any}"
if [ "$ncpu" -lt 3 ] && [ "$PIN" = 1 ]; then
	echo "# 2 CPUs: the replica shares the proxies' CPU; throughput ratios are diluted (see the header of $0)"
fi
echo "# target: added p50 <= ${TARGET_ADDED_P50_US} us and p99 <= ${TARGET_ADDED_P99_US} us at $min_users user(s); req/s >= nginx's at $max_users users; no errors"
echo "# +p50/+p99: added over direct; cpu us/req: CPU time per request of the proxy (px) and of the replica (rep)"
row users path "req/s" "p50 us" "p99 us" errors "+p50 us" "+p99 us" "px cpu" "rep cpu" ""

for p in $PATHS; do load "$p" "$max_users" "$WARMUP" >/dev/null; done
: >"$work/results"
perf_file=
for users in $USERS; do
	: >"$work/rounds"
	for round in $(seq "$ROUNDS"); do
		for p in $PATHS; do
			perf_pid=
			if [ "$PROFILE" = 1 ] && [ "$p" = gateway ] && [ "$users" = "$max_users" ] && [ -z "$perf_file" ]; then
				perf_file=$work/gateway.perf
				perf record -F 999 -g -p "$serve_pid" -o "$perf_file" -- sleep 4 >/dev/null 2>&1 &
				perf_pid=$!
			fi
			read -r rps p50 p99 errs pcpu rcpu < <(load "$p" "$users" "$DURATION")
			if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
			echo "$p $rps $p50 $p99 $errs $pcpu $rcpu" >>"$work/rounds"
			if [ "$ROUNDS" -gt 1 ]; then row "$users" "$p" "$rps" "$p50" "$p99" "$errs" "" "" "$pcpu" "$rcpu" "(round $round)"; fi
		done
	done
	for p in $PATHS; do
		col() { awk -v p="$p" -v c="$1" '$1 == p { print $c }' "$work/rounds" | median; }
		rps=$(col 2) p50=$(col 3) p99=$(col 4) pcpu=$(col 6) rcpu=$(col 7)
		if [ "$p" = direct ]; then pcpu=-; fi
		errs=$(awk -v p="$p" '$1 == p { n += $5 } END { print n + 0 }' "$work/rounds")
		if [ "$p" = direct ]; then d50=$p50 d99=$p99; fi
		a50= a99=
		if [ "$p" != direct ]; then a50=$((p50 - d50)) a99=$((p99 - d99)); fi
		row "$users" "$p" "$rps" "$p50" "$p99" "$errs" "$a50" "$a99" "$pcpu" "$rcpu" ""
		echo "$users $p $rps $p50 $p99 $errs ${a50:-0} ${a99:-0} $pcpu" >>"$work/results"
	done
	awk -v u="$users" '$1 == u && $2 == "gateway" { g = $3; gc = $9 } $1 == u && $2 == "nginx" { n = $3; nc = $9 }
		END { printf "%-6s %-8s %9.3f %53.2f\n", u, "gw/nginx", (n > 0 ? g / n : 0), (nc > 0 ? gc / nc : 0) }' "$work/results"
done

if [ -n "$perf_file" ] && [ -s "$perf_file" ]; then
	if [ -n "${PERF_OUT:-}" ]; then mkdir -p "$PERF_OUT" && cp "$perf_file" "$work/inferscale" "$PERF_OUT/"; fi
	echo
	echo "# inferscale serve at $max_users users: share of its CPU samples (inclusive; overlapping)"
	perf report -i "$perf_file" --children --sort symbol --stdio -g none 2>/dev/null >"$work/perf.children" || true
	python3 - "$work/perf.children" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s+([0-9.]+)%\s+([0-9.]+)%\s+\[\S\]\s+(\S+)", line)
    if m:
        rows[m.group(3)] = float(m.group(1))
def find(*pats):
    return max((v for k, v in rows.items() if any(re.fullmatch(p, k) for p in pats)), default=0.0)
for label, pats in [
    ("lean HTTP/1.1 server: serving a connection", [r".*/internal/httpwire\.\(\*conn\)\.serve"]),
    ("net/http server (connections handed to it)", [r"net/http\.\(\*conn\)\.serve"]),
    ("api router (auth, validation, logging)", [r".*/internal/api\.\(\*Router\)\.ServeHTTP"]),
    ("api: validate the REST input", [r".*/internal/api\.validateREST"]),
    ("gateway: Respond (the upstream call, the response sent)", [r".*/internal/hosting\.\(\*Gateway\)\.Respond"]),
    ("invocation metrics (RecordInvocation)", [r".*RecordInvocation"]),
    ("timers", [r"context\.WithDeadlineCause", r"context\.WithTimeout", r"time\.\(\*Timer\)\.Reset", r"time\.\(\*Timer\)\.Stop"]),
    ("socket reads", [r".*/internal/httpwire\.\(\*Socket\)\.Read", r"syscall\.read", r"internal/poll\.\(\*FD\)\.Read"]),
    ("socket writes", [r".*/internal/httpwire\.\(\*Socket\)\.Write", r"syscall\.write", r"internal/poll\.\(\*FD\)\.Write"]),
    ("memory allocation", [r"runtime\.mallocgc"]),
    ("garbage collector (background)", [r"runtime\.gcBgMarkWorker"]),
    ("scheduler", [r"runtime\.schedule"]),
]:
    print("%6.1f%%  %s" % (find(*pats), label))
print("top functions by own time:")
PY
	perf report -i "$perf_file" --no-children --sort symbol --stdio -g none 2>/dev/null |
		awk '/^ +[0-9.]+%/ && n < 20 { printf "   %7s  %s\n", $1, $3; n++ }' || true
fi

if [ "$TIMELINE" = 1 ]; then
	echo
	echo "# where the time of one request goes, 1 user (bench/gateway/timeline.py; traced system calls cost more)"
	for p in $PATHS; do
		u=url_$p proxy=
		case $p in gateway) proxy=$serve_pid ;; nginx) proxy=$nginx_worker ;; esac
		"${client_cpu[@]}" "$work/inferscale" loadtest --url "${!u}" --users 1 --duration 4s \
			--payload "$work/payload.json" --content-type application/json --quiet >/dev/null &
		client_pid=$!
		sleep 1.5
		perf record -a -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -o "$work/timeline.perf" -- sleep 1 >/dev/null 2>&1 || true
		wait "$client_pid" || true
		echo "$p:"
		perf script -i "$work/timeline.perf" -F pid,tid,cpu,time,event,trace 2>/dev/null |
			python3 "$(dirname "$0")/timeline.py" "$client_pid" "$replica_pid" $proxy || true
		rm -f "$work/timeline.perf"
	done
fi

echo
# Verdicts: latency at the lowest users level, throughput at the highest.
read -r g50 g99 gerr < <(awk -v u="$min_users" '$1 == u && $2 == "gateway" { print $7, $8, $6 }' "$work/results")
read -r grps < <(awk -v u="$max_users" '$1 == u && $2 == "gateway" { print $3 }' "$work/results")
read -r nrps < <(awk -v u="$max_users" '$1 == u && $2 == "nginx" { print $3 }' "$work/results")
errors=$(awk '{ n += $6 } END { print n + 0 }' "$work/results")
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
ok50=$([ "$g50" -le "$TARGET_ADDED_P50_US" ] && echo 1 || echo 0)
ok99=$([ "$g99" -le "$TARGET_ADDED_P99_US" ] && echo 1 || echo 0)
okrps=$(awk -v g="$grps" -v n="$nrps" 'BEGIN { print (g >= n) ? 1 : 0 }')
okerr=$([ "$errors" = 0 ] && echo 1 || echo 0)
echo "$(verdict "$ok50") gateway added p50 at $min_users user(s): $g50 us (target <= $TARGET_ADDED_P50_US us)"
echo "$(verdict "$ok99") gateway added p99 at $min_users user(s): $g99 us (target <= $TARGET_ADDED_P99_US us)"
echo "$(verdict "$okrps") gateway throughput at $max_users users: $grps req/s vs nginx $nrps req/s ($(awk -v g="$grps" -v n="$nrps" 'BEGIN { printf "%.3f", g / n }')x, target >= 1)"
echo "$(verdict "$okerr") errors over all runs: $errors"
awk -v u="$max_users" '$1 == u && $2 == "gateway" { g = $9 } $1 == u && $2 == "nginx" { n = $9 }
	END { if (g > 0 && n > 0) printf "(CPU per request at %d users: gateway %.1f us, nginx %.1f us: on a core of its own the gateway would reach %.2fx nginx'"'"'s req/s)\n", u, g, n, n / g }' "$work/results"
if [ "$ok50$ok99$okrps$okerr" = 1111 ]; then
	echo "target met"
else
	echo "target missed"
	exit 1
fi
