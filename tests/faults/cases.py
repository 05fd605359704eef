"""The fault cases. Each takes a work folder and its sizes, and returns a ``CaseResult``.

Every loop is bounded in count and time; every process, server and mount a case starts is
stopped in its ``finally``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.faults.gemini import FaultGemini
from tests.faults.harness import (
    CaseResult,
    Rig,
    local_keys,
    measure,
    postgres_results,
    sqlite_results,
)
from tests.support.postgres import PgCluster, _as_unprivileged, find_pg_bin
from tests.support.services import free_port


@contextlib.contextmanager
def _rig(name: str, root: Path, latency_s: tuple[float, float] = (0.15, 0.6)) -> Iterator[Rig]:
    root.mkdir(parents=True, exist_ok=True)
    gemini = FaultGemini(latency_s)
    gemini.start()
    rig = Rig(name=name, root=root, gemini=gemini)
    rig.results = sqlite_results(root / "data" / "results.sqlite3")
    rig.artifact_keys = local_keys(root / "data" / "artifacts")
    try:
        yield rig
    finally:
        with contextlib.suppress(Exception):
            rig.stop_all()
        gemini.stop()


def _finish(rig: Rig, faults: str, started: float, drain_s: float) -> CaseResult:
    rig.wait_drained(drain_s)
    rig.stop_all()
    handed = len(rig.log_events("message.handed_back"))
    retried = sum(1 for e in rig.log_events("message.failed") if e.get("action") == "retry")
    rig.notes.append(f"handed back {handed}x (no attempt spent), retried {retried}x")
    return measure(rig, faults, started)


def _wait_acked(rig: Rig, count: int, timeout: float = 60) -> None:
    """Until ``count`` messages left the queue (work is under way), at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left, _ = rig.queue_counts()
        if 0 <= left <= len(rig.video_ids) - count:
            return
        time.sleep(0.1)
    rig.problems.append(f"fewer than {count} videos done within {timeout:g} s")


# ---- kills -----------------------------------------------------------------------------


def sigkills(root: Path, videos: int, max_kills: int, budget_s: float) -> CaseResult:
    started = time.monotonic()
    rng = random.Random(9)
    with _rig("SIGKILL x2 consumers", root, (0.3, 1.0)) as rig:
        rig.env_extra["TUBEQ_CONCURRENCY"] = "2"  # slower, so the kills fall all along
        rig.make_videos("kil", videos)
        rig.enqueue()
        up_since = {id(rig.start()): time.monotonic(), id(rig.start()): time.monotonic()}
        deadline = time.monotonic() + budget_s
        while len(rig.killed) < max_kills and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.8, 2.5))
            if rig.queue_counts()[0] == 0:
                break
            rig.reap()
            ready = [c for c in rig.consumers if time.monotonic() - up_since.get(id(c), 0) > 1.5]
            if ready:
                rig.sigkill(rng.choice(ready))
            while len(rig.consumers) < 2:
                up_since[id(rig.start())] = time.monotonic()
        kills = len(rig.killed)
        rig.notes.append(f"{kills} kills at 0.8-2.5 s intervals of a consumer up >= 1.5 s")
        return _finish(rig, f"{kills} SIGKILL", started, drain_s=120)


def sigterms(root: Path, videos: int, rounds: int) -> CaseResult:
    started = time.monotonic()
    with _rig("SIGTERM x2 consumers", root) as rig:
        rig.make_videos("trm", videos)
        rig.enqueue()
        rig.start()
        rig.start()
        done = 0
        for _ in range(rounds):
            time.sleep(1.5)
            if rig.queue_counts()[0] == 0:
                break
            rig.reap()
            code = rig.sigterm(rig.consumers[0])
            done += 1
            if code != 0:
                rig.problems.append(f"a SIGTERMed consumer exited {code}, not 0")
            rig.start()
        return _finish(rig, f"{done} SIGTERM", started, drain_s=90)


# ---- store outages -------------------------------------------------------------------------


@dataclass
class _Pg:
    cluster: PgCluster

    def ctl(self, action: str) -> None:
        c = self.cluster
        args = [str(c.bin_dir / "pg_ctl"), "-D", str(c.data_dir), "-w", "-t", "60"]
        if action == "stop":
            args += ["-m", "fast", "stop"]
        else:
            options = f"-c listen_addresses=127.0.0.1 -p {c.port} -k {c.root}"
            args += ["-o", options, "-l", str(c.root / "server.log"), "start"]
        subprocess.run([*c.prefix, *args], check=True, capture_output=True, timeout=90)


@contextlib.contextmanager
def _postgres() -> Iterator[tuple[_Pg, str]]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found (make services)")
    prefix, uid = _as_unprivileged()
    root = Path(f"/tmp/tq-faults-pg-{uuid.uuid4().hex[:8]}")
    root.mkdir()
    if uid is not None:
        os.chown(root, uid, -1)
    cluster = PgCluster(bin_dir, root, free_port(), prefix)
    try:
        cluster.start()
        cluster.build_template()
        yield _Pg(cluster), cluster.dsn(cluster.create_database())
    finally:
        cluster.stop()


def _outage(rig: Rig, hold_s: float, stop: Callable[[], None], start: Callable[[], None]) -> None:
    """Stop a server once work is under way, keep it down ``hold_s``, start it again."""
    _wait_acked(rig, max(5, len(rig.video_ids) // 8))
    stop()
    try:
        time.sleep(hold_s)
        rig.reap()
        alive = len(rig.consumers)
        if alive < 2:
            rig.problems.append(f"{2 - alive} consumer(s) exited during the outage: {rig.exits}")
    finally:
        start()


def postgres_stop(root: Path, videos: int, hold_s: float) -> CaseResult:
    started = time.monotonic()
    with _postgres() as (pg, dsn), _rig(f"PostgreSQL down {hold_s:g} s", root, (0.3, 1.0)) as rig:
        rig.env_extra.update(
            TUBEQ_RESULTS_BACKEND="postgres",
            TUBEQ_DATABASE_URL=dsn,
            TUBEQ_DATABASE_TIMEOUT_S="5",
        )
        rig.results = postgres_results(dsn)
        rig.make_videos("pgs", videos)
        rig.enqueue()
        rig.start()
        rig.start()
        _outage(rig, hold_s, lambda: pg.ctl("stop"), lambda: pg.ctl("start"))
        return _finish(rig, f"Postgres stopped {hold_s:g} s", started, drain_s=240)


def s3_stop(root: Path, videos: int, hold_s: float) -> CaseResult:
    from moto.server import ThreadedMotoServer

    from tests.support.s3_servers import MOTO_KEY

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    port = free_port()
    servers = [ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)]
    servers[0].start()
    try:
        with _rig(f"S3 (moto) down {hold_s:g} s", root, (0.3, 1.0)) as rig:
            from tests.support.s3_servers import S3Server

            s3 = S3Server(f"http://127.0.0.1:{port}", *MOTO_KEY, False, admin_region="us-east-1")
            bucket = s3.new_bucket("tq-faults")
            rig.env_extra.update(
                TUBEQ_ARTIFACTS_BACKEND="r2",
                TUBEQ_R2_ENDPOINT_URL=s3.endpoint_url,
                TUBEQ_R2_ACCESS_KEY_ID=s3.access_key_id,
                TUBEQ_R2_SECRET_ACCESS_KEY=s3.secret_access_key,
                TUBEQ_R2_BUCKET=bucket,
                TUBEQ_R2_CONNECT_TIMEOUT_S="2",
                TUBEQ_R2_READ_TIMEOUT_S="5",
            )
            rig.artifact_keys = lambda: _s3_keys(s3, bucket)
            rig.make_videos("sss", videos)
            rig.enqueue()
            rig.start()
            rig.start()

            def restart() -> None:
                server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                server.start()  # moto's objects live in this process: they survive
                servers.append(server)

            _outage(rig, hold_s, servers[0].stop, restart)
            return _finish(rig, f"S3 server stopped {hold_s:g} s", started, drain_s=240)
    finally:
        with contextlib.suppress(Exception):
            servers[-1].stop()


def _s3_keys(s3: Any, bucket: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.admin_client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def sqlite_locked(root: Path, videos: int, hold_s: float) -> CaseResult:
    started = time.monotonic()
    with _rig(f"SQLite locked {hold_s:g} s", root, (0.3, 1.0)) as rig:
        rig.make_videos("lck", videos)
        rig.enqueue()
        rig.start()
        rig.start()
        _wait_acked(rig, max(5, videos // 8))
        locks = []
        try:
            for path in sorted(rig.data_dir.glob("*.sqlite3")):
                db = sqlite3.connect(path, timeout=30, isolation_level=None)
                db.execute("BEGIN EXCLUSIVE")
                locks.append(db)
            names = ", ".join(p.name for p in sorted(rig.data_dir.glob("*.sqlite3")))
            rig.notes.append(f"BEGIN EXCLUSIVE held on {names}")
            time.sleep(hold_s)
        finally:
            for db in locks:
                db.rollback()
                db.close()
        return _finish(rig, f"{len(locks)} files locked {hold_s:g} s", started, drain_s=180)


def disk_full(root: Path, videos: int, hold_s: float) -> CaseResult:
    started = time.monotonic()
    data = root / "data"
    data.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(data)],
        capture_output=True,
        check=False,
    )
    try:
        with _rig(f"disk full {hold_s:g} s", root, (0.3, 1.0)) as rig:
            if mounted.returncode != 0:
                rig.problems.append(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
                return measure(rig, "not run", started)
            rig.notes.append("data dir (queue, results, journal, artifacts) on a 48 MiB tmpfs")
            rig.make_videos("dsk", videos)
            rig.enqueue()
            rig.start()
            rig.start()
            _wait_acked(rig, max(5, videos // 8))
            filler = data / "filler"
            _fill(filler)
            try:
                time.sleep(hold_s)
            finally:
                filler.unlink()
            return _finish(rig, f"disk full {hold_s:g} s", started, drain_s=180)
    finally:
        subprocess.run(["umount", "-l", str(data)], capture_output=True, check=False)


def _fill(path: Path) -> None:
    with path.open("wb", buffering=0) as fh:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                for _ in range(100_000):  # bounded: 48 MiB is reached long before
                    fh.write(b"\0" * size)


# ---- credentials and quotas ------------------------------------------------------------


def bad_key(root: Path, videos: int, restarts: int) -> CaseResult:
    """Odd runs: a wrong key, refused by the pre-flight. Even runs: the key passes the
    pre-flight but every analysis is refused (revoked in between). Each run must exit 4;
    then the key is fixed and the backlog finishes."""
    started = time.monotonic()
    with _rig("bad key, restarts", root) as rig:
        rig.make_videos("key", videos)
        rig.enqueue()
        for run in range(restarts):
            wrong = run % 2 == 0
            rig.gemini.mode = "ok" if wrong else "refuse"
            extra = {"TUBEQ_GEMINI_API_KEY": "AIzaWrongKey-faults-000000000"} if wrong else {}
            consumer = rig.start(**extra)
            try:
                code = consumer.proc.wait(45)
                rig.consumers.remove(consumer)
                rig.exits.append(code)
            except subprocess.TimeoutExpired:
                code = rig.sigterm(consumer)
                rig.problems.append(f"run {run}: still running after 45 s with a refused key")
            if code != 4:
                rig.problems.append(
                    f"run {run} ({'pre-flight' if wrong else 'mid-run'}): exit {code}"
                )
            rig.fast_forward_handed_back()
        with sqlite3.connect(rig.queue_path) as db:
            spent = db.execute("select coalesce(max(attempts), 0) from messages").fetchone()[0]
        rig.notes.append(
            f"{restarts} runs exited 4 ({rig.gemini.refused()} calls refused mid-run); "
            f"most attempts spent on one message: {spent}; held-back messages fast-forwarded"
        )
        if spent:
            rig.problems.append(f"refused keys spent attempts (max {spent})")
        rig.gemini.mode = "ok"
        rig.start()
        rig.start()
        return _finish(rig, f"{restarts} restarts, key refused", started, drain_s=90)


def rate_limit_storm(root: Path, videos: int, storm_s: float) -> CaseResult:
    started = time.monotonic()
    with _rig(f"429 storm {storm_s:g} s", root) as rig:
        rig.make_videos("rls", videos)
        rig.enqueue()
        rig.gemini.mode = "429"
        rig.start()
        rig.start()
        time.sleep(storm_s)
        rig.gemini.mode = "ok"
        result = _finish(rig, f"every call 429 for {storm_s:g} s", started, drain_s=120)
        result.notes.append(f"{rig.gemini.refused()} calls answered 429 (retryDelay 3s)")
        return result
