"""The runner when its surroundings fail: the queue, the result store, a key, a shutdown.

The queue and the store are the real SQLite adapters; faults are injected by patching one
method of a real adapter to raise (dramatiq's way), so everything else stays real.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumer.pipeline import Outcome
from consumer.runner import Runner, RunnerConfig
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_queue import SqliteQueue
from shared.adapters.sqlite_results import SqliteResultStore
from shared.errors import (
    AccessDenied,
    TranscriptsDisabled,
    UpstreamUnavailable,
)
from shared.models import Delivery, FailureRecord, VideoJob, VideoState
from shared.retry_policy import RetryPolicy
from tests.support.tiny_disk import fill, tmpfs


def jobs(n: int) -> list[VideoJob]:
    return [VideoJob(video_id=f"faultvid{i:03d}") for i in range(n)]


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    return SqliteQueue(tmp_path / "q.sqlite3")


@pytest.fixture
def results(tmp_path: Path) -> SqliteResultStore:
    return SqliteResultStore(tmp_path / "r.sqlite3")


def runner(
    queue: SqliteQueue,
    results: SqliteResultStore,
    process: object,
    **cfg: float,
) -> Runner:
    return Runner(
        queue=queue,
        process=process,  # type: ignore[arg-type]
        results=results,
        policy=RetryPolicy(base_s=1, cap_s=1, jitter=0, outage_delay_s=1),
        config=RunnerConfig(**{"concurrency": 2, "poll_interval_s": 0.02, **cfg}),  # type: ignore[arg-type]
    )


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: a disk that really fills up."""
    with tmpfs(tmp_path / "tiny", "256k") as where:
        yield where


def attempts_and_dead(queue: SqliteQueue) -> tuple[list[int], int]:
    with sqlite3.connect(queue.path) as db:
        attempts = [r[0] for r in db.execute("SELECT attempts FROM messages ORDER BY seq")]
        (dead,) = db.execute("SELECT count(*) FROM dead_letters").fetchone()
    return attempts, dead


def ok(job: VideoJob, attempt: int) -> Outcome:
    return Outcome.DONE


def test_a_queue_outage_pauses_the_consumer_instead_of_killing_it(
    queue: SqliteQueue, results: SqliteResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.send(jobs(3))
    real_pull = queue.pull
    outages = iter([True, True])

    def flaky_pull(batch_size: int, visibility_timeout_s: float) -> list[Delivery]:
        if next(outages, False):
            raise UpstreamUnavailable("simulated 502 from the queue API")
        return real_pull(batch_size, visibility_timeout_s)

    monkeypatch.setattr(queue, "pull", flaky_pull)
    stats = runner(queue, results, ok).run(burst=True, burst_wait_s=10)
    assert stats.done == 3 and queue.stats().backlog == 0


def test_a_store_outage_while_recording_a_failure_keeps_the_message(
    queue: SqliteQueue, results: SqliteResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permanent failure that cannot be recorded is not acked (it would vanish): it is
    retried with backoff, and recorded once the store is back."""
    queue.send(jobs(1))
    store_down = [True]
    real_record = results.record_failure

    def record(failure: FailureRecord) -> None:
        if store_down[0]:
            raise UpstreamUnavailable("simulated: postgres connection refused")
        real_record(failure)

    def disabled(job: VideoJob, attempt: int) -> Outcome:
        raise TranscriptsDisabled()

    monkeypatch.setattr(results, "record_failure", record)
    first = runner(queue, results, disabled).run(burst=True)
    assert (first.failed, first.retried) == (0, 1)
    assert queue.stats().delayed == 1  # kept, with a backoff delay (not its whole lease)

    store_down[0] = False
    second = runner(queue, results, disabled).run(burst=True, burst_wait_s=5)
    assert second.failed == 1 and queue.stats().backlog == 0
    video = results.get_video("faultvid000")
    assert video is not None and video.state is VideoState.FAILED


def test_a_refused_key_stops_the_consumer_and_keeps_the_backlog(
    queue: SqliteQueue, results: SqliteResultStore
) -> None:
    queue.send(jobs(6))
    calls = []

    def refused(job: VideoJob, attempt: int) -> Outcome:
        calls.append(job.video_id)
        raise AccessDenied("Gemini answered HTTP 403: API key not valid (TUBEQ_GEMINI_API_KEY)")

    r = runner(queue, results, refused, concurrency=1)
    stats = r.run()  # not burst: only the fatal error can end it
    assert r.fatal is not None and r.fatal.code == "access_denied"
    assert len(calls) == 1 and stats.failed == 0
    assert queue.stats().backlog == 6 and queue.stats().dead == 0  # nothing lost or failed
    assert results.failures() == []


def test_leases_are_still_extended_during_the_grace_period(
    queue: SqliteQueue, results: SqliteResultStore, tmp_path: Path
) -> None:
    queue.send(jobs(1))
    other = SqliteQueue(tmp_path / "q.sqlite3")
    started = threading.Event()

    def slow(job: VideoJob, attempt: int) -> Outcome:
        started.set()
        time.sleep(1.5)
        return Outcome.DONE

    r = runner(queue, results, slow, concurrency=1, visibility_timeout_s=0.4, shutdown_grace_s=10)
    thread = threading.Thread(target=r.run)
    thread.start()
    assert started.wait(5)
    r.stop()  # a SIGTERM: stop pulling, finish the video
    stolen = []
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        stolen += other.pull(1, 10)
        time.sleep(0.05)
    thread.join(10)
    assert stolen == [], "another consumer got a message that was still being worked on"
    assert r.stats.done == 1 and queue.stats().backlog == 0


# ---- store outages ---------------------------------------------------------------------


def test_a_result_store_outage_pauses_the_consumer_and_spends_no_attempts(
    queue: SqliteQueue, results: SqliteResultStore
) -> None:
    """The result store's file stays locked (another process holds the write lock past the
    busy timeout) for longer than four retries take: before, every message pulled failed in
    milliseconds and went to the DLQ while the store still said `queued`. Now the consumer
    pauses, hands the messages back without spending attempts, probes one message at a time,
    and finishes everything once the store is back, each video on its first attempt."""
    queue.send(jobs(6))
    results._db.execute("PRAGMA busy_timeout = 50")  # locked "past the busy timeout" sooner
    blocker = sqlite3.connect(results.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    seen: list[tuple[str, int]] = []

    def record(job: VideoJob, attempt: int) -> Outcome:
        seen.append((job.video_id, attempt))
        results.is_done(job.video_id, "v1")  # a read: works while the file is locked
        results.claim_analysis(job.video_id, "v1", "me", 60)  # a write: locked out
        return Outcome.DONE

    r = runner(queue, results, record, concurrency=3, outage_max_pause_s=0.5)
    thread = threading.Thread(target=r.run, kwargs={"burst": True, "burst_wait_s": 30})
    thread.start()
    time.sleep(6)  # 1 s retry delays: four retries would have dead-lettered everything
    during = len(seen)
    attempts, dead = attempts_and_dead(queue)
    blocker.execute("ROLLBACK")
    blocker.close()
    thread.join(60)
    assert not thread.is_alive()
    # 0, or 1 for the message a probe holds right now
    assert dead == 0 and max(attempts) <= 1, "the outage spent attempts"
    assert during <= 3 + 6 / 0.5 + 2, "pulled on at full speed through the outage"
    assert r.stats.done == 6 and r.stats.dead == 0 and r.stats.handed_back >= 3
    assert queue.stats().backlog == 0
    assert {attempt for _, attempt in seen} == {1}  # every video's first attempt, still
    assert results.failures() == []


def test_an_artifact_store_outage_is_handled_the_same_way(
    queue: SqliteQueue, results: SqliteResultStore, tiny_disk: Path
) -> None:
    """The local artifact folder's disk fills up (a real ENOSPC on a small tmpfs): an
    outage, not the videos' fault; once space is freed the consumer resumes by itself."""
    queue.send(jobs(2))
    store = LocalArtifactStore(tiny_disk / "artifacts")
    filler = fill(tiny_disk)

    def put(job: VideoJob, attempt: int) -> Outcome:
        store.put(f"{job.video_id}/analysis.md", b"x" * 4096, "text/markdown")
        return Outcome.DONE

    r = runner(queue, results, put, outage_max_pause_s=0.3)
    thread = threading.Thread(target=r.run, kwargs={"burst": True, "burst_wait_s": 30})
    thread.start()
    time.sleep(2)
    attempts, dead = attempts_and_dead(queue)
    filler.unlink()
    thread.join(30)
    assert not thread.is_alive()
    assert dead == 0 and max(attempts) <= 1  # 1: the message a probe holds
    assert r.stats.done == 2 and r.stats.handed_back >= 1 and r.stats.retried == 0


# ---- systemic errors mid-run -----------------------------------------------------------


def test_a_refused_key_mid_run_hands_in_flight_messages_back_without_an_attempt(
    queue: SqliteQueue, results: SqliteResultStore
) -> None:
    """One message finds the refused key while another is still running when the grace
    period ends: both go back to the queue as they were (attempts 0, no lease), so a
    restarting consumer cannot walk them toward the DLQ, even on their last delivery."""
    queue.send(jobs(2))
    started = threading.Event()

    def work(job: VideoJob, attempt: int) -> Outcome:
        if job.video_id.endswith("0"):
            started.wait(5)
            raise AccessDenied("Gemini answered HTTP 403: API key not valid")
        started.set()
        time.sleep(3)  # outlives the grace period
        return Outcome.DONE

    r = runner(queue, results, work, shutdown_grace_s=0.3)
    r.run()
    assert r.fatal is not None and r.fatal.code == "access_denied"
    assert r.stats.handed_back == 2 and r.stats.retried == 0
    attempts, dead = attempts_and_dead(queue)
    assert attempts == [0, 0] and dead == 0
    with sqlite3.connect(queue.path) as db:
        free = db.execute("SELECT count(*) FROM messages WHERE lease_id IS NULL").fetchone()
    assert free == (2,)
    time.sleep(3)  # the slow thread's own ack comes too late: its lease is gone
    assert queue.stats().backlog == 2


def test_a_refused_key_on_the_last_delivery_is_not_dead_lettered(
    queue: SqliteQueue, results: SqliteResultStore
) -> None:
    queue.send(jobs(1))
    with sqlite3.connect(queue.path) as db:  # delivered max_retries (3) times already
        db.execute("UPDATE messages SET attempts = 3")

    def refused(job: VideoJob, attempt: int) -> Outcome:
        raise AccessDenied("403")

    runner(queue, results, refused, concurrency=1).run()
    attempts, dead = attempts_and_dead(queue)
    assert dead == 0 and attempts == [3]  # a retry on delivery 4 would have dead-lettered it


# ---- burst mode and other consumers' leases ------------------------------------------


def test_burst_waits_for_a_dead_consumers_leases_and_processes_them(
    queue: SqliteQueue, results: SqliteResultStore, tmp_path: Path
) -> None:
    queue.send(jobs(3))
    dead_consumer = SqliteQueue(tmp_path / "q.sqlite3")
    assert len(dead_consumer.pull(2, 1.5)) == 2  # and it never comes back
    dead_consumer.close()
    r = runner(queue, results, ok, visibility_timeout_s=10)
    stats = r.run(burst=True)
    assert stats.done == 3 and queue.stats().backlog == 0
    assert (stats.leased_elsewhere, stats.leased_until) == (0, None)


def test_burst_told_not_to_wait_says_what_is_leased_elsewhere_and_until_when(
    queue: SqliteQueue, results: SqliteResultStore, tmp_path: Path
) -> None:
    queue.send(jobs(3))
    other = SqliteQueue(tmp_path / "q.sqlite3")
    before = datetime.now(UTC)
    assert len(other.pull(2, 30)) == 2
    other.close()
    stats = runner(queue, results, ok).run(burst=True, wait_for_leases=False)
    assert stats.done == 1 and stats.leased_elsewhere == 2
    assert stats.leased_until is not None
    assert before + timedelta(seconds=29) <= stats.leased_until <= before + timedelta(seconds=32)


def test_burst_waits_for_other_leases_no_longer_than_the_visibility_timeout(
    queue: SqliteQueue, results: SqliteResultStore, tmp_path: Path
) -> None:
    queue.send(jobs(1))
    live = SqliteQueue(tmp_path / "q.sqlite3")
    assert len(live.pull(1, 60)) == 1  # a live consumer holding it for a minute
    started = time.monotonic()
    stats = runner(queue, results, ok, visibility_timeout_s=1).run(burst=True)
    assert time.monotonic() - started < 5
    assert stats.done == 0 and stats.leased_elsewhere == 1
    live.close()
