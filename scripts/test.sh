#!/usr/bin/env bash
# The project's test command (README, "Run the tests"); CI runs exactly this.
# It checks formatting and vet, runs every test with the race detector, then
# runs the examples.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# -p 1: one package's tests at a time. The recommender's tests measure real
# load against the reference model and check it to 3%; two packages loading
# both cores at once would starve them.
echo "== go test -race"
go test -race -count=1 -p 1 -timeout 15m ./...

# The protocol adapter's fuzz tests, bounded (their seeds also run above).
echo "== fuzz FuzzJSON11 (10s)"
go test -run '^$' -fuzz '^FuzzJSON11$' -fuzztime 10s ./internal/api
echo "== fuzz FuzzCBOR (10s)"
go test -run '^$' -fuzz '^FuzzCBOR$' -fuzztime 10s ./internal/api

# The examples drive `inferscale serve` end to end with the aws CLI and
# boto3 (a couple of minutes each on 2 cores for the recommender, seconds
# for hosting, 3.5 minutes for autoscaling in real time).
echo "== examples/hosting-cli.sh"
./examples/hosting-cli.sh

echo "== examples/hosting_boto3.py"
python3 ./examples/hosting_boto3.py

# Real time, AWS's default alarms: about 3.5 minutes.
echo "== examples/autoscaling-cli.sh"
./examples/autoscaling-cli.sh

echo "== examples/recommend-cli.sh"
./examples/recommend-cli.sh

echo "== examples/recommend_boto3.py"
python3 ./examples/recommend_boto3.py
