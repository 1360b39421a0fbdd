#!/usr/bin/env bash
# Application Auto Scaling with the aws CLI against `inferscale serve`, in
# real time with AWS's default alarms: the commands of SageMaker's
# documentation, verbatim but for --endpoint-url. Build inferscale, start the
# server, host the sample model as endpoint my-endpoint (variant
# my-variant); register the variant as a scalable target, put the
# documentation's target-tracking policy (70 invocations per instance per
# minute), show the CloudWatch alarms it created; send 4 requests/s
# (240 a minute) and wait for the scale-out the formula predicts,
# ceil(1 × 240 / 70) = 4 instances, about 3 minutes later; then compare
# the policy with a CPU policy on a day of traffic with `inferscale
# simulate`.
#
#   examples/autoscaling-cli.sh          # about 4 minutes
#
# Needs go and the aws CLI. Exits non-zero when anything fails; the server,
# the load and the temporary files are removed either way.
. "$(dirname "$0")/serve.sh"
start_server

url="http://$addr"

echo "== host the sample model as my-endpoint"
aws --endpoint-url "$url" sagemaker create-model --model-name my-model \
	--execution-role-arn arn:aws:iam::123456789012:role/inferscale-example \
	--primary-container '{"Image": "inferscale/sample-model:latest", "Environment": {"INFERSCALE_MODEL": "mlp"}}' \
	--query ModelArn --output text
aws --endpoint-url "$url" sagemaker create-endpoint-config --endpoint-config-name my-config --query EndpointConfigArn --output text \
	--production-variants VariantName=my-variant,ModelName=my-model,InstanceType=ml.c5.large,InitialInstanceCount=1,InitialVariantWeight=1
aws --endpoint-url "$url" sagemaker create-endpoint --endpoint-name my-endpoint --endpoint-config-name my-config --query EndpointArn --output text
aws --endpoint-url "$url" sagemaker wait endpoint-in-service --endpoint-name my-endpoint

cd "$work"
echo "== register the variant as a scalable target (SageMaker's documentation)"
aws --endpoint-url "$url" application-autoscaling register-scalable-target \
	--service-namespace sagemaker \
	--scalable-dimension sagemaker:variant:DesiredInstanceCount \
	--resource-id endpoint/my-endpoint/variant/my-variant \
	--min-capacity 1 \
	--max-capacity 8

echo "== the documentation's target-tracking policy"
cat >config.json <<'EOF'
{"TargetValue": 70.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}, "ScaleInCooldown": 600, "ScaleOutCooldown": 300}
EOF
aws --endpoint-url "$url" application-autoscaling put-scaling-policy \
	--policy-name my-scaling-policy \
	--policy-type TargetTrackingScaling \
	--resource-id endpoint/my-endpoint/variant/my-variant \
	--service-namespace sagemaker \
	--scalable-dimension sagemaker:variant:DesiredInstanceCount \
	--target-tracking-scaling-policy-configuration file://config.json

echo "== the alarms it created"
aws --endpoint-url "$url" cloudwatch describe-alarms --alarm-name-prefix TargetTracking-endpoint/my-endpoint/ --output table \
	--query 'MetricAlarms[].{Name: AlarmName, Metric: MetricName, Stat: Statistic, Period: Period, Datapoints: EvaluationPeriods, Threshold: Threshold, State: StateValue}'

echo "== 4 requests/s for up to 6 minutes; waiting for the scale-out"
python3 -c 'import json; print(json.dumps({"instances": [[0.1] * 64]}))' >payload.json
"$work/inferscale" loadtest --url "$url/endpoints/my-endpoint/invocations" --rate 4 --duration 360s \
	--payload payload.json --content-type application/json --quiet >load.out 2>&1 &
load_pid=$!
extra_pids=$load_pid
start=$(date +%s)
desired=1
while [ "$desired" != 4 ]; do
	[ $(($(date +%s) - start)) -lt 330 ] || fail "no scale-out to 4 within 330 s (desired $desired)"
	sleep 5
	desired=$(aws --endpoint-url "$url" sagemaker describe-endpoint --endpoint-name my-endpoint \
		--query 'ProductionVariants[0].DesiredInstanceCount' --output text)
	printf '%4ds  desired %s, alarm %s\n' $(($(date +%s) - start)) "$desired" "$(aws --endpoint-url "$url" cloudwatch describe-alarms \
		--alarm-name-prefix TargetTracking-endpoint/my-endpoint/variant/my-variant-AlarmHigh --query 'MetricAlarms[0].StateValue' --output text)"
done
aws --endpoint-url "$url" sagemaker wait endpoint-in-service --endpoint-name my-endpoint
aws --endpoint-url "$url" application-autoscaling describe-scaling-activities --service-namespace sagemaker \
	--resource-id endpoint/my-endpoint/variant/my-variant --output table \
	--query 'ScalingActivities[].{Start: StartTime, Status: StatusCode, Description: Description}'
for _ in $(seq 100); do
	n=$(ps --no-headers --ppid "$server_pid" -o args | grep -c model-server || true)
	[ "$n" = 4 ] && break
	sleep 0.1
done
echo "replica processes: $n"
[ "$n" = 4 ] || fail "$n replica processes run, want 4"
kill -TERM "$load_pid"
wait "$load_pid" || true
extra_pids=""

echo "== compare it with a CPU policy on a day of traffic (inferscale simulate)"
cat >config-cpu.json <<'EOF'
{"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {
  "TargetValue": 50.0, "ScaleInCooldown": 600, "ScaleOutCooldown": 300,
  "CustomizedMetricSpecification": {"MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints",
    "Dimensions": [{"Name": "EndpointName", "Value": "my-endpoint"}, {"Name": "VariantName", "Value": "my-variant"}],
    "Statistic": "Average", "Unit": "Percent"}}}
EOF
# A day: quiet nights, a morning ramp, a lunch peak, an evening decline.
python3 -c '
import math
for m in range(1440):
    h = m / 60
    print(round(40 + 300 * max(0, math.sin(math.pi * (h - 6) / 14)) ** 2 + (200 if 12 <= h < 13 else 0)))
' >day.csv
# The first run reads the target's bounds and policies from the server, the
# second takes a policy from a file.
for policy in invocations cpu; do
	args=()
	[ "$policy" = cpu ] && args=(--policy config-cpu.json --min 1 --max 8)
	echo "-- $policy"
	"$work/inferscale" simulate --endpoint-url "$url" --trace day.csv --resource-id endpoint/my-endpoint/variant/my-variant "${args[@]}" \
		--max-invocations 600 --cpu-utilization 90 --setup-time 60s --cost-per-hour 0.115 --plot "$work/$policy.svg" | sed -n 1,2p # sed reads on: no SIGPIPE
done

echo "OK: the documented autoscaling commands ran against inferscale serve"
