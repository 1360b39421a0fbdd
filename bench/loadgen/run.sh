#!/usr/bin/env bash
# Benchmarks inferscale's load generator against wrk and hey on the same
# loopback server (nginx answering a small static response), with the same
# connection count and duration, and checks the open loop's achieved rates.
#
#   bash bench/loadgen/run.sh            # ~2.5 minutes
#   DURATION=5s ROUNDS=1 bash bench/loadgen/run.sh
#
# Environment: CONNS (50), DURATION (10s), ROUNDS (3; the median is
# reported), OPEN_RATES ("1000 5000 20000"), OPEN_DURATION (10s), PORT
# (18080), PIN (1: nginx on CPU 0 and each client on CPU 1, so that server
# and client never compete for a core; 0: no pinning).
# Traffic goes to 127.0.0.1 only.
set -euo pipefail
. "$(dirname "$0")/../nginx.sh"

CONNS=${CONNS:-50}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
OPEN_RATES=${OPEN_RATES:-1000 5000 20000}
OPEN_DURATION=${OPEN_DURATION:-10s}
PORT=${PORT:-18080}
PIN=${PIN:-1}
URL="http://127.0.0.1:${PORT}/invocations"

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# Tools: Debian packages wrk, hey (Debian's golang-github-rakyll-hey) and
# nginx.
ensure_tools wrk hey nginx

(cd "$root" && go build -o "$work/inferscale" ./cmd/inferscale)

# Pinned, each client gets one core (wrk one thread; Go programs see one
# CPU); unpinned, wrk gets a thread per core, as the Go programs do.
server_cpu=() client_cpu=()
THREADS=$(nproc)
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	server_cpu=(taskset -c 0)
	client_cpu=(taskset -c 1)
	THREADS=1
fi

nginx_conf "$work/nginx" <<CONF
  server {
    listen 127.0.0.1:${PORT} backlog=4096;
    location / { default_type application/json; return 200 '{"predictions":[0.5]}\n'; }
  }
CONF
"${server_cpu[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 50); do
	curl -fsS -o /dev/null "$URL" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null "$URL"

# Each function prints "req/s p50_ms p99_ms".
run_wrk() {
	"${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$URL" >"$work/wrk.out"
	awk '
		function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
		/Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$work/wrk.out"
}
run_hey() {
	"${client_cpu[@]}" hey -z "$DURATION" -c "$CONNS" -m GET "$URL" >"$work/hey.out"
	awk '
		/Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = $3 * 1000 }
		$1 == "99%" { p99 = $3 * 1000 }
		END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$work/hey.out"
}
run_inferscale() {
	"${client_cpu[@]}" "$work/inferscale" loadtest --url "$URL" --method GET --users "$CONNS" --duration "$DURATION" --quiet >"$work/is.out"
	awk '
		$1 == "throughput" { rps = $2 }
		$1 == "latency" { p50 = $3 + 0; p99 = $9 + 0 }
		END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' "$work/is.out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# closed loop: $CONNS connections, $DURATION, $ROUNDS rounds (median), nginx (1 worker) on 127.0.0.1"
if [ ${#client_cpu[@]} -gt 0 ]; then echo "# nginx pinned to CPU 0, each client to CPU 1 (wrk -t1)"; else echo "# no pinning, wrk -t$THREADS"; fi
printf "%-12s %5s %12s %10s %10s\n" tool round "req/s" "p50 ms" "p99 ms"
: >"$work/results"
"${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d2s "$URL" >/dev/null # warm up
for round in $(seq "$ROUNDS"); do
	for tool in wrk hey inferscale; do
		read -r rps p50 p99 < <("run_$tool")
		printf "%-12s %5d %12s %10s %10s\n" "$tool" "$round" "$rps" "$p50" "$p99"
		echo "$tool $rps $p50 $p99" >>"$work/results"
	done
done
for tool in wrk hey inferscale; do
	rps=$(awk -v t="$tool" '$1 == t { print $2 }' "$work/results" | median)
	p50=$(awk -v t="$tool" '$1 == t { print $3 }' "$work/results" | median)
	p99=$(awk -v t="$tool" '$1 == t { print $4 }' "$work/results" | median)
	printf "%-12s %5s %12s %10s %10s\n" "$tool" median "$rps" "$p50" "$p99"
	eval "rps_$tool=$rps"
done
awk -v i="$rps_inferscale" -v w="$rps_wrk" -v h="$rps_hey" 'BEGIN {
	printf "ratio inferscale/wrk %.2f (target >= 1.0)\n", i / w
	printf "ratio inferscale/hey %.2f (target >= 1.5)\n", i / h
}'

echo
echo "# open loop: offered vs achieved, $OPEN_DURATION each; latency from the intended send time"
printf "%10s %10s %10s %8s %8s %8s %9s %9s %s\n" offered "sent/s" "ok/s" "off%" errors unfin "p50 ms" "p99 ms" ""
for rate in $OPEN_RATES; do
	"${client_cpu[@]}" "$work/inferscale" loadtest --url "$URL" --method GET --rate "$rate" --duration "$OPEN_DURATION" --output json --quiet >"$work/open.json"
	# The JSON is indented one field a line; pick the top-level fields.
	awk -v rate="$rate" '
		function num(s) { gsub(/[,]/, "", s); return s + 0 }
		/^  "elapsed_ms"/ { el = num($2) / 1000 }
		/^  "sent"/ { sent = num($2) }
		/^  "succeeded"/ { ok = num($2) }
		/^  "unfinished"/ { unf = num($2) }
		/^    "p50_ms"/ { p50 = num($2) }
		/^    "p99_ms"/ { p99 = num($2) }
		END {
			s = sent / el; off = 100 * (s - rate) / rate
			printf "%10d %10.1f %10.1f %+7.2f%% %8d %8d %9.3f %9.3f %s\n", rate, s, ok / el, off, sent - ok - unf, unf, p50, p99, (off < 1 && off > -1) ? "ok" : "OFF BY MORE THAN 1%"
		}' "$work/open.json"
done
