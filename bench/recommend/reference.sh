#!/usr/bin/env bash
# Accuracy of the recommender against ground truth: the reference model's
# capacity is exactly slots / service time. For several capacities this runs
# `inferscale recommend` (a Default job, default tuning) and prints the
# measured MaxInvocations next to the true capacity.
#
#   bench/recommend/reference.sh            # 4 capacities, about 2 minutes
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/inferscale" ./cmd/inferscale
cat > "$work/catalog.json" <<'JSON'
{"instanceTypes": [{"name": "bench.1cpu", "vcpu": 1, "memoryGiB": 2, "pricePerHour": {"us-east-1": 0.05}}]}
JSON

printf '%-8s %-8s %14s %16s %9s %14s\n' slots service "true inv/min" "MaxInvocations" error "latency p50"
for spec in "2 20ms" "4 10ms" "8 10ms" "16 5ms"; do
  set -- $spec
  slots=$1 service=$2
  "$work/inferscale" recommend --sample-model reference \
    --model-env INFERSCALE_REFERENCE_SLOTS="$slots" --model-env INFERSCALE_REFERENCE_SERVICE_TIME="$service" \
    --catalog "$work/catalog.json" --instance-types bench.1cpu --job-name ref \
    --output json > "$work/out.json" 2> "$work/err.log" || { cat "$work/err.log"; exit 1; }
  python3 - "$slots" "$service" "$work/out.json" <<'PY'
import json, sys
slots, service, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
secs = float(service[:-2]) / 1000
truth = slots / secs * 60
m = json.load(open(path))["InferenceRecommendations"][0]["Metrics"]
err = 100 * (m["MaxInvocations"] - truth) / truth
print(f'{slots:<8} {service:<8} {truth:>14.0f} {m["MaxInvocations"]:>16} {err:>+8.2f}% {m["ModelLatency"]/1000:>11.2f} ms')
PY
done
