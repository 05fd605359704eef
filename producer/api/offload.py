"""One way for the async API to call an adapter, whatever kind it is and wherever it runs.

- An async adapter method (the Worker's binding queue, its async backfill) is awaited.
- A sync adapter (SQLite, psycopg, boto3, the sync httpx clients) runs in a worker thread
  under CPython (``anyio.to_thread.run_sync``), so ``tubeq serve`` never blocks its event
  loop while a query or an upload is under way.
- On Pyodide (``sys.platform == "emscripten"``, a Cloudflare Python Worker) there are no
  threads to start, so a sync call runs inline.
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


async def call(fn: Callable[P, T | Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``, awaited if async, off the event loop if sync (see above)."""
    if inspect.iscoroutinefunction(fn):
        return cast(T, await fn(*args, **kwargs))
    if threads_available():
        result = await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
    else:
        result = fn(*args, **kwargs)
    if inspect.isawaitable(result):  # a sync wrapper that hands back an awaitable
        return await result
    return result
