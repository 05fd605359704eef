"""Opening the SQLite result store's file: one way for every adapter that works on it (the
result store, template results, search and the vector index's results side), so they
agree on what a connection is and say the same thing about a bad path.

A connection here is in autocommit mode (each writer opens its own ``BEGIN IMMEDIATE``:
Python's implicit transactions would start a deferred one that a second process can turn
into a deadlock), shared by the adapter's threads under the adapter's own lock, reads rows
by name, and waits up to ``BUSY_TIMEOUT_S`` for another process's write to finish.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from shared.errors import ConfigError

#: how long a statement waits for another process's write (consumers share the file)
BUSY_TIMEOUT_S = 30.0


def results_file(path: Path, *, must_exist: bool) -> Path:
    """``path`` expanded, refused with a message that says what to do when it is a folder
    or (for a reader, ``must_exist``) when nothing has written a store there yet."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(
            f"TUBEQ_RESULTS_PATH: {path} is a folder; give a file path such as "
            f"{path / 'results.sqlite3'}"
        )
    if must_exist and not path.is_file():
        raise ConfigError(
            f"TUBEQ_RESULTS_PATH: no result store at {path}: nothing has been "
            "analysed here yet (run `tubeq demo` or `tubeq consume` first)"
        )
    return path


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the store at ``path`` (its folder is made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return db
