"""`tubeq consume` checks its services before it leases anything.

A refused credential found while processing used to cost every message it touched an
attempt (and a wrong Postgres password looked like an outage: the backlog went to the
DLQ and the consumer exited 0). Now a real consumer process with a wrong password or a
refused Gemini key exits 4 before the first pull, and the queue is untouched.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from consumer.main import EXIT_UNAVAILABLE, PreflightFailed, make_preflight
from consumer.pipeline import Outcome
from consumer.runner import Runner
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.classify import classify
from shared.doctor.common import failed, passed
from shared.doctor.result import CheckResult
from shared.errors import AccessDenied, ConfigError, UpstreamUnavailable
from shared.models import VideoJob
from shared.retry_policy import RetryPolicy
from shared.settings import Settings
from tests.integration.test_doctor import PW_WRONG, password_user  # noqa: F401 - fixture
from tests.support.gemini_stub import GeminiStub
from tests.support.postgres import PgCluster
from tests.support.services import free_port

pytestmark = pytest.mark.services

Check = Callable[[Settings], list[CheckResult]]
IDS = ["prefl000001", "prefl000002", "prefl000003"]


def tubeq(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    full_env.update(TUBEQ_DATA_DIR=str(tmp_path / "data"), TUBEQ_LOG_FORMAT="json", **env)
    return subprocess.run(
        [sys.executable, "-m", "tubeq", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
    )


def enqueue(tmp_path: Path) -> None:
    proc = tubeq(tmp_path, "enqueue", *IDS)
    assert proc.returncode == 0, proc.stderr


def queue_rows(tmp_path: Path) -> tuple[list[tuple[int, str | None]], int]:
    with sqlite3.connect(tmp_path / "data" / "queue.sqlite3") as db:
        rows = db.execute("select attempts, lease_id from messages order by seq").fetchall()
        dead = db.execute("select count(*) from dead_letters").fetchone()[0]
    return rows, dead


def assert_untouched(tmp_path: Path) -> None:
    rows, dead = queue_rows(tmp_path)
    assert rows == [(0, None)] * len(IDS)
    assert dead == 0


def test_wrong_postgres_password_exits_4_before_the_first_pull(
    tmp_path: Path,
    pg_cluster: PgCluster,
    password_user: str,  # noqa: F811
) -> None:
    enqueue(tmp_path)
    dsn = f"postgresql://{password_user}:{PW_WRONG}@127.0.0.1:{pg_cluster.port}/postgres"
    proc = tubeq(
        tmp_path, "consume", "--burst", TUBEQ_RESULTS_BACKEND="postgres", TUBEQ_DATABASE_URL=dsn
    )
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert "result-store: credentials accepted" in proc.stderr
    assert "password authentication failed" in proc.stderr
    assert "fix:" in proc.stderr and "TUBEQ_DATABASE_URL" in proc.stderr
    assert PW_WRONG not in proc.stderr + proc.stdout
    assert_untouched(tmp_path)


def test_refused_gemini_key_exits_4_before_the_first_pull(tmp_path: Path) -> None:
    enqueue(tmp_path)
    bad = "AIzaRefusedKey-preflight-0123456789"
    with GeminiStub() as gemini:
        proc = tubeq(
            tmp_path,
            "consume",
            "--burst",
            TUBEQ_ANALYZER_BACKEND="gemini",
            TUBEQ_GEMINI_API_KEY=bad,
            TUBEQ_GEMINI_BASE_URL=gemini.base_url,
        )
        assert gemini.requests == []  # nothing paid for
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert "gemini: key valid" in proc.stderr and "API key not valid" in proc.stderr
    assert bad not in proc.stderr + proc.stdout
    assert_untouched(tmp_path)


def test_healthy_services_let_the_consumer_run(tmp_path: Path) -> None:
    enqueue(tmp_path)
    with GeminiStub() as gemini:
        proc = tubeq(
            tmp_path,
            "consume",
            "--burst",
            "--max-messages",
            "1",
            TUBEQ_ANALYZER_BACKEND="gemini",
            TUBEQ_GEMINI_API_KEY=gemini.api_key,
            TUBEQ_GEMINI_BASE_URL=gemini.base_url,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "consumer.preflight_passed" in proc.stderr
    rows, _ = queue_rows(tmp_path)
    # one message pulled: acked (no transcript among the samples) or back with attempt 1
    assert len(IDS) - len(rows) + sum(attempts for attempts, _ in rows) == 1


# ---- the waiting policy, in process ----------------------------------------------------

DOWN = failed("result-store", "reachable", "connection refused", "start it", transient=True)
REFUSED = failed("gemini", "key valid", "API key not valid", "set TUBEQ_GEMINI_API_KEY")
UP = passed("result-store", "reachable")


def scripted(*rounds: list[CheckResult]) -> tuple[list[int], Check]:
    calls = [0]

    def check(_settings: Settings) -> list[CheckResult]:
        calls[0] += 1
        return rounds[min(calls[0], len(rounds)) - 1]

    return calls, check


def test_an_outage_at_start_is_waited_out() -> None:
    calls, check = scripted([DOWN], [DOWN], [UP])
    preflight = make_preflight(Settings(), wait_s=10, check=check)
    preflight(threading.Event())
    assert calls[0] == 3


def test_an_outage_that_lasts_exits_75_not_4(capsys: pytest.CaptureFixture[str]) -> None:
    _, check = scripted([DOWN])
    preflight = make_preflight(Settings(), wait_s=0.5, check=check)
    with pytest.raises(SystemExit) as exited:
        preflight(threading.Event())
    assert exited.value.code == EXIT_UNAVAILABLE
    assert "result-store: reachable" in capsys.readouterr().err


def test_a_refused_key_stops_at_once_even_during_an_outage() -> None:
    calls, check = scripted([DOWN, REFUSED])
    preflight = make_preflight(Settings(), wait_s=60, check=check)
    with pytest.raises(PreflightFailed, match="gemini: key valid"):
        preflight(threading.Event())
    assert calls[0] == 1


def test_a_signal_ends_the_wait() -> None:
    _, check = scripted([DOWN])
    stop = threading.Event()
    stop.set()
    make_preflight(Settings(), wait_s=60, check=check)(stop)


def test_the_runner_pulls_nothing_when_the_preflight_fails(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    results = SqliteResultStore(tmp_path / "r.sqlite3")
    queue.send([VideoJob(video_id=v) for v in IDS])

    def refuse(_stop: threading.Event) -> None:
        raise PreflightFailed("gemini: key valid — refused")

    def never(_job: VideoJob, _attempt: int) -> Outcome:
        raise AssertionError("nothing may be processed")

    runner = Runner(
        queue=queue, process=never, results=results, policy=RetryPolicy(), preflight=refuse
    )
    stats = runner.run(burst=True)
    assert stats.pulled == 0
    assert isinstance(runner.fatal, PreflightFailed)
    assert queue.stats().ready == len(IDS)
    queue.close()
    results.close()


# ---- classification of a refused Postgres login ------------------------------------------


def test_a_refused_postgres_login_is_access_denied_not_an_outage(
    pg_cluster: PgCluster,
    password_user: str,  # noqa: F811
) -> None:
    base = f"host=127.0.0.1 port={pg_cluster.port} connect_timeout=5"
    cases = {
        f"{base} user={password_user} password={PW_WRONG} dbname=postgres": AccessDenied,
        f"{base} user=tubeq_no_such_role dbname=postgres": AccessDenied,
        f"{base} user=postgres dbname=tubeq_no_such_db": ConfigError,
        f"host=127.0.0.1 port={free_port()} user=postgres connect_timeout=5": UpstreamUnavailable,
    }
    for dsn, expected in cases.items():
        with pytest.raises(psycopg.OperationalError) as caught:
            psycopg.connect(dsn).close()
        err = classify(caught.value)
        assert isinstance(err, expected), (dsn, err)
        assert err.systemic is (expected is not UpstreamUnavailable)
        assert PW_WRONG not in err.message
