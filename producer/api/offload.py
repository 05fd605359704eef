"""One way for the async API to call an adapter, whatever kind it is and wherever it runs.

- An async adapter method (the Worker's binding queue, its async backfill) is awaited.
- A sync adapter (SQLite, psycopg, boto3, the sync httpx clients) runs in a worker thread
  when threads are allowed (``anyio.to_thread.run_sync``), so ``tubeq serve`` never blocks
  its event loop while a query or an upload is under way.
- Where no thread can start, a sync call runs inline. That is Pyodide (a Cloudflare Python
  Worker: ``RuntimeError: can't start new thread``), and the Worker's app wherever it runs:
  ``create_app(..., threads=False)`` decides it from the deployment, not from
  ``sys.platform``, so the Worker's code path is the same under CPython tests as on Pyodide.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")


def threads_available() -> bool:
    return sys.platform != "emscripten"


class Offload:
    """Calls adapters as described above; ``threads=None`` asks the platform."""

    def __init__(self, threads: bool | None = None) -> None:
        self.threads = threads_available() if threads is None else threads

    async def __call__(
        self, fn: Callable[P, T | Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if inspect.iscoroutinefunction(fn):
            return cast(T, await fn(*args, **kwargs))
        if self.threads:
            result = await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        else:
            result = fn(*args, **kwargs)
        if inspect.isawaitable(result):  # a sync wrapper that hands back an awaitable
            return await result
        return result


async def call(fn: Callable[P, T | Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` with the platform's choice (see above)."""
    return await Offload()(fn, *args, **kwargs)
