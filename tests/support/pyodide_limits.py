"""Pyodide's limits, reproduced in CPython: no thread can start.

On Pyodide (a Cloudflare Python Worker) ``threading.Thread.start`` raises
``RuntimeError("can't start new thread")``: CPython's own message when the platform
refuses a thread. ``no_threads()`` makes the low-level starters raise exactly that, so
``Thread.start`` fails through its own code path, and with it everything built on
threads: ``concurrent.futures.ThreadPoolExecutor``, ``asyncio.to_thread`` and
``loop.run_in_executor``, anyio's ``to_thread.run_sync`` — hence FastAPI's sync
dependencies and endpoints, Starlette's ``run_in_threadpool``.

Only the thread that entered ``no_threads()`` is refused — the one that runs the Worker's
event loop, as Pyodide's single thread does. Local stub servers started before, in their
own threads, go on serving (and starting their per-request threads): they stand for the
Internet, not for the Worker.
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

THREAD_ERROR = "can't start new thread"
#: the starters CPython's threading module calls (the names vary between versions)
_STARTERS = (
    (_thread, "start_new_thread"),
    (_thread, "start_joinable_thread"),
    (threading, "_start_new_thread"),
    (threading, "_start_joinable_thread"),
)


def _refusing(original: Callable[..., Any], owner: int) -> Callable[..., Any]:
    def start(*args: Any, **kwargs: Any) -> Any:
        if _thread.get_ident() == owner:
            raise RuntimeError(THREAD_ERROR)
        return original(*args, **kwargs)

    return start


@contextmanager
def no_threads() -> Iterator[None]:
    """Within this block, this thread cannot start a thread (see above)."""
    owner = _thread.get_ident()
    saved = [(mod, name, getattr(mod, name)) for mod, name in _STARTERS if hasattr(mod, name)]
    for mod, name, original in saved:
        setattr(mod, name, _refusing(original, owner))
    try:
        yield
    finally:
        for mod, name, original in saved:
            setattr(mod, name, original)
