"""The Web platform and Pyodide layer under Cloudflare's Python Workers SDK, for CPython.

Written from the Fetch, URL and Streams standards (``Request``, ``Response``, ``Headers``,
``ReadableStream``, ``TransformStream``, ``URL``, ``Object.fromEntries``) and from
Pyodide 0.28.2's documentation (``pyodide.ffi``: ``JsProxy``, ``JsException``, ``jsnull``,
``to_js``, ``create_proxy`` / ``getBuffer``, ``destroy_proxies``; ``pyodide.http``:
``FetchResponse``), keeping only what ``workers-runtime-sdk`` 1.9.5 and tubeq use. Values
crossing into "JS" are copied, as V8 would copy them; ``tests/support/fake_workers.py``
assembles these into the ``js`` / ``pyodide`` modules and runs the SDK on top.
"""

from __future__ import annotations

import asyncio
import copy
import json
import types
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

# ---- pyodide.ffi ----------------------------------------------------------------------------


class JsProxy:
    """A JS value seen from Python; ``constructor.name`` is what the SDK checks."""

    constructor = types.SimpleNamespace(name="Object")


class JsException(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class _JsNull:
    def __repr__(self) -> str:
        return "jsnull"


jsnull = _JsNull()


def _ctor(name: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(name=name)


class Uint8Array(JsProxy):
    constructor = _ctor("Uint8Array")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)  # JS owns its copy

    @property
    def byteLength(self) -> int:
        return len(self._data)

    def slice(self) -> Uint8Array:
        return Uint8Array(self._data)

    def to_bytes(self) -> bytes:
        return self._data


class PyBuffer:
    def __init__(self, data: bytes) -> None:
        self.data = Uint8Array(data)

    def release(self) -> None:
        """Nothing held."""


class PyProxy(JsProxy):
    def __init__(self, obj: Any) -> None:
        self._obj = obj
        self.destroyed = False

    def getBuffer(self, type: str = "u8") -> PyBuffer:
        return PyBuffer(bytes(memoryview(self._obj)))

    def destroy(self) -> None:
        self.destroyed = True

    def __call__(self, *args: Any) -> Any:
        return self._obj(*args)


def create_proxy(obj: Any, **_options: Any) -> PyProxy:
    return PyProxy(obj)


def create_once_callable(fn: Any, **_options: Any) -> Any:
    return fn


def destroy_proxies(proxies: Any) -> None:
    for proxy in proxies:
        proxy.destroy()


class JsMap(dict[Any, Any], JsProxy):
    """What ``to_js`` makes of a dict without ``dict_converter``: a JS ``Map``."""

    constructor = _ctor("Map")


def to_js(
    value: Any,
    *,
    dict_converter: Any = None,
    default_converter: Any = None,
    depth: int = -1,
    **_options: Any,
) -> Any:
    """A deep copy in JS terms: lists → arrays, dicts → ``dict_converter(entries)`` (else a
    ``Map``), ``jsnull`` → JSON null; JS values pass as they are."""

    def convert(item: Any) -> Any:
        if item is jsnull or item is None:
            return None
        if isinstance(item, JsProxy | str | bytes | int | float | bool):
            return item
        if isinstance(item, dict):
            entries = [(k, convert(v)) for k, v in item.items()]
            return dict_converter(entries) if dict_converter else JsMap(entries)
        if isinstance(item, list | tuple):
            return [convert(v) for v in item]
        if default_converter is not None:
            return default_converter(item, convert, {})
        return copy.deepcopy(item)

    return convert(value)


# ---- js: the Web platform the SDK uses ------------------------------------------------------


class Headers(JsProxy):
    constructor = _ctor("Headers")

    def __init__(self, init: Any = None) -> None:
        self._pairs: list[tuple[str, str]] = []
        pairs: Iterable[Any] = []
        if isinstance(init, Headers):
            pairs = init._pairs
        elif isinstance(init, dict):
            pairs = init.items()
        elif init is not None:
            pairs = init
        for name, value in pairs:
            self.append(name, value)

    @classmethod
    def new(cls, init: Any = None) -> Headers:
        return cls(init)

    def append(self, name: str, value: str) -> None:
        self._pairs.append((name.lower(), str(value).strip()))

    def set(self, name: str, value: str) -> None:
        self.delete(name)
        self.append(name, value)

    def delete(self, name: str) -> None:
        self._pairs = [(n, v) for n, v in self._pairs if n != name.lower()]

    def get(self, name: str) -> str | None:
        found = [v for n, v in self._pairs if n == name.lower()]
        return ", ".join(found) if found else None

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def getSetCookie(self) -> list[str]:
        return [v for n, v in self._pairs if n == "set-cookie"]

    def __iter__(self) -> Iterator[list[str]]:
        # Fetch: sorted by name, values of one name combined, set-cookie kept apart
        for name in sorted({n for n, _ in self._pairs}):
            if name == "set-cookie":
                yield from ([name, v] for v in self.getSetCookie())
            else:
                yield [name, self.get(name) or ""]


class ReadableStream(JsProxy):
    constructor = _ctor("ReadableStream")

    def __init__(self) -> None:
        self._chunks: asyncio.Queue[Uint8Array | None] = asyncio.Queue()
        self.locked = False

    @classmethod
    def of(cls, data: bytes) -> ReadableStream:
        stream = cls()
        stream._chunks.put_nowait(Uint8Array(data))
        stream._chunks.put_nowait(None)
        return stream

    async def __aiter__(self) -> AsyncIterator[Uint8Array]:
        self.locked = True
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def read_all(self) -> bytes:
        return b"".join([chunk.to_bytes() async for chunk in self])


class WritableStreamDefaultWriter(JsProxy):
    def __init__(self, readable: ReadableStream) -> None:
        self._readable = readable
        self.closed = False

    async def write(self, chunk: Uint8Array) -> None:
        assert isinstance(chunk, Uint8Array), "only bytes cross into the stream"
        assert not self.closed, "write after close"
        await self._readable._chunks.put(chunk)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._readable._chunks.put(None)


class TransformStream(JsProxy):
    constructor = _ctor("TransformStream")

    def __init__(self) -> None:
        self.readable = ReadableStream()
        self.writable = types.SimpleNamespace(
            getWriter=lambda: WritableStreamDefaultWriter(self.readable)
        )

    @classmethod
    def new(cls) -> TransformStream:
        return cls()


def _body_stream(body: Any) -> ReadableStream | None:
    if body is None or body is jsnull:
        return None
    if isinstance(body, ReadableStream):
        return body
    if isinstance(body, Uint8Array):
        return ReadableStream.of(body.to_bytes())
    if isinstance(body, str):
        return ReadableStream.of(body.encode())
    raise TypeError(f"fake js: unsupported body {type(body).__name__}")


class _Body(JsProxy):
    body: ReadableStream | None
    bodyUsed = False  # noqa: N815 - the JS name

    async def arrayBuffer(self) -> Uint8Array:
        assert not self.bodyUsed, "body already used"
        self.bodyUsed = True
        return Uint8Array(await self.body.read_all() if self.body else b"")

    async def text(self) -> str:
        return (await self.arrayBuffer()).to_bytes().decode()


class Request(_Body):
    constructor = _ctor("Request")

    def __init__(self, url: str, method: str, headers: Headers, body: Any) -> None:
        self.url, self.method, self.headers = url, method.upper(), headers
        self.body = _body_stream(body)

    @classmethod
    def new(cls, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Request:
        return cls(url, method, Headers(headers), body)


class Response(_Body):
    constructor = _ctor("Response")
    url = ""
    type = "default"
    redirected = False

    def __init__(self, body: Any, status: int, status_text: str, headers: Headers) -> None:
        if not 200 <= status <= 599:
            raise JsException("RangeError", f"invalid status {status}")
        self.status, self.statusText, self.headers = status, status_text, headers
        self.ok = 200 <= status < 300
        self.body = _body_stream(body)

    @classmethod
    def new(
        cls,
        body: Any = None,
        status: int = 200,
        statusText: str = "",  # noqa: N803 - the JS name
        headers: Any = None,
        **_: Any,
    ) -> Response:
        return cls(body, status, statusText, Headers(headers))


class URL(JsProxy):
    constructor = _ctor("URL")

    def __init__(self, href: str) -> None:
        parts = urlsplit(href)
        self.href, self.protocol = href, parts.scheme + ":"
        self.host, self.hostname = parts.netloc, parts.hostname or ""
        self.pathname = parts.path or "/"
        self.search = "?" + parts.query if parts.query else ""

    @classmethod
    def new(cls, href: str) -> URL:
        return cls(href)


class Object:
    @staticmethod
    def fromEntries(entries: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        return dict(entries)  # a plain JS object; Python dicts stand for them here


# ---- pyodide.http ---------------------------------------------------------------------------


class FetchResponse:
    """``pyodide.http.FetchResponse`` (Pyodide 0.28): a Python view of a JS ``Response``."""

    def __init__(self, url: str, js_response: Any) -> None:
        self._url = url
        self.js_response = js_response

    @property
    def url(self) -> str:
        return self._url

    @property
    def status(self) -> int:
        return int(self.js_response.status)

    @property
    def ok(self) -> bool:
        return bool(self.js_response.ok)

    @property
    def status_text(self) -> str:
        return str(self.js_response.statusText)

    @property
    def body_used(self) -> bool:
        return bool(self.js_response.bodyUsed)

    def _raise_if_failed(self) -> None:
        if self.js_response.bodyUsed:
            raise OSError("Response body is already used")

    async def buffer(self) -> Any:
        self._raise_if_failed()
        return await self.js_response.arrayBuffer()

    async def bytes(self) -> bytes:
        return bytes((await self.buffer()).to_bytes())

    async def text(self) -> str:
        return (await self.bytes()).decode()

    async def json(self, **kwargs: Any) -> Any:
        return json.loads(await self.text(), **kwargs)


async def pyfetch(url: str, **kwargs: Any) -> FetchResponse:
    raise NotImplementedError("the fake platform has no JS fetch: tubeq uses httpx.AsyncClient")
