"""Real `tubeq consume` processes in the overview's "running consumers" panel and in
``GET /v1/consumers`` / ``tubeq status --json``: one shows up running with the video it
holds, then "stopping" after SIGTERM, and is gone after its clean stop; another, SIGKILLed,
stays and turns lost once three heartbeats (1 s each here) have gone by."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from producer.api import create_app
from shared import factory
from shared.settings import Settings
from tests.integration.test_crash import (
    LogReader,
    _enqueue,
    _env,
    _feed,
    _make_videos,
    _tubeq,
    _wait_until_leased,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX")]

KEY = "presence-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
BEAT = {"TUBEQ_CONSUMER_HEARTBEAT_S": "1"}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.load(data_dir=tmp_path / "data", api_keys=KEY)
    queue = factory.build_queue(settings)
    results = factory.build_results(settings)
    app = create_app(settings, queue, results, factory.build_artifacts(settings))
    with TestClient(app) as test_client:
        yield test_client
    queue.close()
    results.close()


def _consumers(client: TestClient) -> dict[str, Any]:
    answer = client.get("/v1/consumers", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def _status_json(tmp_path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "tubeq", "status", "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def test_a_consumer_appears_runs_stops_and_a_killed_one_turns_lost(
    tmp_path: Path, client: TestClient
) -> None:
    held, *later = _make_videos(tmp_path, 3)
    fifo = tmp_path / "transcripts" / f"{held}.json"
    content = fifo.read_text()
    fifo.unlink()
    os.mkfifo(fifo)  # the consumer blocks reading it: a video held in flight
    _enqueue(tmp_path, [held])
    first = _tubeq(tmp_path, "consume", TUBEQ_CONCURRENCY="1", **BEAT)
    log = LogReader(first)
    try:
        _wait_until_leased(tmp_path)
        # the first beat goes before the first pull; the next names the video it holds
        _until(
            lambda: [c["current"] for c in _consumers(client)["consumers"]] == [[held]],
            "a beat naming the video in flight",
        )
        [row] = _consumers(client)["consumers"]
        assert row["pid"] == first.pid
        assert (row["state"], row["lost"], row["current"]) == ("running", False, [held])
        assert row["interval_s"] == 1.0 and row["concurrency"] == 1

        page = client.get("/", headers=AUTH).text
        assert f"pid {first.pid}" in page and held in page and "running" in page
        live = client.get("/overview.json", headers=AUTH).json()
        assert [c["pid"] for c in live["consumers"]] == [first.pid]
        assert live["quota"]["exists"] is False  # the extractive analyzer spends no quota
        assert "no budget yet" in page
        status = _status_json(tmp_path)
        assert [c["pid"] for c in status["consumers"]] == [first.pid]

        first.send_signal(signal.SIGTERM)
        log.wait_for("runner.stopping")
        _until(
            lambda: _consumers(client)["consumers"][0]["state"] == "stopping",
            "the beat after SIGTERM says stopping",
        )
        _feed(fifo, content)
        assert first.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        log.thread.join(5)
    assert _consumers(client) == {"consumers": [], "running": 0, "lost": 0}
    assert "None running" in client.get("/", headers=AUTH).text

    # a second consumer does two videos, then is killed: its row stays and turns lost
    _enqueue(tmp_path, later)
    second = _tubeq(tmp_path, "consume", TUBEQ_CONCURRENCY="2", **BEAT)
    second_log = LogReader(second)  # reads (and closes) its stderr
    try:
        _until(
            lambda: [c["done"] for c in _consumers(client)["consumers"]] == [2],
            "the second consumer's beat counting its 2 videos done",
        )
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(10)
        second_log.thread.join(5)
    body = _consumers(client)
    assert (body["running"], body["lost"]) == (1, 0), "not lost before 3 beats are missed"
    _until(lambda: _consumers(client)["lost"] == 1, "the killed consumer shown lost", 10)
    [lost] = _consumers(client)["consumers"]
    assert lost["pid"] == second.pid and lost["seen_s_ago"] > 3.0
    page = client.get("/", headers=AUTH).text
    assert f"pid {second.pid}" in page and "lost (no heartbeat for" in page
