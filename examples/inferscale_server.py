"""Runs `inferscale serve` for the boto3 examples.

    with inferscale_server.running("hosting_boto3") as server:
        sm = server.client("sagemaker")

builds inferscale, starts the server on a free loopback port with a fresh
data directory, and on the way out stops it, prints the end of its log if
the example failed, and removes the temporary files.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Failure(Exception):
    """An example's check failed."""


class Server:
    def __init__(self, process, addr, work):
        self.process = process
        self.addr = addr
        self.work = work

    def client(self, service):
        """A boto3 client for service on this server. Any credentials do:
        without --credentials the server checks no signature."""
        return boto3.client(
            service, endpoint_url="http://" + self.addr, region_name="us-east-1",
            aws_access_key_id="inferscale", aws_secret_access_key="inferscale",
            config=Config(retries={"max_attempts": 1}))


@contextlib.contextmanager
def running(example, *serve_args):
    """Yields a Server running `inferscale serve *serve_args`; exits the
    process with status 1 when the body raises."""
    work = tempfile.mkdtemp(prefix="inferscale-%s-" % example)
    process = None

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        binary = os.path.join(work, "inferscale")
        subprocess.run(["go", "build", "-o", binary, "./cmd/inferscale"], cwd=ROOT, check=True)
        log = open(os.path.join(work, "serve.log"), "w")
        process = subprocess.Popen(
            [binary, "serve", "--data-dir", os.path.join(work, "data"), "--addr", "127.0.0.1:0", *serve_args],
            stdout=subprocess.PIPE, stderr=log, text=True)
        line = process.stdout.readline()  # "listening on 127.0.0.1:PORT"
        if not line.startswith("listening on "):
            raise Failure("inferscale serve did not start: %r" % line)
        addr = line.split()[-1]
        print("listening on %s" % addr)
        yield Server(process, addr, work)
    except (Failure, subprocess.CalledProcessError, KeyboardInterrupt, Exception) as e:
        print("%s: %s: %s" % (example, type(e).__name__, e), file=sys.stderr)
        path = os.path.join(work, "serve.log")
        if os.path.exists(path):
            with open(path) as f:
                print("--- server log (last 40 lines)\n" + "".join(f.readlines()[-40:]), file=sys.stderr)
        sys.exit(1)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
