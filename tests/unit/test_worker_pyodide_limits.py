"""Pyodide's no-threads rule, enforced: the harness bites, and the Worker's app obeys it.

- Through the real SDK bridge (``workers.asgi.fetch``) with thread creation failing as on
  Pyodide (tests/support/pyodide_limits), a FastAPI app with a sync dependency or a sync
  endpoint fails — the bug of issue 8, where the sync API-key check made every
  authenticated request on the Worker a 500 — and the same app made async answers.
- Every dependency and endpoint of the Worker's app (forwarding on) is ``async def``, so
  FastAPI never reaches for its thread pool there.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from tests.support.fake_workers import (
    FakeKV,
    FakeQueueBinding,
    Reply,
    Runtime,
    dispatch_fetch,
    drop_sdk_modules,
    use_runtime,
)
from tests.support.pyodide_limits import THREAD_ERROR, no_threads


@pytest.fixture()
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield use_runtime(monkeypatch)
    sys.modules.pop("producer.worker.bridge", None)
    drop_sdk_modules()


def _probe_app(*, sync_dependency: bool, sync_endpoint: bool) -> FastAPI:
    def sync_dep() -> None:
        return None

    async def async_dep() -> None:
        return None

    dep = sync_dep if sync_dependency else async_dep
    app = FastAPI(dependencies=[Depends(dep)])
    if sync_endpoint:
        app.get("/probe")(lambda: {"ok": True})
    else:

        @app.get("/probe")
        async def probe() -> dict[str, bool]:
            return {"ok": True}

    return app


@pytest.mark.parametrize(
    ("sync_dependency", "sync_endpoint"), [(True, False), (False, True), (False, False)]
)
def test_a_sync_dependency_or_endpoint_fails_without_threads(
    runtime: Runtime, caplog: pytest.LogCaptureFixture, sync_dependency: bool, sync_endpoint: bool
) -> None:
    from workers import WorkerEntrypoint, asgi

    app = _probe_app(sync_dependency=sync_dependency, sync_endpoint=sync_endpoint)

    class Probe(WorkerEntrypoint):
        async def fetch(self, request: Any) -> Any:
            return await asgi.fetch(app, request, self.env)

    def run() -> Reply:
        with no_threads():
            return asyncio.run(
                dispatch_fetch(Probe(None, types.SimpleNamespace()), "GET", "/probe")
            )

    if not (sync_dependency or sync_endpoint):
        assert run().json() == {"ok": True}
        return
    try:
        reply = run()
    except RuntimeError as exc:  # the bridge re-raises what the app raised before answering
        assert THREAD_ERROR in str(exc)
    else:
        assert reply.status == 500  # Starlette answered 500 and logged the error
        assert THREAD_ERROR in caplog.text


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_candidates"):  # FastAPI ≥ 0.16x: an included router
            yield from route.effective_candidates()


def test_every_dependency_and_endpoint_on_the_worker_is_async(
    runtime: Runtime, tmp_path: Path
) -> None:
    from producer.worker.bridge import build_services

    env = types.SimpleNamespace(
        TUBEQ_DATA_DIR=str(tmp_path),
        TUBEQ_API_KEYS="k" * 20,
        TUBEQ_BACKEND_URL="http://127.0.0.1:9",
        JOBS=FakeQueueBinding(),
        WATCH_STATE=FakeKV(),
    )
    app = build_services(env).app
    checked = 0
    for route in _api_routes(app.routes):
        for dependant in _dependants(route.dependant):
            call = dependant.call
            if call is None:
                continue
            target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
            assert inspect.iscoroutinefunction(target), f"{route.path}: {call!r} is sync"
            checked += 1
    assert checked > 5
