"""SQLite failures (the embedded queue and result store) mapped to tubeq's errors."""

from __future__ import annotations

import sqlite3

from shared.errors import ConfigError, TubeqError, UpstreamUnavailable

# Another process holds the lock: wait and try again.
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_IOERR"}
# The file cannot be used at all: retrying will not help, a setting must change.
_UNUSABLE = {"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_FULL", "SQLITE_NOTADB", "SQLITE_PERM"}


def map_exception(exc: BaseException) -> TubeqError | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _UNUSABLE or name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
        return ConfigError(
            f"cannot use the SQLite file ({name}: {exc}); check TUBEQ_DATA_DIR, "
            "TUBEQ_QUEUE_PATH and TUBEQ_RESULTS_PATH (writable folder, free disk space)"
        )
    if name in _BUSY or name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc):
        return UpstreamUnavailable(f"SQLite is busy ({name or exc}); will retry")
    return None
