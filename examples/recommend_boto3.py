#!/usr/bin/env python3
"""The Inference Recommender flow with boto3 against `inferscale serve`.

Builds inferscale, starts the server on a free loopback port with a fresh
data directory, registers the built-in sample model as a model package,
runs a Default and an Advanced recommendation job, lists the steps, gets a
scaling configuration, prints the results and stops the server:

    python3 examples/recommend_boto3.py     # about 2 minutes on 2 cores

Needs go and boto3. Exits non-zero when anything fails; the server and the
temporary files are removed either way.
"""

import atexit
import io
import json
import os
import random
import tarfile
import tempfile
import time

import inferscale_server
from inferscale_server import Failure

ROLE = "arn:aws:iam::123456789012:role/inferscale-example"
# Prices for two 1-vCPU instance types (the default catalog has none for
# them); a file like this adds your own types and prices.
PRICES = {"instanceTypes": [
    {"name": "ml.c8g.medium", "pricePerHour": {"us-east-1": 0.0398}},
    {"name": "ml.m8g.medium", "pricePerHour": {"us-east-1": 0.0449}},
]}


def sample_payloads(path):
    """Request bodies for the sample model (an MLP taking 64 values), packed
    as SageMaker expects them: a tar.gz with one request per file."""
    rng = random.Random(7)
    with tarfile.open(path, "w:gz") as tar:
        for i in range(4):
            body = json.dumps({"instances": [[round(rng.uniform(-1, 1), 4) for _ in range(64)]]}).encode()
            info = tarfile.TarInfo("request-%d.json" % i)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def wait_job(sm, name, timeout=180):
    """Polls until the job ends; returns its description if it COMPLETED."""
    deadline = time.monotonic() + timeout
    while True:
        job = sm.describe_inference_recommendations_job(JobName=name)
        if job["Status"] == "COMPLETED":
            print("%s: COMPLETED" % name)
            return job
        if job["Status"] in ("FAILED", "STOPPED"):
            raise Failure("%s ended %s: %s" % (name, job["Status"], job.get("FailureReason", "")))
        if time.monotonic() > deadline:
            raise Failure("%s still %s after %d s" % (name, job["Status"], timeout))
        time.sleep(1)


def print_recommendations(job):
    print("== %s: recommendations, best first" % job["JobName"])
    print("%-14s %-4s %12s %11s %7s %9s  %s" % ("INSTANCE", "ENV", "INV/MINUTE", "LATENCY us", "CPU %", "$/HOUR", "ID"))
    for r in job["InferenceRecommendations"]:
        m = r["Metrics"]
        env = ",".join(p["Value"] for p in r["ModelConfiguration"].get("EnvironmentParameters", []))
        print("%-14s %-4s %12d %11d %7.1f %9.4f  %s" % (
            r["EndpointConfiguration"]["InstanceType"], env, m["MaxInvocations"], m["ModelLatency"],
            m.get("CpuUtilization", 0), m.get("CostPerHour", 0), r["RecommendationId"]))


def flow(sm, work):
    payloads = os.path.join(work, "payloads.tar.gz")
    sample_payloads(payloads)

    package = sm.create_model_package(
        ModelPackageName="sample-mlp",
        ModelPackageDescription="inferscale's built-in sample model server",
        SamplePayloadUrl="file://" + payloads,
        InferenceSpecification={
            "Containers": [{"Image": "inferscale/sample-model:latest", "Environment": {"INFERSCALE_MODEL": "mlp"}}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.c8g.medium", "ml.m8g.medium"],
        },
    )["ModelPackageArn"]
    print(package)

    print("== create a Default job (instance types from the package)")
    print(sm.create_inference_recommendations_job(
        JobName="sample-default", JobType="Default", RoleArn=ROLE,
        InputConfig={"ModelPackageVersionArn": package})["JobArn"])

    print("== create an Advanced job (PHASES, a P95 threshold, two types, two worker counts)")
    workers = {"CategoricalParameterRanges": [{"Name": "SAGEMAKER_MODEL_SERVER_WORKERS", "Value": ["1", "2"]}]}
    print(sm.create_inference_recommendations_job(
        JobName="sample-advanced", JobType="Advanced", RoleArn=ROLE,
        InputConfig={
            "ModelPackageVersionArn": package,
            "TrafficPattern": {"TrafficType": "PHASES", "Phases": [
                {"InitialNumberOfUsers": 1, "SpawnRate": 30, "DurationInSeconds": 10}]},
            "EndpointConfigurations": [
                {"InstanceType": "ml.c8g.medium", "EnvironmentParameterRanges": workers},
                {"InstanceType": "ml.m8g.medium", "EnvironmentParameterRanges": workers},
            ],
        },
        StoppingConditions={"ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}]},
    )["JobArn"])

    for j in sm.list_inference_recommendations_jobs(SortBy="Name", SortOrder="Ascending")["InferenceRecommendationsJobs"]:
        print("%-16s %-9s %s" % (j["JobName"], j["JobType"], j["Status"]))

    print("== wait for the jobs (they run one at a time)")
    default = wait_job(sm, "sample-default")
    advanced = wait_job(sm, "sample-advanced")
    for job, want in ((default, 2), (advanced, 4)):
        print_recommendations(job)
        got = sum(1 for r in job.get("InferenceRecommendations", []) if r["Metrics"]["MaxInvocations"] > 0)
        if got != want:
            raise Failure("%s has %d recommendations with a throughput, want %d" % (job["JobName"], got, want))

    print("== sample-advanced: steps")
    steps = []
    for page in sm.get_paginator("list_inference_recommendations_job_steps").paginate(
            JobName="sample-advanced", StepType="BENCHMARK", PaginationConfig={"PageSize": 2}):
        steps += page["Steps"]
    for s in steps:
        b = s["InferenceBenchmark"]
        env = ",".join(p["Value"] for p in b["ModelConfiguration"].get("EnvironmentParameters", []))
        print("%-10s %-14s workers=%s %d/minute" % (
            s["Status"], b["EndpointConfiguration"]["InstanceType"], env, b.get("Metrics", {}).get("MaxInvocations", 0)))
    if len(steps) != 4 or any(s["Status"] != "COMPLETED" for s in steps):
        raise Failure("steps of sample-advanced: %s" % [s["Status"] for s in steps])

    print("== scaling configuration for the best Default recommendation")
    best = default["InferenceRecommendations"][0]["RecommendationId"]
    scaling = sm.get_scaling_configuration_recommendation(
        InferenceRecommendationsJobName="sample-default", RecommendationId=best, TargetCpuUtilizationPerCore=60,
        ScalingPolicyObjective={"MinInvocationsPerMinute": 1000, "MaxInvocationsPerMinute": 200000})
    scaling.pop("ResponseMetadata", None)
    print(json.dumps(scaling, indent=2))
    if scaling["Metric"]["InvocationsPerInstance"] <= 0:
        raise Failure("no InvocationsPerInstance target")


def main():
    with inferscale_server.running(
            "recommend_boto3", "--catalog", prices_file(),
            # Short benchmarks (1 s warm-up, 2 s load levels, 3 s
            # confirmation) keep the example quick; the defaults measure
            # more steadily.
            "--warmup", "1s", "--level-duration", "2s", "--confirm-duration", "3s") as server:
        flow(server.client("sagemaker"), server.work)
        print("OK: the whole flow ran against inferscale serve")


def prices_file():
    """Writes PRICES to a temporary file and returns its path."""
    fd, path = tempfile.mkstemp(prefix="inferscale-prices-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(PRICES, f)
    atexit.register(os.remove, path)
    return path


if __name__ == "__main__":
    main()
