"""The Worker as the one edge endpoint: what it does not serve goes to ``tubeq serve``.

Run through the real SDK bridge (``workers.asgi.fetch``) over the fake platform, with thread
creation failing as on Pyodide, against a real ``tubeq serve`` (uvicorn, in a subprocess) on
127.0.0.1:

- reads (progress, a video, dead letters with a query, redrive with a body) come back as
  the backend answers them, the key checked at the edge and by the backend;
- ``POST /v1/jobs`` stays on the Worker (its binding), a request without a key or with a
  wrong one is answered 401/403 at the edge and never reaches the backend;
- the dashboard's pages and the artifact links go to the backend, which checks the reader
  (a login cookie the edge cannot check);
- backend down → JSON 502; a backend that accepts but does not answer → JSON 504 within
  ``TUBEQ_BACKEND_TIMEOUT_S``; a body over ``TUBEQ_API_MAX_BODY_BYTES`` → 413 at the edge.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from producer.worker.forward import end_to_end
from tests.support.fake_workers import (
    FakeKV,
    FakeQueueBinding,
    Reply,
    dispatch_fetch,
    drop_sdk_modules,
    use_runtime,
)
from tests.support.pyodide_limits import no_threads
from tests.support.services import free_port, unavailable

KEY = "edge-and-backend-key-0123456789"
GOOD = "dQw4w9WgXcQ"
REPO = Path(__file__).resolve().parents[2]
_SERVE = (
    "import typer, sys\n"
    "from tubeq.cli import serve\n"
    "app = typer.Typer()\n"
    "@app.callback()\n"
    "def root() -> None: pass\n"
    "serve.register(app)\n"
    "app(sys.argv[1:])\n"
)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `tubeq serve` over the embedded adapters, holding one queued video."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUBEQ_")},
        "TUBEQ_DATA_DIR": str(tmp_path_factory.mktemp("backend")),
        "TUBEQ_API_KEYS": KEY,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # generous: a loaded CI machine takes a while over the imports; it is a bound, not a
        # measure
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                unavailable("tubeq serve did not come up on 127.0.0.1")
            time.sleep(0.1)
        auth = {"Authorization": f"Bearer {KEY}"}
        seeded = httpx.post(f"{base}/v1/jobs", json={"videos": [GOOD]}, headers=auth, timeout=5)
        assert seeded.status_code == 202, seeded.text
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait()


class SilentBackend:
    """Accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture()
def entry(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    use_runtime(monkeypatch)
    module = importlib.import_module("producer.worker.entry")
    yield module
    module.services.reset()
    sys.modules.pop("producer.worker.entry", None)
    drop_sdk_modules()


def worker_for(entry: Any, tmp_path: Path, backend_url: str, **extra: str) -> Any:
    env = types.SimpleNamespace(
        TUBEQ_DATA_DIR=str(tmp_path),
        TUBEQ_API_KEYS=KEY,
        TUBEQ_BACKEND_URL=backend_url,
        JOBS=FakeQueueBinding(),
        WATCH_STATE=FakeKV(),
        **extra,
    )
    return entry.Default(None, env)


def call(worker: Any, method: str, path: str, body: Any = None, key: str | None = KEY) -> Reply:
    headers = {"content-type": "application/json", "connection": "keep-alive, x-hop"}
    headers["x-hop"] = "hop-by-hop: must not be forwarded"
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    content = json.dumps(body).encode() if body is not None else b""
    with no_threads():  # as on Pyodide
        return asyncio.run(dispatch_fetch(worker, method, path, headers, content))


def direct(backend: str, method: str, path: str, body: Any = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {KEY}"}
    return httpx.request(method, backend + path, json=body, headers=auth, timeout=5)


def test_reads_are_forwarded_to_the_backend(entry: Any, tmp_path: Path, backend: str) -> None:
    worker = worker_for(entry, tmp_path, backend)
    progress = call(worker, "GET", "/v1/progress")
    assert progress.status == 200, progress.body
    assert progress.json() == direct(backend, "GET", "/v1/progress").json()
    assert progress.json()["queue"]["ready"] == 1
    assert progress.headers["content-type"] == "application/json"

    video = call(worker, "GET", f"/v1/videos/{GOOD}?expires_in=60")
    assert video.status == 200, video.body
    assert video.json()["video"]["video_id"] == GOOD

    dlq = call(worker, "GET", "/v1/dlq?limit=5")
    assert (dlq.status, dlq.json()) == (200, direct(backend, "GET", "/v1/dlq?limit=5").json())
    bad_query = call(worker, "GET", "/v1/dlq?limit=-1")
    assert bad_query.status == 422  # the backend's validation, passed through

    redrive = call(worker, "POST", "/v1/dlq/redrive", {"all": True})
    assert redrive.status == 200, redrive.body
    assert redrive.json()["redriven"] == 0
    neither = call(worker, "POST", "/v1/dlq/redrive", {})
    assert neither.status == 400 and "say which" in neither.json()["message"]


def test_enqueue_stays_on_the_worker(entry: Any, tmp_path: Path, backend: str) -> None:
    worker = worker_for(entry, tmp_path, backend)
    resp = call(worker, "POST", "/v1/jobs", {"videos": ["jNQXAC9IVRw"]})
    assert resp.status == 202, resp.body
    assert [j.video_id for j in worker.env.JOBS.jobs] == ["jNQXAC9IVRw"]
    assert direct(backend, "GET", "/v1/progress").json()["queue"]["ready"] == 1  # unchanged
    assert call(worker, "GET", "/healthz", key=None).json() == {"status": "ok"}


def test_keys_are_checked_at_the_edge_first(entry: Any, tmp_path: Path) -> None:
    silent = SilentBackend()
    try:
        worker = worker_for(entry, tmp_path, silent.url, TUBEQ_BACKEND_TIMEOUT_S="1")
        missing = call(worker, "GET", "/v1/progress", key=None)
        assert missing.status == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert call(worker, "GET", "/v1/dlq", key="not-our-key").status == 403
        assert call(worker, "POST", "/v1/dlq/redrive", {"all": True}, key=None).status == 401
        time.sleep(0.2)
        assert silent.accepted == []  # never forwarded
    finally:
        silent.close()


def test_a_silent_backend_is_a_504_within_the_timeout(entry: Any, tmp_path: Path) -> None:
    silent = SilentBackend()
    try:
        worker = worker_for(entry, tmp_path, silent.url, TUBEQ_BACKEND_TIMEOUT_S="1")
        started = time.monotonic()
        resp = call(worker, "GET", "/v1/progress")
        took = time.monotonic() - started
        assert resp.status == 504, resp.body
        assert resp.json()["error"] == "backend_timeout"
        assert "TUBEQ_BACKEND_TIMEOUT_S" in resp.json()["message"]
        assert 0.9 <= took < 5
        assert len(silent.accepted) == 1
    finally:
        silent.close()


def test_a_backend_that_is_down_is_a_502(entry: Any, tmp_path: Path) -> None:
    worker = worker_for(entry, tmp_path, f"http://127.0.0.1:{free_port()}")
    resp = call(worker, "GET", "/v1/progress")
    assert resp.status == 502, resp.body
    assert resp.json()["error"] == "backend_unavailable"
    assert "TUBEQ_BACKEND_URL" in resp.json()["message"]
    assert KEY not in resp.body.decode()


def test_an_oversized_body_stops_at_the_edge(entry: Any, tmp_path: Path) -> None:
    silent = SilentBackend()
    try:
        worker = worker_for(entry, tmp_path, silent.url, TUBEQ_API_MAX_BODY_BYTES="1024")
        resp = call(worker, "POST", "/v1/dlq/redrive", {"message_ids": ["m" * 40] * 100})
        assert resp.status == 413
        assert silent.accepted == []
    finally:
        silent.close()


def test_dashboard_pages_and_artifact_links_reach_the_backend(
    entry: Any, tmp_path: Path, backend: str
) -> None:
    # the Worker is the one public URL: the dashboard behind it checks its own readers
    worker = worker_for(entry, tmp_path, backend)
    page = call(worker, "GET", "/", key=None)
    assert page.status == 303 and page.headers["location"].startswith("/login")
    form = call(worker, "GET", "/login", key=None)
    assert form.status == 200 and b"<form" in form.body
    assert call(worker, "GET", "/static/dashboard.css", key=None).status == 200
    # a click on an analyst view's link: no bearer key, the backend answers (not the edge)
    link = call(worker, "GET", f"/v1/videos/{GOOD}/artifacts/report_md", key=None)
    assert link.status == 401 and "log in at /login" in link.json()["message"]
    with_key = call(worker, "GET", f"/v1/videos/{GOOD}/artifacts/report_md")
    assert with_key.status == 404  # queued, nothing written yet: the backend's answer
    # every other /v1 read still stops at the edge without a key
    assert call(worker, "GET", "/v1/progress", key=None).status == 401
    assert call(worker, "GET", "/healthz", key=None).json() == {"status": "ok"}


def test_hop_by_hop_headers_are_dropped() -> None:
    pairs = [
        ("Authorization", "Bearer k"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Host", "tubeq.example.workers.dev"),
        ("Content-Length", "3"),
        ("Accept", "application/json"),
    ]
    assert end_to_end(pairs) == [("Authorization", "Bearer k"), ("Accept", "application/json")]
