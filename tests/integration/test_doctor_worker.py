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
