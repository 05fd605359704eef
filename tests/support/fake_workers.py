"""A fake Cloudflare Python Workers runtime for CPython: ``workers`` (``WorkerEntrypoint``,
``Response``, ``asgi.fetch``), ``js.Object`` and ``pyodide.ffi.to_js``, plus fake bindings.

The Workers runtime cannot start offline (it downloads its Pyodide bundle), so the Worker
entry is tested in CPython with these. ``asgi.fetch`` drives the ASGI app over httpx's
``ASGITransport`` on the caller's event loop, with no thread: like the real bridge, which
awaits the app on the Worker's loop. What only production can check: that Pyodide's
``to_js`` and the real bindings behave like these fakes.
"""

from __future__ import annotations

import copy
import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.models import VideoJob


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


async def fake_asgi_fetch(app: Any, request: FakeRequest, env: Any, ctx: Any = None) -> Any:
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


class FakeQueueBinding:
    """A queue producer binding: ``sendBatch`` returns an awaitable, like the JS Promise."""

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


def runtime_modules() -> dict[str, types.ModuleType]:
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
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    return {
        "workers": workers,
        "workers.asgi": asgi,
        "js": js,
        "pyodide": pyodide,
        "pyodide.ffi": ffi,
    }


def install_runtime() -> None:
    """For a subprocess: put the fake runtime in ``sys.modules`` for good."""
    sys.modules.update(runtime_modules())
