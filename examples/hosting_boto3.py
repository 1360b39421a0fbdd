#!/usr/bin/env python3
"""SageMaker hosting with boto3 against `inferscale serve`.

Builds inferscale, starts the server on a free loopback port with a fresh
data directory, creates a model on the built-in sample model server, an
endpoint config with two variants and an endpoint; waits until it is in
service; invokes it; changes a variant's weight and instance count and
watches the number of real replica processes follow; reads the invocation
metrics with CloudWatch's GetMetricStatistics; deletes the endpoint:

    python3 examples/hosting_boto3.py     # about 20 seconds

Needs go and boto3. Exits non-zero when anything fails; the server and the
temporary files are removed either way.
"""

import datetime
import json
import os
import time

import inferscale_server
from inferscale_server import Failure

BODY = json.dumps({"instances": [[round(0.1 * (i % 10) - 0.45, 2) for i in range(64)]]})


def replicas(pid):
    """The model server processes that the server pid runs (its children)."""
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
        if ppid == pid and b"model-server" in args:
            n += 1
    return n


def wait_replicas(pid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while replicas(pid) != want:
        if time.monotonic() > deadline:
            raise Failure("%d replica processes run, want %d" % (replicas(pid), want))
        time.sleep(0.1)
    print("replica processes: %d" % want)


def variants(sm, name):
    return {v["VariantName"]: v for v in sm.describe_endpoint(EndpointName=name)["ProductionVariants"]}


def flow(server):
    sm, runtime, cw = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("cloudwatch")
    pid = server.process.pid

    print("== create a model on the sample model server (a small MLP)")
    print(sm.create_model(
        ModelName="sample-mlp", ExecutionRoleArn="arn:aws:iam::123456789012:role/inferscale-example",
        PrimaryContainer={"Image": "inferscale/sample-model:latest", "Environment": {"INFERSCALE_MODEL": "mlp"}},
    )["ModelArn"])

    print("== create an endpoint config with two variants, and the endpoint")
    sm.create_endpoint_config(EndpointConfigName="sample-config", ProductionVariants=[
        {"VariantName": "blue", "ModelName": "sample-mlp", "InstanceType": "ml.c5.large",
         "InitialInstanceCount": 1, "InitialVariantWeight": 3},
        {"VariantName": "green", "ModelName": "sample-mlp", "InstanceType": "ml.c5.large",
         "InitialInstanceCount": 1, "InitialVariantWeight": 1},
    ])
    print(sm.create_endpoint(EndpointName="sample-endpoint", EndpointConfigName="sample-config")["EndpointArn"])

    print("== wait until it is in service")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="sample-endpoint", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for name, v in variants(sm, "sample-endpoint").items():
        print("%-6s weight %.0f, %d instance(s)" % (name, v["CurrentWeight"], v["CurrentInstanceCount"]))
    wait_replicas(pid, 2)

    print("== invoke it 20 times")
    counts = {}
    for _ in range(20):
        r = runtime.invoke_endpoint(EndpointName="sample-endpoint", Body=BODY,
                                    ContentType="application/json", Accept="application/json")
        counts[r["InvokedProductionVariant"]] = counts.get(r["InvokedProductionVariant"], 0) + 1
        response = r["Body"].read()
    print("response: %s" % response.decode()[:120])
    print("variants invoked: %s" % counts)
    r = runtime.invoke_endpoint(EndpointName="sample-endpoint", Body=BODY, TargetVariant="green",
                                ContentType="application/json")
    if r["InvokedProductionVariant"] != "green":
        raise Failure("TargetVariant green was not honoured: %s" % r["InvokedProductionVariant"])

    print("== scale blue to 3 instances and send it all the traffic")
    sm.update_endpoint_weights_and_capacities(EndpointName="sample-endpoint", DesiredWeightsAndCapacities=[
        {"VariantName": "blue", "DesiredWeight": 1, "DesiredInstanceCount": 3},
        {"VariantName": "green", "DesiredWeight": 0},
    ])
    wait_replicas(pid, 4)
    sm.get_waiter("endpoint_in_service").wait(EndpointName="sample-endpoint", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    v = variants(sm, "sample-endpoint")
    if v["blue"]["CurrentInstanceCount"] != 3 or v["green"]["CurrentWeight"] != 0:
        raise Failure("after the update: %s" % v)

    print("== scale blue back to 1")
    sm.update_endpoint_weights_and_capacities(EndpointName="sample-endpoint", DesiredWeightsAndCapacities=[
        {"VariantName": "blue", "DesiredInstanceCount": 1}])
    wait_replicas(pid, 2)

    print("== invocation metrics from CloudWatch")
    now = datetime.datetime.now(datetime.timezone.utc)
    total = 0
    for variant in ("blue", "green"):
        dims = [{"Name": "EndpointName", "Value": "sample-endpoint"}, {"Name": "VariantName", "Value": variant}]
        stats = cw.get_metric_statistics(
            Namespace="AWS/SageMaker", MetricName="Invocations", Dimensions=dims,
            StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
            Period=600, Statistics=["Sum"])
        n = sum(dp["Sum"] for dp in stats["Datapoints"])
        print("%-6s Invocations %d" % (variant, n))
        total += n
        # CloudWatch takes Statistics or ExtendedStatistics, not both.
        window = dict(Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=dims,
                      StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
                      Period=600)
        basic = cw.get_metric_statistics(Statistics=["Average", "Maximum"], **window)["Datapoints"]
        pct = cw.get_metric_statistics(ExtendedStatistics=["p99"], **window)["Datapoints"]
        for dp, p in zip(basic, pct):
            print("%-6s ModelLatency average %.0f us, p99 %.0f us, max %.0f us" % (
                variant, dp["Average"], p["ExtendedStatistics"]["p99"], dp["Maximum"]))
    if total != 21:
        raise Failure("CloudWatch counts %d invocations, want 21" % total)

    print("== delete the endpoint")
    sm.delete_endpoint(EndpointName="sample-endpoint")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="sample-endpoint", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    wait_replicas(pid, 0)


def main():
    with inferscale_server.running("hosting_boto3") as server:
        flow(server)
        print("OK: the hosting flow ran against inferscale serve")


if __name__ == "__main__":
    main()
