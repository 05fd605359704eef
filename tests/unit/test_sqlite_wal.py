"""Several processes opening one new SQLite file at once (consumers started together)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path


def _open(path: str, kind: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    try:
        if kind == "results":
            from shared.adapters.sqlite_results import SqliteResultStore

            SqliteResultStore(Path(path)).close()
        else:
            from shared.adapters.sqlite_queue import SqliteQueue

            q = SqliteQueue(Path(path))
            q.stats()
            q.close()
        out.put("ok")
    except Exception as exc:
        out.put(repr(exc))


def test_racing_openers_all_succeed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")  # fork from a threaded pytest is unsafe
    for round_, kind in enumerate(["results", "queue"]):
        path = str(tmp_path / f"{kind}-{round_}.sqlite3")
        out = ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, kind, out)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        results = [out.get(timeout=5) for _ in procs]
        assert results == ["ok"] * 6, results
