#!/usr/bin/env bash
# SageMaker hosting with the aws CLI against `inferscale serve`: build
# inferscale, start the server on a free loopback port with a fresh data
# directory, create a model on the built-in sample model server, an endpoint
# config with two variants and an endpoint; wait until it is in service;
# invoke it; change a variant's weight and instance count and watch the
# number of real replica processes follow; read the invocation metrics
# with CloudWatch's get-metric-statistics; move the endpoint to a new
# config with update-endpoint (blue/green); delete the endpoint.
#
#   examples/hosting-cli.sh            # about 20 seconds
#
# Needs go and the aws CLI. Exits non-zero when anything fails; the server
# and the temporary files are removed either way.
. "$(dirname "$0")/serve.sh"
start_server

sm() { aws --endpoint-url "http://$addr" sagemaker "$@"; }
runtime() { aws --endpoint-url "http://$addr" sagemaker-runtime "$@"; }
cw() { aws --endpoint-url "http://$addr" cloudwatch "$@"; }
# replicas: the model server processes the server runs (its children).
replicas() { ps --no-headers --ppid "$server_pid" -o args | grep -c 'model-server' || true; }
# want_replicas N: wait up to 10 s for N replica processes.
want_replicas() {
	for _ in $(seq 100); do
		[ "$(replicas)" = "$1" ] && return
		sleep 0.1
	done
	fail "$(replicas) replica processes run, want $1"
}

echo "== create a model on the sample model server (a small MLP)"
sm create-model --model-name sample-mlp --execution-role-arn arn:aws:iam::123456789012:role/inferscale-example \
	--primary-container '{"Image": "inferscale/sample-model:latest", "Environment": {"INFERSCALE_MODEL": "mlp"}}' \
	--query ModelArn --output text

echo "== create an endpoint config with two variants, and the endpoint"
sm create-endpoint-config --endpoint-config-name sample-config --query EndpointConfigArn --output text --production-variants '[
  {"VariantName": "blue", "ModelName": "sample-mlp", "InstanceType": "ml.c5.large", "InitialInstanceCount": 1, "InitialVariantWeight": 3},
  {"VariantName": "green", "ModelName": "sample-mlp", "InstanceType": "ml.c5.large", "InitialInstanceCount": 1, "InitialVariantWeight": 1}]'
sm create-endpoint --endpoint-name sample-endpoint --endpoint-config-name sample-config --query EndpointArn --output text

echo "== wait until it is in service"
sm wait endpoint-in-service --endpoint-name sample-endpoint
sm describe-endpoint --endpoint-name sample-endpoint --output table \
	--query '{Status: EndpointStatus, Variants: ProductionVariants[].{Name: VariantName, Weight: CurrentWeight, Instances: CurrentInstanceCount}}'
[ "$(replicas)" = 2 ] || fail "$(replicas) replica processes run, want 2"

echo "== invoke it 20 times"
body='{"instances": [[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.1, 0.2, 0.3, 0.4]]}'
for i in $(seq 20); do
	runtime invoke-endpoint --endpoint-name sample-endpoint --content-type application/json --accept application/json \
		--body "$body" "$work/response.json" --query InvokedProductionVariant --output text >>"$work/variants.txt"
done
echo "response: $(cat "$work/response.json")"
echo "variants invoked: $(sort "$work/variants.txt" | uniq -c | tr '\n' ' ')"
runtime invoke-endpoint --endpoint-name sample-endpoint --target-variant green --content-type application/json \
	--body "$body" "$work/response.json" --query InvokedProductionVariant --output text | grep -qx green ||
	fail "TargetVariant green was not honoured"

echo "== scale blue to 3 instances and send it all the traffic"
sm update-endpoint-weights-and-capacities --endpoint-name sample-endpoint --query EndpointArn --output text \
	--desired-weights-and-capacities VariantName=blue,DesiredWeight=1,DesiredInstanceCount=3 VariantName=green,DesiredWeight=0
sm wait endpoint-in-service --endpoint-name sample-endpoint
want_replicas 4
sm describe-endpoint --endpoint-name sample-endpoint --output table \
	--query 'ProductionVariants[].{Name: VariantName, Weight: CurrentWeight, Current: CurrentInstanceCount, Desired: DesiredInstanceCount}'
echo "replica processes: $(replicas)"

echo "== scale blue back to 1"
sm update-endpoint-weights-and-capacities --endpoint-name sample-endpoint --query EndpointArn --output text \
	--desired-weights-and-capacities VariantName=blue,DesiredInstanceCount=1
want_replicas 2
echo "replica processes: $(replicas)"

echo "== invocation metrics from CloudWatch"
start=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
for variant in blue green; do
	cw get-metric-statistics --namespace AWS/SageMaker --metric-name Invocations \
		--dimensions Name=EndpointName,Value=sample-endpoint Name=VariantName,Value=$variant \
		--start-time "$start" --end-time "$end" --period 600 --statistics Sum --output text \
		--query "join(' ', ['$variant', 'Invocations', to_string(sum(Datapoints[].Sum))])"
done
total=$(for variant in blue green; do
	cw get-metric-statistics --namespace AWS/SageMaker --metric-name Invocations \
		--dimensions Name=EndpointName,Value=sample-endpoint Name=VariantName,Value=$variant \
		--start-time "$start" --end-time "$end" --period 600 --statistics Sum --query 'sum(Datapoints[].Sum)' --output text
done | awk '{s += $1} END {print s}')
[ "$total" = 21 ] || fail "CloudWatch counts $total invocations, want 21"
cw get-metric-statistics --namespace AWS/SageMaker --metric-name ModelLatency \
	--dimensions Name=EndpointName,Value=sample-endpoint Name=VariantName,Value=blue \
	--start-time "$start" --end-time "$end" --period 600 --statistics Average Maximum \
	--output table --query 'Datapoints[].{AverageMicros: Average, MaxMicros: Maximum}'
# Percentiles come from a call of their own: CloudWatch takes Statistics or
# ExtendedStatistics, not both.
cw get-metric-statistics --namespace AWS/SageMaker --metric-name ModelLatency \
	--dimensions Name=EndpointName,Value=sample-endpoint Name=VariantName,Value=blue \
	--start-time "$start" --end-time "$end" --period 600 --extended-statistics p50 p99 \
	--output table --query 'Datapoints[].{P50Micros: ExtendedStatistics.p50, P99Micros: ExtendedStatistics.p99}'
cw list-metrics --namespace AWS/SageMaker --dimensions Name=EndpointName,Value=sample-endpoint --output text \
	--query 'length(Metrics)' | grep -qv '^0$' || fail "list-metrics found nothing"

echo "== update the endpoint to a config with one variant (blue/green: the old replicas serve until the new one does)"
sm create-endpoint-config --endpoint-config-name sample-config-2 --query EndpointConfigArn --output text --production-variants '[
  {"VariantName": "single", "ModelName": "sample-mlp", "InstanceType": "ml.c5.large", "InitialInstanceCount": 1}]'
sm update-endpoint --endpoint-name sample-endpoint --endpoint-config-name sample-config-2 --query EndpointArn --output text
sm describe-endpoint --endpoint-name sample-endpoint --output table \
	--query '{Status: EndpointStatus, Config: EndpointConfigName, Pending: PendingDeploymentSummary.EndpointConfigName}'
sm wait endpoint-in-service --endpoint-name sample-endpoint
want_replicas 1
sm describe-endpoint --endpoint-name sample-endpoint --output text --query 'EndpointConfigName' | grep -qx sample-config-2 ||
	fail "the endpoint does not run sample-config-2"
runtime invoke-endpoint --endpoint-name sample-endpoint --content-type application/json \
	--body "$body" "$work/response.json" --query InvokedProductionVariant --output text | grep -qx single ||
	fail "the new variant did not answer"
echo "replica processes: $(replicas), variant: single"

echo "== delete the endpoint"
sm delete-endpoint --endpoint-name sample-endpoint
sm wait endpoint-deleted --endpoint-name sample-endpoint
[ "$(replicas)" = 0 ] || fail "$(replicas) replica processes still run"

echo "OK: the hosting flow ran against inferscale serve"
