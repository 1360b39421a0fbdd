#!/usr/bin/env bash
# The Inference Recommender flow with the aws CLI against `inferscale serve`:
# build inferscale, start the server on a free loopback port with a fresh
# data directory, register the built-in sample model as a model package,
# run a Default and an Advanced recommendation job, list the steps, get a
# scaling configuration, print the results, and stop the server.
#
#   examples/recommend-cli.sh            # about 2 minutes on 2 cores
#
# Needs go, the aws CLI and python3. Exits non-zero when anything fails; the
# server and the temporary files are removed either way.
. "$(dirname "$0")/serve.sh"

# Prices for two 1-vCPU instance types (the default catalog has none for
# them); a file like this adds your own types and prices.
cat >"$work/prices.json" <<'EOF'
{"instanceTypes": [
  {"name": "ml.c8g.medium", "pricePerHour": {"us-east-1": 0.0398}},
  {"name": "ml.m8g.medium", "pricePerHour": {"us-east-1": 0.0449}}
]}
EOF

# Short benchmarks (1 s warm-up, 2 s load levels, 3 s confirmation) keep
# the example quick; the defaults measure more steadily.
start_server --catalog "$work/prices.json" \
	--warmup 1s --level-duration 2s --confirm-duration 3s

sm() { aws --endpoint-url "http://$addr" sagemaker "$@"; }

echo "== sample payloads"
# Request bodies for the sample model (an MLP taking 64 values), packed as
# SageMaker expects them: a tar.gz with one request per file.
mkdir "$work/payloads"
python3 - "$work/payloads" <<'EOF'
import json, random, sys
rng = random.Random(7)
for i in range(4):
    with open(f"{sys.argv[1]}/request-{i}.json", "w") as f:
        json.dump({"instances": [[round(rng.uniform(-1, 1), 4) for _ in range(64)]]}, f)
EOF
tar -czf "$work/payloads.tar.gz" -C "$work/payloads" .

echo "== create the model package"
# --cli-input-json, because the aws CLI would read a top-level file:// value
# (--sample-payload-url file://...) as a file to load.
cat >"$work/package.json" <<EOF
{
  "ModelPackageName": "sample-mlp",
  "ModelPackageDescription": "inferscale's built-in sample model server",
  "SamplePayloadUrl": "file://$work/payloads.tar.gz",
  "InferenceSpecification": {
    "Containers": [{"Image": "inferscale/sample-model:latest", "Environment": {"INFERSCALE_MODEL": "mlp"}}],
    "SupportedContentTypes": ["application/json"],
    "SupportedResponseMIMETypes": ["application/json"],
    "SupportedRealtimeInferenceInstanceTypes": ["ml.c8g.medium", "ml.m8g.medium"]
  }
}
EOF
package_arn=$(sm create-model-package --cli-input-json "file://$work/package.json" --query ModelPackageArn --output text)
echo "$package_arn"

role=arn:aws:iam::123456789012:role/inferscale-example

echo "== create a Default job (instance types from the package)"
sm create-inference-recommendations-job --job-name sample-default --job-type Default --role-arn "$role" \
	--input-config "{\"ModelPackageVersionArn\": \"$package_arn\"}" --query JobArn --output text

echo "== create an Advanced job (PHASES, a P95 threshold, two types, two worker counts)"
cat >"$work/advanced.json" <<EOF
{
  "ModelPackageVersionArn": "$package_arn",
  "TrafficPattern": {"TrafficType": "PHASES", "Phases": [{"InitialNumberOfUsers": 1, "SpawnRate": 30, "DurationInSeconds": 10}]},
  "EndpointConfigurations": [
    {"InstanceType": "ml.c8g.medium", "EnvironmentParameterRanges": {"CategoricalParameterRanges": [{"Name": "SAGEMAKER_MODEL_SERVER_WORKERS", "Value": ["1", "2"]}]}},
    {"InstanceType": "ml.m8g.medium", "EnvironmentParameterRanges": {"CategoricalParameterRanges": [{"Name": "SAGEMAKER_MODEL_SERVER_WORKERS", "Value": ["1", "2"]}]}}
  ]
}
EOF
sm create-inference-recommendations-job --job-name sample-advanced --job-type Advanced --role-arn "$role" \
	--input-config "file://$work/advanced.json" \
	--stopping-conditions '{"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]}' \
	--query JobArn --output text

sm list-inference-recommendations-jobs --query 'InferenceRecommendationsJobs[].[JobName,JobType,Status]' --output table

# wait_job NAME: poll until the job ends; succeed only if it COMPLETED.
wait_job() {
	local status=""
	for _ in $(seq 180); do
		status=$(sm describe-inference-recommendations-job --job-name "$1" --query Status --output text)
		case "$status" in
		COMPLETED) echo "$1: COMPLETED"; return 0 ;;
		FAILED | STOPPED)
			sm describe-inference-recommendations-job --job-name "$1" --query FailureReason --output text >&2
			fail "$1 ended $status" ;;
		esac
		sleep 1
	done
	fail "$1 still $status after 3 minutes"
}

echo "== wait for the jobs (they run one at a time)"
wait_job sample-default
wait_job sample-advanced

for job in sample-default sample-advanced; do
	echo "== $job: recommendations, best first"
	sm describe-inference-recommendations-job --job-name "$job" --output table --query \
		'InferenceRecommendations[].{Instance: EndpointConfiguration.InstanceType, Env: join(`,`, ModelConfiguration.EnvironmentParameters[].Value || `[]`), InvocationsPerMinute: Metrics.MaxInvocations, LatencyMicros: Metrics.ModelLatency, CpuPercent: Metrics.CpuUtilization, CostPerHour: Metrics.CostPerHour, Id: RecommendationId}'
	count=$(sm describe-inference-recommendations-job --job-name "$job" --query 'length(InferenceRecommendations[?Metrics.MaxInvocations > `0`])' --output text)
	want=2
	[ "$job" = sample-advanced ] && want=4
	[ "$count" = "$want" ] || fail "$job has $count recommendations with a throughput, want $want"
done

echo "== sample-advanced: steps"
sm list-inference-recommendations-job-steps --job-name sample-advanced --step-type BENCHMARK --output table \
	--query 'Steps[].[Status, InferenceBenchmark.EndpointConfiguration.InstanceType, InferenceBenchmark.ModelConfiguration.EnvironmentParameters[0].Value, InferenceBenchmark.Metrics.MaxInvocations]'

echo "== scaling configuration for the best Default recommendation"
best=$(sm describe-inference-recommendations-job --job-name sample-default --query 'InferenceRecommendations[0].RecommendationId' --output text)
sm get-scaling-configuration-recommendation --inference-recommendations-job-name sample-default \
	--recommendation-id "$best" --target-cpu-utilization-per-core 60 \
	--scaling-policy-objective MinInvocationsPerMinute=1000,MaxInvocationsPerMinute=200000 --output json
target=$(sm get-scaling-configuration-recommendation --inference-recommendations-job-name sample-default \
	--recommendation-id "$best" --query Metric.InvocationsPerInstance --output text)
[ "$target" -gt 0 ] || fail "no InvocationsPerInstance target"

echo "OK: the whole flow ran against inferscale serve"
