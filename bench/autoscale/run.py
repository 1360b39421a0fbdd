#!/usr/bin/env python3
"""Time from a 4x traffic step to the scale-out decision and to the new
replicas serving, on `inferscale serve` with the real clock.

    python3 bench/autoscale/run.py                 # about 12 minutes
    ROUNDS=1 python3 bench/autoscale/run.py

For each of two target-tracking policies, side by side on the same server
and model:
  standard     SageMakerVariantInvocationsPerInstance: AWS's default
               alarms, 3 of 3 one-minute datapoints above the target;
  high-res     SageMakerVariantConcurrentRequestsPerModelHighResolution:
               10-second datapoints (target: decision within 15 s).
an endpoint with one replica of the reference model (5 ms, 8 slots) takes
a steady open-loop load for 90 s, then 4x that load. The policy's target is
twice the baseline's metric, so the step asks for ceil(1 x 4 / 2) = 2
instances. Reported: the step's time to the scaling activity's StartTime
(the decision) and to the second replica in service (DescribeEndpoint's
CurrentInstanceCount), median over ROUNDS, and the ratio of the two
policies. Traffic goes to 127.0.0.1 only; the load is bounded in time.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BASE_RATE = float(os.environ.get("BASE_RATE", "100"))  # requests/s before the step
WARM = float(os.environ.get("WARM", "90"))  # seconds of baseline before the step
TIMEOUT = float(os.environ.get("TIMEOUT", "420"))  # seconds to wait for the scale-out
BODY = b'{"instances": [[1, 2, 3]]}'


def client(addr, service):
    return boto3.client(service, endpoint_url="http://" + addr, region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench",
                        config=Config(retries={"max_attempts": 1}))


def load(binary, addr, endpoint, rate, seconds, work):
    payload = os.path.join(work, "payload.json")
    with open(payload, "wb") as f:
        f.write(BODY)
    return subprocess.Popen(
        [binary, "loadtest", "--url", "http://%s/endpoints/%s/invocations" % (addr, endpoint),
         "--rate", str(rate), "--duration", "%ds" % seconds, "--payload", payload,
         "--content-type", "application/json", "--quiet", "--output", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def policy(kind, base_rate):
    if kind == "standard":
        # InvocationsPerInstance is per minute: the baseline's is 60 x rate.
        return {"TargetValue": 2 * 60 * base_rate,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
    # ConcurrentRequestsPerModel: rate x 5 ms by Little's law.
    return {"TargetValue": 2 * base_rate * 0.005,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}


def one_round(binary, addr, kind, n, work):
    sm, aas = client(addr, "sagemaker"), client(addr, "application-autoscaling")
    name = "%s-%d" % (kind, n)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "main", "ModelName": "reference", "InstanceType": "ml.c5.large",
        "InitialInstanceCount": 1, "InitialVariantWeight": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    resource = "endpoint/%s/variant/main" % name
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=4)
    aas.put_scaling_policy(PolicyName=kind, ServiceNamespace="sagemaker", ResourceId=resource,
                           ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration=policy(kind, BASE_RATE))
    base = load(binary, addr, name, BASE_RATE, WARM + TIMEOUT, work)
    time.sleep(WARM)
    step = time.time()
    surge = load(binary, addr, name, 3 * BASE_RATE, TIMEOUT, work)  # with the baseline: 4x
    decision = serving = None
    try:
        while time.time() - step < TIMEOUT and serving is None:
            if decision is None:
                acts = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingActivities"]
                outs = [a for a in acts if a["Description"].startswith("Setting desired instance count to")]
                if outs:
                    decision = min(a["StartTime"].timestamp() for a in outs) - step
            v = sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]
            if v.get("CurrentInstanceCount", 0) >= 2:
                serving = time.time() - step
            time.sleep(0.2)
    finally:
        for p in (base, surge):
            p.terminate()
            p.wait()
        sm.delete_endpoint(EndpointName=name)
    if decision is None or serving is None:
        raise SystemExit("%s round %d: no scale-out within %d s of the step" % (kind, n, TIMEOUT))
    return decision, serving


def main():
    work = tempfile.mkdtemp(prefix="inferscale-bench-autoscale-")
    server = None
    try:
        binary = os.path.join(work, "inferscale")
        subprocess.run(["go", "build", "-o", binary, "./cmd/inferscale"], cwd=ROOT, check=True)
        server = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(work, "data"), "--addr", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=open(os.path.join(work, "serve.log"), "w"), text=True)
        addr = server.stdout.readline().split()[-1]
        client(addr, "sagemaker").create_model(
            ModelName="reference", ExecutionRoleArn="arn:aws:iam::123456789012:role/bench",
            PrimaryContainer={"Image": "inferscale/sample-model", "Environment": {
                "INFERSCALE_MODEL": "reference", "INFERSCALE_REFERENCE_SERVICE_TIME": "5ms", "INFERSCALE_REFERENCE_SLOTS": "8"}})
        results = {"standard": [], "high-res": []}
        for n in range(ROUNDS):
            for kind in ("high-res", "standard"):
                d, s = one_round(binary, addr, kind, n, work)
                print("round %d %-9s decision %6.1f s, replicas serving %6.1f s" % (n + 1, kind, d, s), flush=True)
                results[kind].append((d, s))
        print("\n%-10s %14s %20s" % ("policy", "decision (s)", "replicas serving (s)"))
        med = {}
        for kind, rs in results.items():
            med[kind] = (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
            print("%-10s %14.1f %20.1f" % (kind, med[kind][0], med[kind][1]))
        print("%-10s %14.2f %20.2f" % ("std/hi-res", med["standard"][0] / med["high-res"][0], med["standard"][1] / med["high-res"][1]))
        verdict = "PASS" if med["high-res"][0] <= 15 else "FAIL"
        print("target: high-res decision <= 15 s: %s (%.1f s)" % (verdict, med["high-res"][0]))
        print(json.dumps({"rounds": ROUNDS, "base_rate": BASE_RATE, "results": results}))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
