# Sourced by the shell examples: builds inferscale into a temporary
# directory and runs `inferscale serve` there, on a free loopback port.
#
#   . "$(dirname "$0")/serve.sh"    # sets root, work, fail, start_server
#   start_server [serve flags...]   # sets server_pid and addr
#
# On exit the server and any process in $extra_pids are stopped, the end of
# the server's log is printed if the example failed, and $work is removed.
# The aws CLI is set up with any credentials (without --credentials the
# server checks no signature), us-east-1 and no retries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
example=$(basename "$0")
work=$(mktemp -d)
server_pid="" extra_pids=""

cleanup() {
	status=$?
	for pid in $extra_pids $server_pid; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			wait "$pid" || true
		fi
	done
	if [ "$status" -ne 0 ] && [ -f "$work/serve.log" ]; then
		echo "--- server log (last 40 lines)" >&2
		tail -n 40 "$work/serve.log" >&2
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "$example: $*" >&2
	exit 1
}

export AWS_ACCESS_KEY_ID=inferscale AWS_SECRET_ACCESS_KEY=inferscale AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1

# start_server FLAGS...: build inferscale, start `inferscale serve FLAGS...`
# with a fresh data directory and wait until it listens.
start_server() {
	echo "== build inferscale"
	(cd "$root" && go build -o "$work/inferscale" ./cmd/inferscale)
	echo "== start inferscale serve"
	"$work/inferscale" serve --data-dir "$work/data" --addr 127.0.0.1:0 "$@" >"$work/serve.out" 2>"$work/serve.log" &
	server_pid=$!
	addr=""
	for _ in $(seq 200); do
		addr=$(sed -n 's/^listening on //p' "$work/serve.out")
		[ -n "$addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || fail "inferscale serve exited"
		sleep 0.1
	done
	[ -n "$addr" ] || fail "inferscale serve did not start listening"
	echo "listening on $addr"
}
