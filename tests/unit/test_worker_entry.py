"""The Cloudflare Worker entry, run in CPython with a fake runtime.

The Workers runtime cannot start offline (it downloads its Pyodide bundle), so this test
puts fake ``workers``, ``js`` and ``pyodide.ffi`` modules in ``sys.modules`` and calls the
real ``producer/worker/entry.py``:

- ``fetch`` serves the real FastAPI app (through a fake ``asgi.fetch`` that drives the ASGI
  app with httpx) and enqueues through a fake ``JOBS`` binding that records ``sendBatch``;
- ``scheduled`` polls a local Data API stub over real httpx and enqueues only uploads newer
  than the watermark kept in a fake KV binding.

What only production can check: that Pyodide's ``to_js``/``run_sync`` behave like these
fakes, that the runtime's ASGI bridge runs FastAPI's sync endpoints inline, and that the
real bindings accept the shapes sent (``sendBatch([{body, contentType}])``).
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.models import VideoJob
from tests.support.data_api_stub import API_KEY, DataApiStub, StubVideo
from tests.support.services import unavailable

KEY = "worker-key-0123456789abcdef"
CHANNEL = "UCabcdefghijklmnopqrstuv"


# ---- the fake runtime -----------------------------------------------------------------------


class FakeEntrypoint:
    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


@dataclass
class FakeResponse:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


async def fake_asgi_fetch(app: Any, request: FakeRequest, env: Any) -> FakeResponse:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://tubeq.workers.dev") as c:
        resp = await c.request(
            request.method, request.url, headers=request.headers, content=request.body
        )
    return FakeResponse(resp.content, resp.status_code, dict(resp.headers))


class FakeJsObject:
    @staticmethod
    def fromEntries(entries: Any) -> Any:
        return dict(entries)


def fake_to_js(value: Any, dict_converter: Any = None) -> Any:
    assert dict_converter is FakeJsObject.fromEntries  # dicts must become JS objects
    return copy.deepcopy(value)  # what crosses into JS is a copy, never a live proxy


def fake_run_sync(awaitable: Any) -> Any:
    # FastAPI runs the sync endpoint in a worker thread here; JSPI does it inline on Workers
    return asyncio.run(awaitable)


class FakeQueueBinding:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    async def sendBatch(self, messages: list[dict[str, Any]]) -> None:
        self.batches.append(messages)

    @property
    def jobs(self) -> list[VideoJob]:
        out = []
        for batch in self.batches:
            for message in batch:
                assert message["contentType"] == "json"  # readable by an HTTP pull consumer
                out.append(VideoJob.model_validate(json.loads(json.dumps(message["body"]))))
        return out


class FakeKV:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def put(self, key: str, value: str) -> None:
        assert isinstance(value, str)
        self.data[key] = value


@pytest.fixture()
def entry(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    workers = types.ModuleType("workers")
    workers.WorkerEntrypoint = FakeEntrypoint  # type: ignore[attr-defined]
    workers.Response = FakeResponse  # type: ignore[attr-defined]
    asgi = types.ModuleType("workers.asgi")
    asgi.fetch = fake_asgi_fetch  # type: ignore[attr-defined]
    workers.asgi = asgi  # type: ignore[attr-defined]
    js = types.ModuleType("js")
    js.Object = FakeJsObject  # type: ignore[attr-defined]
    pyodide = types.ModuleType("pyodide")
    ffi = types.ModuleType("pyodide.ffi")
    ffi.to_js = fake_to_js  # type: ignore[attr-defined]
    ffi.run_sync = fake_run_sync  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    for name, module in {
        "workers": workers,
        "workers.asgi": asgi,
        "js": js,
        "pyodide": pyodide,
        "pyodide.ffi": ffi,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "producer.worker.entry", raising=False)
    module = importlib.import_module("producer.worker.entry")
    yield module
    module.services.reset()
    sys.modules.pop("producer.worker.entry", None)


def make_env(tmp_path: Path, **extra: Any) -> types.SimpleNamespace:
    values = {
        "TUBEQ_DATA_DIR": str(tmp_path),
        "TUBEQ_API_KEYS": KEY,
        "JOBS": FakeQueueBinding(),
        "WATCH_STATE": FakeKV(),
    }
    values.update(extra)
    return types.SimpleNamespace(**values)


def call(worker: Any, method: str, path: str, body: Any = None, key: str | None = KEY) -> Any:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    content = json.dumps(body).encode() if body is not None else b""
    return asyncio.run(worker.fetch(FakeRequest(method, path, headers, content)))


# ---- fetch ------------------------------------------------------------------------------


def test_fetch_enqueues_through_the_binding(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    worker = entry.Default(None, env)
    resp = call(worker, "POST", "/v1/jobs", {"videos": ["dQw4w9WgXcQ", "nope"], "force": True})
    assert resp.status == 202, resp.body
    assert resp.json()["accepted"] == ["dQw4w9WgXcQ"]
    assert [r["input"] for r in resp.json()["rejected"]] == ["nope"]
    jobs = env.JOBS.jobs
    assert [(j.video_id, j.force, j.source) for j in jobs] == [("dQw4w9WgXcQ", True, "api")]


def test_fetch_sends_big_requests_in_batches_of_100(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    ids = [f"tq{n:07d}-x" for n in range(230)]
    resp = call(entry.Default(None, env), "POST", "/v1/jobs", {"videos": ids})
    assert resp.status == 202, resp.body
    assert [len(b) for b in env.JOBS.batches] == [100, 100, 30]
    assert [j.video_id for j in env.JOBS.jobs] == ids


def test_fetch_keeps_auth_and_says_what_a_binding_cannot_do(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    worker = entry.Default(None, env)
    assert call(worker, "POST", "/v1/jobs", {"videos": ["dQw4w9WgXcQ"]}, key=None).status == 401
    assert call(worker, "GET", "/v1/progress", key="wrong").status == 403
    assert env.JOBS.batches == []
    progress = call(worker, "GET", "/v1/progress")
    assert progress.status == 200
    assert progress.json()["queue"] is None  # no REST secrets: counts only
    dlq = call(worker, "GET", "/v1/dlq")
    assert dlq.status == 501
    assert "TUBEQ_CF_API_TOKEN" in dlq.json()["message"]
    assert call(worker, "GET", "/healthz", key=None).json() == {"status": "ok"}


def test_fetch_without_api_keys_answers_503_naming_the_secret(entry: Any, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    del env.TUBEQ_API_KEYS
    resp = call(entry.Default(None, env), "GET", "/v1/progress")
    assert resp.status == 503
    assert "TUBEQ_API_KEYS" in resp.json()["message"]
    assert env.JOBS.batches == []


# ---- scheduled -----------------------------------------------------------------------------


@pytest.fixture()
def data_api() -> Iterator[DataApiStub]:
    try:
        server = DataApiStub()
    except OSError as exc:  # pragma: no cover - only when loopback is unusable
        unavailable(f"cannot bind a stub server on 127.0.0.1: {exc}")
        raise
    with server:
        server.add_channel(CHANNEL, "Watched", 4, handle="@watched")
        yield server


def add_upload(stub: DataApiStub, vid: str, when: datetime) -> None:
    stub.videos[vid] = StubVideo(vid, f"new {vid}", when, "PT5M", CHANNEL, "Watched")
    stub.channels[CHANNEL].video_ids.insert(0, vid)  # uploads list newest first


def test_scheduled_enqueues_only_new_uploads(
    entry: Any, tmp_path: Path, data_api: DataApiStub
) -> None:
    env = make_env(
        tmp_path,
        TUBEQ_WATCHED_CHANNELS="@watched, @nosuchchannel",
        TUBEQ_YOUTUBE_API_KEY=API_KEY,
        TUBEQ_YOUTUBE_API_URL=data_api.url,
        TUBEQ_YOUTUBE_API_TIMEOUT_S="5",
    )
    worker = entry.Default(None, env)

    def tick() -> None:
        asyncio.run(worker.scheduled(types.SimpleNamespace(cron="*/30 * * * *"), env, None))

    tick()  # first sight: remembers the newest upload, enqueues no history
    assert env.JOBS.batches == []
    newest = max(v.published_at for v in data_api.videos.values())  # naive, sent with a Z
    stored = datetime.fromisoformat(env.WATCH_STATE.data[f"watch:{CHANNEL}"])
    assert stored == newest.replace(tzinfo=UTC)

    add_upload(data_api, "newUpload01", newest + timedelta(hours=1))
    add_upload(data_api, "newUpload02", newest + timedelta(hours=2))
    tick()
    assert sorted(j.video_id for j in env.JOBS.jobs) == ["newUpload01", "newUpload02"]
    assert {j.source for j in env.JOBS.jobs} == {"schedule"}
    assert env.JOBS.jobs[0].meta is not None and env.JOBS.jobs[0].meta.channel_id == CHANNEL

    tick()  # nothing new: nothing sent again
    assert len(env.JOBS.jobs) == 2
    # the result store knows them as queued (the API's progress counts them)
    progress = call(worker, "GET", "/v1/progress").json()["progress"]
    assert progress["by_state"]["queued"] == 2
