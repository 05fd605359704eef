"""Real `tubeq consume` processes, killed the hard way and the polite way.

- SIGKILL mid-batch: a second run finishes; every video is analysed exactly once and none
  is lost (the killed run's leases expire and the messages come back).
- SIGTERM: the consumer stops pulling, finishes what it holds, acks it, exits 0.
- SIGTERM twice: it exits at once; the unfinished message keeps its lease, which expires.

To hold a consumer in the middle of a video without any test hook in the product, one
transcript file is a named pipe: the real directory source blocks reading it until the
test writes the transcript into the pipe.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from shared.settings import BUNDLED_SAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX")]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")}
    env.update(
        TUBEQ_DATA_DIR=str(tmp_path / "data"),
        TUBEQ_TRANSCRIPTS_DIR=str(tmp_path / "transcripts"),
        TUBEQ_LOG_FORMAT="json",
        TUBEQ_POLL_INTERVAL_S="0.05",
        TUBEQ_RETRY_BASE_S="1",
        TUBEQ_RETRY_JITTER="0",
        **extra,
    )
    return env


def _tubeq(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tubeq", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
    )


def _make_videos(tmp_path: Path, count: int) -> list[str]:
    """Copies of the bundled samples under fresh ids (11 characters each)."""
    src = sorted(p for p in BUNDLED_SAMPLES.glob("*.json") if '"error"' not in p.read_text()[:2000])
    out = tmp_path / "transcripts"
    out.mkdir()
    ids = []
    for i in range(count):
        vid = f"crash{i:06d}"
        doc = json.loads(src[i % len(src)].read_text())
        doc["video"]["video_id"] = vid
        (out / f"{vid}.json").write_text(json.dumps(doc))
        ids.append(vid)
    return ids


def _enqueue(tmp_path: Path, ids: list[str]) -> None:
    with _tubeq(tmp_path, "enqueue", *ids) as proc:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


class LogReader:
    """Reads a consumer's JSON log lines in the background, counting events."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.events: list[dict[str, object]] = []
        self.lock = threading.Lock()
        assert proc.stderr is not None
        self.thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self.thread.start()

    def _read(self, stream: object) -> None:
        with stream:  # type: ignore[attr-defined]
            for line in stream:  # type: ignore[attr-defined]
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                with self.lock:
                    self.events.append(event)

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for e in self.events if e.get("event") == name)

    def wait_for(self, name: str, n: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.count(name) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {n}x {name!r} within {timeout}s: {self.events[-5:]}")
            time.sleep(0.01)


def _db(tmp_path: Path, name: str) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / name)


def test_sigkill_mid_batch_then_a_second_run_finishes_exactly_once(tmp_path: Path) -> None:
    ids = _make_videos(tmp_path, 60)
    _enqueue(tmp_path, ids)

    first = _tubeq(
        tmp_path, "consume", "--burst", TUBEQ_CONCURRENCY="2", TUBEQ_VISIBILITY_TIMEOUT_S="2"
    )
    log1 = LogReader(first)
    log1.wait_for("video.done", 10)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    log1.thread.join(5)
    done_in_first = log1.count("video.done")
    assert 10 <= done_in_first < len(ids), "the kill must land mid-batch"

    time.sleep(2.2)  # the killed consumer's leases run out
    second = _tubeq(tmp_path, "consume", "--burst", TUBEQ_CONCURRENCY="2")
    log2 = LogReader(second)
    second.wait(60)
    log2.thread.join(5)
    assert second.returncode == 0

    results = _db(tmp_path, "results.sqlite3")
    states = Counter(r[0] for r in results.execute("select state from videos"))
    per_video = Counter(r[0] for r in results.execute("select video_id from analyses"))
    results.close()
    assert states == Counter({"done": len(ids)})
    assert sorted(per_video) == sorted(ids) and set(per_video.values()) == {1}

    saved = Counter(
        str(e["video_id"])
        for log in (log1, log2)
        for e in log.events
        if e.get("event") == "analysis.saved"
    )
    assert max(saved.values()) == 1, "an analysis was made twice"
    queue = _db(tmp_path, "queue.sqlite3")
    left = queue.execute("select count(*) from messages").fetchone()[0]
    dead = queue.execute("select count(*) from dead_letters").fetchone()[0]
    queue.close()
    assert (left, dead) == (0, 0)


def _held_consumer(tmp_path: Path, grace: str) -> tuple[subprocess.Popen[str], LogReader, Path]:
    """A consumer holding one video whose transcript is a named pipe nobody writes yet."""
    ids = _make_videos(tmp_path, 1)
    path = tmp_path / "transcripts" / f"{ids[0]}.json"
    content = path.read_text()
    path.unlink()
    os.mkfifo(path)
    (tmp_path / "content.json").write_text(content)
    _enqueue(tmp_path, ids)
    proc = _tubeq(
        tmp_path,
        "consume",
        TUBEQ_CONCURRENCY="1",
        TUBEQ_SHUTDOWN_GRACE_S=grace,
        TUBEQ_VISIBILITY_TIMEOUT_S="60",
    )
    log = LogReader(proc)
    _wait_until_leased(tmp_path)
    return proc, log, path


def _wait_until_leased(tmp_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            queue = _db(tmp_path, "queue.sqlite3")
            n = queue.execute("select count(*) from messages where lease_id is not null").fetchone()
            queue.close()
            if n[0]:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("the consumer never leased the message")


def _feed(path: Path, content: str) -> None:
    with path.open("w") as fifo:  # unblocks the consumer's read
        fifo.write(content)


def test_sigterm_finishes_in_flight_work_and_exits_cleanly(tmp_path: Path) -> None:
    proc, log, fifo = _held_consumer(tmp_path, grace="30")
    proc.send_signal(signal.SIGTERM)
    log.wait_for("runner.stopping")
    assert proc.poll() is None, "it must wait for the video it holds"
    _feed(fifo, (tmp_path / "content.json").read_text())
    assert proc.wait(30) == 0
    log.thread.join(5)
    assert log.count("video.done") == 1 and log.count("message.acked") == 1
    queue = _db(tmp_path, "queue.sqlite3")
    assert queue.execute("select count(*) from messages").fetchone()[0] == 0
    queue.close()


def test_second_signal_exits_at_once_and_the_lease_expires_later(tmp_path: Path) -> None:
    proc, log, fifo = _held_consumer(tmp_path, grace="60")
    proc.send_signal(signal.SIGTERM)
    log.wait_for("runner.stopping")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(10)
    assert code == 128 + signal.SIGTERM and time.monotonic() - started < 5
    queue = _db(tmp_path, "queue.sqlite3")
    held = queue.execute("select count(*) from messages where lease_id is not null").fetchone()[0]
    queue.close()
    assert held == 1, "the unfinished message keeps its lease until it expires"
    # Unblock nothing is reading now; opening the pipe for writing would hang, so remove it.
    fifo.unlink()


def test_a_killed_consumers_leases_are_waited_for_by_a_burst_run(tmp_path: Path) -> None:
    """`consume --burst` started right after a SIGKILL used to exit at once, leaving the
    killed run's messages leased (and the operator thinking the queue was drained). Now it
    waits for those leases to expire (at most the visibility timeout) and processes them."""
    ids = _make_videos(tmp_path, 30)
    _enqueue(tmp_path, ids)
    first = _tubeq(
        tmp_path, "consume", "--burst", TUBEQ_CONCURRENCY="2", TUBEQ_VISIBILITY_TIMEOUT_S="3"
    )
    log1 = LogReader(first)
    log1.wait_for("video.done", 3)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    queue = _db(tmp_path, "queue.sqlite3")
    held = queue.execute("select count(*) from messages where lease_id is not null").fetchone()
    queue.close()
    if held[0] == 0:
        pytest.skip("the kill landed between two videos: no lease left to wait for")

    second = _tubeq(tmp_path, "consume", "--burst", TUBEQ_CONCURRENCY="2")  # no sleep first
    log2 = LogReader(second)
    assert second.wait(60) == 0
    log2.thread.join(5)
    queue = _db(tmp_path, "queue.sqlite3")
    left = queue.execute("select count(*) from messages").fetchone()[0]
    dead = queue.execute("select count(*) from dead_letters").fetchone()[0]
    queue.close()
    assert (left, dead) == (0, 0), "the burst run exited with the killed run's leases pending"
    results = _db(tmp_path, "results.sqlite3")
    states = Counter(r[0] for r in results.execute("select state from videos"))
    results.close()
    assert states == Counter({"done": len(ids)})


def test_a_key_refused_mid_run_survives_restarts_without_a_dead_letter(tmp_path: Path) -> None:
    """The key passes the pre-flight (models.get) but every analysis is refused (revoked
    between the two, or a key valid for one call and not the other). Each run stops with
    exit 4 on the first refusal; a supervisor restarts it again and again. Before, every run
    spent an attempt on each message it touched, and four restarts dead-lettered them."""
    from tests.support.gemini_stub import GeminiStub, bad_key

    ids = _make_videos(tmp_path, 3)
    _enqueue(tmp_path, ids)
    with GeminiStub() as gemini:
        gemini.responder = lambda _request: bad_key()
        env = {
            "TUBEQ_ANALYZER_BACKEND": "gemini",
            "TUBEQ_GEMINI_API_KEY": gemini.api_key,
            "TUBEQ_GEMINI_BASE_URL": gemini.base_url,
            "TUBEQ_CONCURRENCY": "2",
            "TUBEQ_MAX_RETRIES": "3",
        }
        for run in range(6):
            queue = _db(tmp_path, "queue.sqlite3")  # handed back with a delay: make it ready
            queue.execute("update messages set visible_at = 0 where lease_id is null")
            queue.commit()
            queue.close()
            proc = _tubeq(tmp_path, "consume", **env)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 4, f"run {run}: {err[-2000:]}"
            assert "API key not valid" in err
        assert gemini.requests, "the refusal must come mid-run, after the pre-flight"
    queue = _db(tmp_path, "queue.sqlite3")
    rows = queue.execute("select attempts, lease_id from messages").fetchall()
    dead = queue.execute("select count(*) from dead_letters").fetchone()[0]
    queue.close()
    assert dead == 0, "restarts walked messages into the dead-letter queue"
    assert sorted(rows) == [(0, None)] * len(ids)
