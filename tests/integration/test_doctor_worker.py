"""`tubeq doctor`'s Worker checks against the real FastAPI app (the one `tubeq serve` and
the Worker run) under uvicorn on 127.0.0.1: up, down, refusing the key, never answering."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from shared.doctor import CheckStatus, run_checks
from shared.settings import Settings
from tests.integration.test_doctor import assert_no_secret, closed_port_url, settings, statuses
from tests.support.loopback import LoopbackServer
from tests.support.services import free_port


@contextlib.contextmanager
def served_api(tmp_path: Path, key: str) -> Iterator[str]:
    import uvicorn

    from producer.api import create_app
    from shared import factory

    s = Settings(data_dir=tmp_path, api_keys=key)
    queue, results = factory.build_queue(s), factory.build_results(s)
    app = create_app(s, queue, results, factory.build_artifacts(s))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        queue.close()
        results.close()


def test_worker_healthz_and_key_pass(tmp_path: Path) -> None:
    key = "worker-key-0123456789abcdef"
    with served_api(tmp_path, key) as url:
        results = run_checks(settings(worker_url=url, api_keys=key), only=["worker"])
    assert statuses(results) == [("/healthz", "pass"), ("API key accepted", "pass")]


def test_worker_refusing_the_key(tmp_path: Path) -> None:
    ours = "not-the-workers-key-0123456789"
    with served_api(tmp_path, "worker-key-0123456789abcdef") as url:
        results = run_checks(settings(worker_url=url, api_keys=ours), only=["worker"])
    assert statuses(results) == [("/healthz", "pass"), ("API key accepted", "fail")]
    assert results[1].fix is not None and "TUBEQ_API_KEYS" in results[1].fix
    assert_no_secret(results, ours)


def test_worker_down_is_transient() -> None:
    [line] = run_checks(settings(worker_url=closed_port_url(), api_keys="k" * 20), only=["worker"])
    assert (line.name, line.status, line.transient) == ("/healthz", CheckStatus.FAIL, True)


def test_worker_that_accepts_but_never_answers_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        [line] = run_checks(settings(worker_url=url), only=["worker"], timeout_s=2)
    assert time.monotonic() - start < 4
    assert line.status is CheckStatus.FAIL and line.transient


@contextlib.contextmanager
def answering(statuses_by_path: dict[str, int]) -> Iterator[str]:
    """A server on 127.0.0.1 that answers each path with a fixed status, as a Worker in a
    bad state would: what the doctor reads is the status, so that is all this serves."""
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = statuses_by_path.get(self.path.split("?")[0], 404)
            body = b'{"detail": "stub"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = LoopbackServer(Handler).start()
    try:
        yield server.origin
    finally:
        server.stop()


def test_worker_without_its_backend_passes_the_key_and_names_the_backend() -> None:
    # the key check passed at the edge, the read it forwards failed: a Worker deployed
    # without TUBEQ_BACKEND_URL answers reads 501, one whose backend is down 502
    for code, transient in ((501, False), (502, True)):
        with answering({"/healthz": 200, "/v1/progress": code}) as url:
            results = run_checks(settings(worker_url=url, api_keys="k" * 20), only=["worker"])
        assert statuses(results) == [("/healthz", "pass"), ("API key accepted", "fail")]
        assert f"HTTP {code}" in results[1].detail and "accepted" in results[1].detail
        assert results[1].fix is not None and "TUBEQ_BACKEND_URL" in results[1].fix
        assert results[1].transient is transient


def test_a_worker_whose_healthz_fails_is_not_asked_for_more() -> None:
    with answering({"/healthz": 503, "/v1/progress": 200}) as url:
        [line] = run_checks(settings(worker_url=url, api_keys="k" * 20), only=["worker"])
    assert (line.name, line.status, line.transient) == ("/healthz", CheckStatus.FAIL, True)
    assert "HTTP 503" in line.detail
    with answering({"/v1/progress": 200}) as url:  # no /healthz: a wrong URL, not an outage
        [line] = run_checks(settings(worker_url=url, api_keys="k" * 20), only=["worker"])
    assert (line.status, line.transient) == (CheckStatus.FAIL, False)
    assert line.fix is not None and "TUBEQ_WORKER_URL" in line.fix
