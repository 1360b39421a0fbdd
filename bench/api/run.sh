#!/usr/bin/env bash
# Benchmarks the read path of `inferscale serve`: DescribeInferenceRecommendationsJob
# and ListModels on loopback, the server pinned to one core, against nginx on
# the same core serving the very same response bytes at the same path.
#
#   bash bench/api/run.sh              # about 1.5 minutes
#   DURATION=5s USERS="16" bash bench/api/run.sh
#
# Target (per operation): at least 5,000 requests/s with p99 under 5 ms on one
# core. nginx (one worker, static files, no database, no JSON encoding) is an
# upper bound for "serving these bytes over HTTP on one core".
#
# Environment: USERS ("16 64": closed-loop users, one connection each),
# DURATION (10s per run), ROUNDS (1; the median is reported when more),
# MODELS (50: models seeded), TARGET_RPS (5000), TARGET_P99_MS (5),
# PIN (1: servers on CPU 0, the load generator on CPU 1; 0: no pinning),
# PROFILE (0; 1: `perf record` the server for 4 s of each operation's first
# closed-loop run and print where its CPU time goes).
# Traffic goes to 127.0.0.1 only; every process started here is stopped on exit.
set -euo pipefail
. "$(dirname "$0")/../nginx.sh"

USERS=${USERS:-16 64}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-1}
MODELS=${MODELS:-50}
TARGET_RPS=${TARGET_RPS:-5000}
TARGET_P99_MS=${TARGET_P99_MS:-5}
PIN=${PIN:-1}
PROFILE=${PROFILE:-0}

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
serve_pid= nginx_pid=
stop() { # stop PID: TERM, then KILL after 5 s
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop "$serve_pid"
	stop "$nginx_pid"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools nginx

server_cpu=() client_cpu=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_cpu=(taskset -c 0)
	client_cpu=(taskset -c 1)
fi

(cd "$root" && go build -o "$work/inferscale" ./cmd/inferscale)

# inferscale serve on a port the kernel picks; it prints "listening on ADDR".
mkdir -p "$work/data"
"${server_cpu[@]}" "$work/inferscale" serve --addr 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.log" 2>&1 &
serve_pid=$!
addr=
for _ in $(seq 100); do
	addr=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/serve.log" | head -n1)
	[ -n "$addr" ] && curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null && break
	kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.1
done
curl -fsS -o /dev/null "http://$addr/healthz"
IS_URL="http://$addr/"

# Seed: models, a model package, one job stopped at once (so the server runs
# no benchmark while we measure); then capture the two responses served.
mkdir -p "$work/www" "$work/payloads"
python3 - "$IS_URL" "$MODELS" "$work" <<'PY'
import json, sys, time, urllib.request

url, models, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
role = "arn:aws:iam::123456789012:role/x"

def call(op, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": "SageMaker." + op,
        "Content-Type": "application/x-amz-json-1.1",
    })
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()

for i in range(models):
    call("CreateModel", {"ModelName": "bench-model-%03d" % i, "ExecutionRoleArn": role,
                         "PrimaryContainer": {"Image": "inferscale/sample-model"}})
pkg = json.loads(call("CreateModelPackage", {
    "ModelPackageName": "bench-package",
    "InferenceSpecification": {"Containers": [{"Image": "inferscale/sample-model"}],
                               "SupportedContentTypes": ["application/json"],
                               "SupportedResponseMIMETypes": ["application/json"]},
}))["ModelPackageArn"]
job = "bench-job"
call("CreateInferenceRecommendationsJob", {
    "JobName": job, "JobType": "Default", "RoleArn": role,
    "InputConfig": {"ModelPackageVersionArn": pkg,
                    "EndpointConfigurations": [{"InstanceType": "ml.c5d.large"}]},
})
call("StopInferenceRecommendationsJob", {"JobName": job})
deadline = time.monotonic() + 60
while True:
    status = json.loads(call("DescribeInferenceRecommendationsJob", {"JobName": job}))["Status"]
    if status == "STOPPED":
        break
    if status in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
        sys.exit("job %s is %s, want STOPPED" % (job, status))
    time.sleep(0.2)

for name, op, body in [("describe", "DescribeInferenceRecommendationsJob", {"JobName": job}),
                       ("listmodels", "ListModels", {"MaxResults": 10})]:
    with open("%s/payloads/%s.json" % (work, name), "w") as f:
        json.dump(body, f)
    resp = call(op, body)
    with open("%s/www/%s.json" % (work, name), "wb") as f:
        f.write(resp)
print("seeded %d models, package %s, job %s (STOPPED)" % (models, pkg, job))
PY

# nginx on CPU 0 (one worker) serving the captured bytes at the same path "/",
# chosen by X-Amz-Target like the API does. The static module refuses POST
# (405); error_page turns that into a 200 with the file.
# nginx's worker may run as another user (www-data): let it read the files.
chmod 755 "$work" "$work/www"; chmod 644 "$work"/www/*.json
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nginx_conf "$work/nginx" <<CONF
  open_file_cache max=16;
  map \$http_x_amz_target \$api_file {
    default /unknown.json;
    SageMaker.DescribeInferenceRecommendationsJob /describe.json;
    SageMaker.ListModels /listmodels.json;
  }
  server {
    listen 127.0.0.1:${nginx_port} backlog=4096;
    root $work/www;
    default_type application/x-amz-json-1.1;
    location = / { rewrite ^ \$api_file last; }
    location / { error_page 405 =200 \$uri; add_header x-amzn-RequestId \$request_id; }
  }
CONF
"${server_cpu[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
NG_URL="http://127.0.0.1:${nginx_port}/"
for _ in $(seq 50); do
	curl -fsS -o /dev/null "$NG_URL" 2>/dev/null && break
	sleep 0.1
done

# Both servers must answer each operation with the same bytes.
for op in describe:DescribeInferenceRecommendationsJob listmodels:ListModels; do
	name=${op%%:*} target=${op#*:}
	for url in "$IS_URL" "$NG_URL"; do
		curl -fsS -X POST "$url" -H "X-Amz-Target: SageMaker.$target" \
			-H 'Content-Type: application/x-amz-json-1.1' \
			--data-binary @"$work/payloads/$name.json" -o "$work/check.json"
		cmp -s "$work/check.json" "$work/www/$name.json" || { echo "$url $target: response differs from the captured one" >&2; exit 1; }
	done
done

# load URL NAME TARGET DURATION LOOP-FLAGS...: prints "req/s p50_ms p99_ms errors".
load() {
	local url=$1 name=$2 target=$3 dur=$4
	shift 4
	"${client_cpu[@]}" "$work/inferscale" loadtest --url "$url" "$@" --duration "$dur" \
		--payload "$work/payloads/$name.json" --content-type application/x-amz-json-1.1 \
		--header "X-Amz-Target: SageMaker.$target" --output json --quiet >"$work/load.json"
	python3 - "$work/load.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
errors = d["sent"] - d["succeeded"] - d["unfinished"]
print("%.0f %.3f %.3f %d" % (d["throughput_per_second"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], errors))
PY
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# verdict REQ/S P99 ERRORS MIN-REQ/S
verdict() {
	awk -v r="$1" -v p="$2" -v e="$3" -v tr="$4" -v tp="$TARGET_P99_MS" 'BEGIN { print (r >= tr && p < tp && e == 0) ? "PASS" : "FAIL" }'
}
row() { printf "%-36s %-9s %-10s %10s %9s %9s %7s  %s\n" "$@"; }

# run LABEL NAME TARGET MIN-REQ/S LOOP-FLAGS...: ROUNDS rounds on both servers,
# inferscale first; prints the medians, inferscale's verdict and the ratios.
run() {
	local label=$1 name=$2 target=$3 min=$4
	shift 4
	: >"$work/rounds"
	for round in $(seq "$ROUNDS"); do
		for server in inferscale nginx; do
			if [ "$server" = inferscale ]; then url=$IS_URL; else url=$NG_URL; fi
			perf_pid=
			if [ "$PROFILE" = 1 ] && [ "$server" = inferscale ] && [ "$round" = 1 ] && [ "$1" = --users ] && [ ! -e "$work/$name.perf" ]; then
				perf record -F 999 -g -p "$serve_pid" -o "$work/$name.perf" -- sleep 4 >/dev/null 2>&1 &
				perf_pid=$!
			fi
			read -r rps p50 p99 errs < <(load "$url" "$name" "$target" "$DURATION" "$@")
			if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
			echo "$server $rps $p50 $p99 $errs" >>"$work/rounds"
			if [ "$ROUNDS" -gt 1 ]; then row "$target" "$label" "$server" "$rps" "$p50" "$p99" "$errs" "(round $round)"; fi
		done
	done
	local server v col
	for server in inferscale nginx; do
		col() { awk -v s="$server" -v c="$1" '$1 == s { print $c }' "$work/rounds" | median; }
		rps=$(col 2) p50=$(col 3) p99=$(col 4) errs=$(awk -v s="$server" '$1 == s { n += $5 } END { print n + 0 }' "$work/rounds")
		v=
		if [ "$server" = inferscale ]; then
			v=$(verdict "$rps" "$p99" "$errs" "$min")
			is_rps=$rps is_p50=$p50 is_p99=$p99
			echo "$target $label $v" >>"$work/verdicts"
		fi
		row "$target" "$label" "$server" "$rps" "$p50" "$p99" "$errs" "$v"
	done
	awk -v a="$is_rps" -v b="$rps" -v c="$is_p50" -v d="$p50" -v e="$is_p99" -v f="$p99" -v t="$target" -v l="$label" 'BEGIN {
		printf "%-36s %-9s %-10s %10.3f %9.1f %9.1f\n", t, l, "is/nginx", a / b, c / d, e / f }'
}

echo "# $(nproc) CPUs; servers on ${server_cpu[*]:-any CPU}, load generator on ${client_cpu[*]:-any CPU}"
echo "# $DURATION per run, $ROUNDS round(s)$([ "$ROUNDS" -gt 1 ] && echo ', medians'); target >= $TARGET_RPS req/s with p99 < $TARGET_P99_MS ms, no errors"
echo "# response bytes: Describe $(wc -c <"$work/www/describe.json"), ListModels $(wc -c <"$work/www/listmodels.json")"
echo "# users N: closed loop (capacity; by Little's law mean latency = N / throughput, so p99 < ${TARGET_P99_MS} ms"
echo "#          with N users needs well over N / ${TARGET_P99_MS} ms req/s); rate R: open loop at R req/s, latency"
echo "#          from each request's due time: the target as stated (R req/s, what p99?)"
row operation load server "req/s" "p50 ms" "p99 ms" errors ""
: >"$work/verdicts"
for op in describe:DescribeInferenceRecommendationsJob listmodels:ListModels; do
	name=${op%%:*} target=${op#*:}
	# Warm both servers up (connections, caches, Go's heap).
	load "$IS_URL" "$name" "$target" 2s --users 16 >/dev/null
	load "$NG_URL" "$name" "$target" 2s --users 16 >/dev/null
	for users in $USERS; do
		run "users $users" "$name" "$target" "$TARGET_RPS" --users "$users"
	done
	# Open loop at the target rate: at least 99% of it must succeed.
	run "rate $TARGET_RPS" "$name" "$target" "$(awk -v t="$TARGET_RPS" 'BEGIN { print t * 0.99 }')" --rate "$TARGET_RPS"
done

if [ "$PROFILE" = 1 ]; then
	for name in describe listmodels; do
		[ -e "$work/$name.perf" ] || continue
		echo
		echo "# $name: inferscale serve, share of its CPU samples spent in (inclusive; overlapping)"
		perf report -i "$work/$name.perf" --children --sort symbol --stdio -g none 2>/dev/null >"$work/$name.report" || true
		python3 - "$work/$name.report" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s+([0-9.]+)%\s+([0-9.]+)%\s+\[\S\]\s+(\S+)", line)
    if m:
        rows[m.group(3)] = float(m.group(1))
def find(*pats):
    return max((v for k, v in rows.items() if any(re.fullmatch(p, k) for p in pats)), default=0.0)
for label, pats in [
    ("net/http connection serving (all of a request)", [r"net/http\.\(\*conn\)\.serve"]),
    ("SQLite: prepare (SQL parse and plan)", [r".*_sqlite3LockAndPrepare", r".*_sqlite3_prepare_v2", r".*_sqlite3Prepare"]),
    ("SQLite: step (execute)", [r".*sqlite3_step"]),
    ("database/sql total", [r"database/sql\.\(\*DB\)\.(QueryContext|QueryRowContext|queryDC)"]),
    ("encoding/json Unmarshal", [r"encoding/json\.Unmarshal"]),
    ("encoding/json Marshal", [r"encoding/json\.Marshal"]),
    ("socket reads", [r"syscall\.read", r"internal/poll\.\(\*FD\)\.Read"]),
    ("socket writes", [r"syscall\.write", r"internal/poll\.\(\*FD\)\.Write"]),
    ("memory allocation", [r"runtime\.mallocgc"]),
    ("garbage collector (background)", [r"runtime\.gcBgMarkWorker"]),
    ("scheduler", [r"runtime\.schedule"]),
]:
    print("%6.1f%%  %s" % (find(*pats), label))
print("top functions by own time:")
PY
		perf report -i "$work/$name.perf" --no-children --sort symbol --stdio -g none 2>/dev/null |
			awk '/^ +[0-9.]+%/ && n < 15 { printf "   %7s  %s\n", $1, $3; n++ }' || true
	done
fi

echo
# The target as stated is the open-loop run at TARGET_RPS for each operation.
failed=$(awk -v l="rate $TARGET_RPS" '$2 " " $3 == l && $4 == "FAIL" { print $1 }' "$work/verdicts")
closed_failed=$(awk '$2 == "users" && $4 == "FAIL"' "$work/verdicts" | wc -l)
if [ -n "$failed" ]; then
	echo "target missed: $(echo $failed) (open loop at $TARGET_RPS req/s); $closed_failed closed-loop run(s) FAIL"
	exit 1
fi
echo "target met: both operations at $TARGET_RPS req/s with p99 < $TARGET_P99_MS ms and no errors; $closed_failed closed-loop run(s) FAIL"
