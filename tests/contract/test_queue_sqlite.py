"""The queue contract on the SQLite queue, plus what only a file-backed queue must prove:
several OS processes and threads sharing one file never hold the same message at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from shared.adapters.sqlite_queue import QueueClosedError, SqliteQueue
from shared.errors import InvalidInput, TubeqError
from shared.ports import Queue
from shared.settings import Settings
from tests.contract.queue_contract import LEASE_S, QueueContract, job, pull_one

START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class SqliteHarness:
    folder: Path
    clock: FakeClock = field(default_factory=FakeClock)
    carries_errors: bool = True
    splits_backlog: bool = True
    supports_extend: bool = True
    made: int = 0

    def make(self, max_retries: int = 3) -> SqliteQueue:
        self.made += 1
        path = self.folder / f"queue-{self.made}.sqlite3"
        return SqliteQueue(path, max_retries=max_retries, clock=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds

    def put_raw(self, queue: Queue, body: Any) -> None:
        assert isinstance(queue, SqliteQueue)
        with sqlite3.connect(queue.path) as raw:
            raw.execute(
                "INSERT INTO messages (id, body, enqueued_at, visible_at) VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, json.dumps(body), self.clock.now, self.clock.now),
            )
        raw.close()


class TestSqliteQueue(QueueContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SqliteHarness:
        return SqliteHarness(tmp_path)


# ---- SQLite only ------------------------------------------------------------------------


@pytest.fixture
def harness(tmp_path: Path) -> SqliteHarness:
    return SqliteHarness(tmp_path)


def test_messages_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    first = SqliteQueue(path)
    first.send([job(1)])
    first.close()
    again = SqliteQueue(path)  # schema creation is idempotent
    try:
        assert pull_one(again).body == job(1)
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        raw.close()
    finally:
        again.close()


def test_from_settings_creates_the_folder_and_uses_max_retries(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "deep" / "data", max_retries=0)
    queue = SqliteQueue.from_settings(settings.sqlite_queue)
    try:
        assert settings.queue_file.exists()
        queue.send([job(1)])
        queue.retry(pull_one(queue), delay_s=0, error="x")
        assert len(queue.dead_letters()) == 1  # max_retries=0 came through
    finally:
        queue.close()


def test_ack_after_expiry_with_no_new_lease_still_deletes(harness: SqliteHarness) -> None:
    # Nobody else holds the message, so finishing late is still finishing (documented).
    queue = harness.make()
    queue.send([job(1)])
    late = pull_one(queue)
    harness.advance(LEASE_S * 2)
    queue.ack([late])
    assert queue.pull(10, LEASE_S) == []
    assert queue.stats().backlog == 0


@pytest.mark.parametrize(
    ("body", "listed"),
    [
        (json.dumps({"kind": 7, "body": "x"}), {"kind": 7, "body": "x"}),
        (json.dumps([1, 2]), {"raw": [1, 2]}),
        ("not json", {"raw": "not json"}),
    ],
)
def test_a_body_that_is_no_envelope_is_dead_lettered_not_redelivered(
    harness: SqliteHarness, body: str, listed: object
) -> None:
    queue = harness.make()
    queue.send([job(1)])
    # Simulate a message no version of tubeq wrote: not even a job envelope.
    with sqlite3.connect(queue.path) as raw:
        raw.execute("UPDATE messages SET body = ?", (body,))
    raw.close()
    assert queue.pull(10, LEASE_S) == []
    (dead,) = queue.dead_letters()
    assert dead.body == listed
    assert dead.last_error is not None and "not a tubeq job envelope" in dead.last_error
    queue.close()


def test_dead_letter_of_a_stale_lease_is_ignored(harness: SqliteHarness) -> None:
    queue = harness.make()
    queue.send([job(1)])
    old = pull_one(queue)
    harness.advance(LEASE_S + 1)
    pull_one(queue)
    queue.dead_letter(old, "late consumer")
    assert queue.dead_letters() == [] and queue.stats().in_flight == 1
    queue.close()


def test_expired_lease_dead_letter_keeps_the_last_retry_error(harness: SqliteHarness) -> None:
    queue = harness.make(max_retries=1)
    queue.send([job(1)])
    queue.retry(pull_one(queue), delay_s=0, error="HTTP 503 from upstream")
    pull_one(queue)  # the second and last delivery; its consumer dies
    harness.advance(LEASE_S + 1)
    assert queue.pull(10, LEASE_S) == []
    (dead,) = queue.dead_letters()
    assert dead.last_error is not None
    assert "without an ack or retry" in dead.last_error
    assert "HTTP 503 from upstream" in dead.last_error
    queue.close()


@pytest.mark.parametrize(("batch_size", "lease_s"), [(0, 30.0), (101, 30.0), (1, 0.0)])
def test_pull_rejects_bad_arguments(
    harness: SqliteHarness, batch_size: int, lease_s: float
) -> None:
    queue = harness.make()
    with pytest.raises(InvalidInput):
        queue.pull(batch_size, lease_s)
    queue.close()


def test_closed_queue_says_so(harness: SqliteHarness) -> None:
    queue = harness.make()
    queue.close()
    with pytest.raises(QueueClosedError, match="closed"):
        queue.stats()


def test_unusable_path_is_a_tubeq_error(tmp_path: Path) -> None:
    with pytest.raises(TubeqError):
        SqliteQueue(tmp_path)  # a directory, not a database file


# ---- several consumers on one file -------------------------------------------------------

N_MESSAGES = 200


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def drain(path: str, start: Barrier, out: str | None = None) -> list[str]:
    """Pull and ack until nothing is ready; returns the message ids this consumer got."""
    queue = SqliteQueue(Path(path))
    start.wait(30)  # every consumer opens the file first, then all pull at once
    got: list[str] = []
    try:
        # Leases are long (60 s) and every message was sent before the start, so an empty
        # pull means every message is acked or leased by another consumer.
        while batch := queue.pull(7, 60):
            got.extend(d.message_id for d in batch)
            time.sleep(0.01)  # hold the lease while "working", so consumers overlap
            queue.ack(batch)
    finally:
        queue.close()
    if out is not None:
        Path(out).write_text(json.dumps(got))
    return got


def _fill(path: Path) -> set[str]:
    queue = SqliteQueue(path)
    queue.send([job(i) for i in range(N_MESSAGES)])
    queue.close()
    with sqlite3.connect(path) as raw:
        ids = {row[0] for row in raw.execute("SELECT id FROM messages")}
    raw.close()
    assert len(ids) == N_MESSAGES
    return ids


def _assert_each_once(expected: set[str], per_consumer: list[list[str]]) -> None:
    everything = [m for got in per_consumer for m in got]
    assert len(everything) == len(set(everything)), "a message was leased to two consumers"
    assert set(everything) == expected
    # Proof the consumers really ran side by side (else the test proves nothing).
    assert sum(1 for got in per_consumer if got) >= 2, [len(got) for got in per_consumer]


def test_processes_never_share_a_lease(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    expected = _fill(path)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    outs = [tmp_path / f"out-{i}.json" for i in range(3)]
    procs = [
        ctx.Process(target=drain, args=(str(path), start, str(out)), daemon=True) for out in outs
    ]
    for proc in procs:
        proc.start()
    start.wait(30)
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0, f"consumer process failed with exit code {proc.exitcode}"
    _assert_each_once(expected, [json.loads(out.read_text()) for out in outs])


def test_threads_never_share_a_lease(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    expected = _fill(path)
    start = threading.Barrier(4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(drain, str(path), start) for _ in range(4)]
        results = [f.result(timeout=60) for f in futures]
    _assert_each_once(expected, results)


def test_threads_share_one_queue_object(tmp_path: Path) -> None:
    # The consumer's thread pool uses one SqliteQueue: each thread needs its own connection.
    queue = SqliteQueue(tmp_path / "q.sqlite3")
    queue.send([job(i) for i in range(60)])

    def work() -> list[str]:
        got: list[str] = []
        while batch := queue.pull(3, 60):
            got.extend(d.body.video_id for d in batch)
            queue.ack(batch)
        return got

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [f.result(timeout=60) for f in [pool.submit(work) for _ in range(4)]]
    everything = [v for got in results for v in got]
    assert sorted(everything) == sorted(job(i).video_id for i in range(60))
    assert queue.stats().backlog == 0
    queue.close()
