"""The platform under Cloudflare's Python Workers SDK, faked for CPython: the ``js``,
``pyodide`` (``ffi``, ``http``), ``_cloudflare_compat_flags`` and
``_pyodide_entrypoint_helper`` modules (their objects: ``tests/support/fake_platform.py``);
plus fake bindings (queue, KV) and the runtime's dispatch.

Above this layer everything is real: the ``workers-runtime-sdk`` package (followed here:
version 1.9.5) — its ``WorkerEntrypoint`` (which wraps ``env`` and its bindings through
``_EnvWrapper`` / ``_BindingWrapper`` and ``python_to_rpc``), its ``Response`` and its ASGI
bridge ``workers.asgi.fetch`` (request → ASGI scope, body queue, buffered or
``TransformStream``-streamed responses, ``wait_until``). The platform follows the Web
standards and Pyodide 0.28.2, the Pyodide the Worker's compatibility date selects
(``python_workers`` + date ≥ 2025-09-29 → ``python_workers_20250116``); the compat flags
are those on at compatibility_date 2025-11-01.

How a request arrives, as workerd's ``introspection.wrapper_func`` does it: the JS request
becomes a ``workers.Request``, the handler's result is unwrapped to its JS ``Response``,
and the runtime keeps running what was handed to ``waitUntil`` (``dispatch_fetch``).

What cannot be driven from CPython, and why:

- V8/Pyodide's real conversions: these fakes copy values where JS would, and a binding sees
  Python dicts standing for JS objects (a ``to_js`` without ``dict_converter`` gives a
  ``Map``, which the fake queue binding rejects, as the real one would mangle it).
- The runtime's ``httpx`` patch onto JS ``fetch``: it ships inside workerd, not the SDK.
  Here ``httpx.AsyncClient`` uses real sockets to 127.0.0.1 (no thread: anyio skips name
  resolution for an IP literal); ``pyfetch`` / ``workers.fetch`` are not faked.
- The SDK's package patches (``_workers_sdk_package_patches``, loaded only when the
  runtime's ``_cloudflare`` package exists): one makes ``anyio.to_thread.run_sync`` run
  inline on newer runtimes. Not loaded here on purpose — the tests hold the stricter rule
  (a thread fails, as on runtimes without that patch), and tubeq does not rely on it.
- WebSockets (``WebSocketPair``), Durable Objects, Workflows and
  ``import_from_javascript`` of non-global modules (it needs JSPI's ``run_sync``): tubeq
  uses none of them.

Thread creation is blocked separately (``tests/support/pyodide_limits.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import types
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from shared.jobs import Envelope
from shared.models import VideoJob
from tests.support.fake_platform import (
    URL,
    FetchResponse,
    Headers,
    JsException,
    JsProxy,
    Object,
    ReadableStream,
    Request,
    Response,
    TransformStream,
    Uint8Array,
    _ctor,
    create_once_callable,
    create_proxy,
    destroy_proxies,
    jsnull,
    pyfetch,
    to_js,
)

SDK_VERSION = "1.9.5"
PYODIDE_VERSION = "0.28.2"
#: the Python flags on at compatibility_date 2025-11-01 with ["python_workers"]
COMPAT_FLAGS_2025_11_01 = (
    "python_workers",
    "python_workers_20250116",
    "python_workflows",
    "python_no_global_handlers",
    "python_workers_force_new_vendor_path",
    "python_dedicated_snapshot",
)


# ---- the runtime: modules, dispatch, bindings -----------------------------------------------


@dataclass
class Reply:
    """What the runtime sends to the client."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Runtime:
    """One fake isolate: its modules and what was handed to ``waitUntil``."""

    def __init__(self, compat_flags: Iterable[str] = COMPAT_FLAGS_2025_11_01) -> None:
        self.waiting: list[Any] = []
        self.modules = self._modules(set(compat_flags))

    def _modules(self, flags: set[str]) -> dict[str, types.ModuleType]:
        js = types.ModuleType("js")
        for cls in (Headers, ReadableStream, TransformStream, Request, Response, URL):
            setattr(js, cls.__name__, cls)
        js.Object = Object  # type: ignore[attr-defined]
        js.Array = types.SimpleNamespace(new=list)  # type: ignore[attr-defined]
        pyodide = types.ModuleType("pyodide")
        pyodide.__version__ = PYODIDE_VERSION  # type: ignore[attr-defined]
        ffi = types.ModuleType("pyodide.ffi")
        for name, value in {
            "JsProxy": JsProxy,
            "JsBuffer": Uint8Array,
            "JsException": JsException,
            "jsnull": jsnull,
            "to_js": to_js,
            "create_proxy": create_proxy,
            "create_once_callable": create_once_callable,
            "destroy_proxies": destroy_proxies,
        }.items():
            setattr(ffi, name, value)
        http = types.ModuleType("pyodide.http")
        http.FetchResponse = FetchResponse  # type: ignore[attr-defined]
        http.pyfetch = pyfetch  # type: ignore[attr-defined]
        pyodide.ffi, pyodide.http = ffi, http  # type: ignore[attr-defined]
        compat = types.ModuleType("_cloudflare_compat_flags")
        for flag in ("python_workflows_implicit_dependencies",
                     "python_request_headers_preserve_commas", *flags):  # fmt: skip
            setattr(compat, flag, flag in flags)
        helper = types.ModuleType("_pyodide_entrypoint_helper")
        helper.cloudflareWorkersModule = types.SimpleNamespace(  # type: ignore[attr-defined]
            env=None, waitUntil=self.waiting.append
        )
        helper.cloudflareSocketsModule = None  # type: ignore[attr-defined]
        helper.patchWaitUntil = lambda ctx: None  # type: ignore[attr-defined]
        helper.runtime = self  # type: ignore[attr-defined]  # for dispatch_fetch
        return {
            "js": js,
            "pyodide": pyodide,
            "pyodide.ffi": ffi,
            "pyodide.http": http,
            "_cloudflare_compat_flags": compat,
            "_pyodide_entrypoint_helper": helper,
        }

    async def dispatch_fetch(
        self,
        worker: Any,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        """One request through the entrypoint, the way workerd hands it over."""
        from workers import Request as SdkRequest

        payload = Uint8Array(body) if body else None
        js_request = Request.new(url, method=method, headers=headers, body=payload)
        result = await worker.fetch(SdkRequest(js_request))
        js_response = getattr(result, "js_object", result)
        assert isinstance(js_response, Response), f"not a JS Response: {result!r}"
        content = await js_response.body.read_all() if js_response.body else b""
        while self.waiting:  # the runtime lets waitUntil work finish
            await self.waiting.pop(0)
        return Reply(js_response.status, dict(iter(js_response.headers)), content)


async def dispatch_fetch(
    worker: Any, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> Reply:
    """``Runtime.dispatch_fetch`` on the installed runtime, at the Worker's URL."""
    runtime: Runtime = sys.modules["_pyodide_entrypoint_helper"].runtime
    return await runtime.dispatch_fetch(worker, method, WORKER_URL + path, headers, body)


WORKER_URL = "https://tubeq.example.workers.dev"
SDK_MODULES = ("workers", "asgi")


def drop_sdk_modules() -> None:
    """Forget imported SDK modules, so the next import binds to the current fakes."""
    for name in list(sys.modules):
        if name.split(".")[0] in SDK_MODULES:
            del sys.modules[name]


def use_runtime(monkeypatch: Any) -> Runtime:
    """For a test: a fresh fake platform in ``sys.modules`` (undone by ``monkeypatch``);
    the real SDK is imported again on top of it."""
    runtime = Runtime()
    drop_sdk_modules()
    for name, module in runtime.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "producer.worker.entry", raising=False)
    return runtime


def install_runtime() -> Runtime:
    """For a subprocess: put a fake platform in ``sys.modules`` for good."""
    runtime = Runtime()
    drop_sdk_modules()
    sys.modules.update(runtime.modules)
    return runtime


class Promise:
    """What a binding method returns: a JS Promise (awaitable, with ``then``)."""

    def __init__(self, value: Any = None) -> None:
        self._value = value

    def then(self, *_callbacks: Any) -> Promise:
        return self

    def __await__(self) -> Generator[Any, None, Any]:
        yield from asyncio.sleep(0).__await__()  # settles on a later turn, like a Promise
        value: Any = self._value
        return value


class FakeQueueBinding(JsProxy):
    """A queue producer binding (``WorkerQueue``): ``sendBatch`` gets JS objects."""

    constructor = _ctor("WorkerQueue")

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def sendBatch(self, messages: Any) -> Promise:
        assert isinstance(messages, list), "a JS array of messages"
        for message in messages:  # objects, never Maps or live Python proxies
            assert type(message) is dict, f"not a JS object: {type(message).__name__}"
        self.batches.append(copy.deepcopy(messages))
        return Promise()

    @property
    def jobs(self) -> list[VideoJob]:
        out = []
        for batch in self.batches:
            for message in batch:
                assert message["contentType"] == "json"  # readable by an HTTP pull consumer
                wire = json.loads(json.dumps(message["body"]))
                out.append(VideoJob.from_envelope(Envelope.model_validate(wire)))  # enveloped
        return out


class FakeKV(JsProxy):
    """A Workers KV namespace binding (``KvNamespace``)."""

    constructor = _ctor("KvNamespace")

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> Promise:
        return Promise(self.data.get(key, jsnull))

    def put(self, key: str, value: str) -> Promise:
        assert isinstance(value, str)
        self.data[key] = value
        return Promise()
