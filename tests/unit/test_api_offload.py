"""``producer.api.offload``: sync adapters run off the event loop under CPython, inline on
Pyodide and wherever the Worker's app runs (``threads=False``), and async ones are awaited."""

from __future__ import annotations

import asyncio
import sys
import threading

import anyio.to_thread
import pytest

from producer.api import offload
from tests.support.pyodide_limits import THREAD_ERROR, no_threads


def where() -> int:
    return threading.get_ident()


async def async_where() -> int:
    return threading.get_ident()


def test_sync_calls_run_in_a_worker_thread_under_cpython() -> None:
    async def main() -> tuple[int, int]:
        return threading.get_ident(), await offload.call(where)

    loop_thread, called_in = asyncio.run(main())
    assert called_in != loop_thread


def test_sync_calls_run_inline_on_pyodide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "emscripten")

    def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pyodide cannot start threads")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_threads)

    async def main() -> tuple[int, int]:
        return threading.get_ident(), await offload.call(where)

    loop_thread, called_in = asyncio.run(main())
    assert called_in == loop_thread


def test_async_calls_are_awaited_on_the_loop() -> None:
    async def main() -> tuple[int, int]:
        return threading.get_ident(), await offload.call(async_where)

    loop_thread, called_in = asyncio.run(main())
    assert called_in == loop_thread


def test_arguments_and_errors_pass_through() -> None:
    def divide(a: int, *, by: int) -> float:
        return a / by

    assert asyncio.run(offload.call(divide, 6, by=3)) == 2
    with pytest.raises(ZeroDivisionError):
        asyncio.run(offload.call(divide, 1, by=0))


def test_the_workers_choice_runs_inline_wherever_it_runs() -> None:
    # the Worker builds its app with threads=False: no thread even under CPython
    inline = offload.Offload(threads=False)

    async def main() -> tuple[int, int]:
        return threading.get_ident(), await inline(where)

    with no_threads():
        loop_thread, called_in = asyncio.run(main())
    assert called_in == loop_thread


def test_a_thread_offload_fails_like_pyodide_under_the_harness() -> None:
    with no_threads(), pytest.raises(RuntimeError, match=THREAD_ERROR):
        asyncio.run(offload.Offload(threads=True)(where))
