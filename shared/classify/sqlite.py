"""SQLite failures (the embedded queue and result store) mapped to tubeq's errors.

- busy or locked past the busy timeout (another process holds the write lock that long),
  an I/O error, a full disk → ``StoreUnavailable``: an outage of the file, not the video's
  fault; the consumer pauses and hands its messages back without spending their attempts.
- the file cannot be used at all (cannot open, read-only, not a database, no permission)
  → ``ConfigError``: a setting or the folder's permissions must change.
- a trigger of the schema refused the row (``RAISE(ABORT, …)``, e.g. a batch item with an
  empty video id) → ``InvalidInput`` with the trigger's text: the caller's data is wrong,
  a retry cannot fix it (the Postgres stores raise the same, ``shared.results_common``).
"""

from __future__ import annotations

import sqlite3

from shared.errors import ConfigError, InvalidInput, StoreUnavailable, TubeqError

# Another process holds the lock (past the busy timeout), or the disk failed: wait.
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_IOERR"}
_FULL = {"SQLITE_FULL"}
# The file cannot be used at all: retrying will not help, a setting must change.
_UNUSABLE = {"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_NOTADB", "SQLITE_PERM"}
_SETTINGS = "TUBEQ_DATA_DIR, TUBEQ_QUEUE_PATH and TUBEQ_RESULTS_PATH"


def map_exception(exc: BaseException) -> TubeqError | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _FULL or "database or disk is full" in str(exc):
        return StoreUnavailable(
            f"the disk holding the SQLite file is full ({name or exc}); free some space "
            f"(or move {_SETTINGS} to a larger disk): the consumer resumes by itself"
        )
    if name in _UNUSABLE or name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
        return ConfigError(
            f"cannot use the SQLite file ({name}: {exc}); check {_SETTINGS} (a folder this "
            "user may write, e.g. `chown` it or point the setting elsewhere)"
        )
    if name == "SQLITE_CONSTRAINT_TRIGGER":
        # only our own triggers RAISE, and each says what was wrong and what to do
        return InvalidInput(str(exc))
    if (
        name in _BUSY
        or name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR"))
        or "locked" in str(exc)
    ):
        return StoreUnavailable(f"SQLite is busy or failing ({name or exc}); will retry")
    return None
