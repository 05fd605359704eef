"""Operating-system failures on local files (the artifact folder, the SQLite files).

- permission denied, or a read-only file system → ``StorePermissionDenied`` (a systemic
  ``ConfigError``): every file there fails the same way until someone changes the folder's
  owner or mode, or points the setting elsewhere; the message names the path and the user.
- no space left (or over quota) → ``StoreUnavailable``: an outage, not the video's fault;
  the consumer pauses, hands its messages back, and resumes once space is freed.

Anything else is left to the other mappers (a connection error or timeout is the network's,
``shared.classify.http``), or ends as ``UnexpectedError``.
"""

from __future__ import annotations

import errno
import os

from shared.errors import StorePermissionDenied, StoreUnavailable, TubeqError

_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_FULL = {errno.ENOSPC, errno.EDQUOT}
_SETTINGS = "TUBEQ_ARTIFACTS_DIR, TUBEQ_DATA_DIR, TUBEQ_QUEUE_PATH, TUBEQ_RESULTS_PATH"


def map_exception(exc: BaseException) -> TubeqError | None:
    if not isinstance(exc, OSError):
        return None
    where = _path(exc)
    if isinstance(exc, PermissionError) or exc.errno in _DENIED:
        if exc.errno == errno.EROFS:
            fix = f"mount it writable or point {_SETTINGS} to a writable folder"
        else:
            user = _user()
            fix = (
                f"give the user running tubeq ({user}) write access to it (e.g. `chown -R "
                f"{user} <folder>`) or point {_SETTINGS} to a folder it may write"
            )
        return StorePermissionDenied(f"cannot write {where}: {exc.strerror or exc}; {fix}")
    if exc.errno in _FULL:
        return StoreUnavailable(
            f"no space left to write {where} ({exc.strerror}); free disk space (or move "
            f"{_SETTINGS} to a larger disk): the consumer resumes by itself"
        )
    return None


def _path(exc: OSError) -> str:
    name = exc.filename
    if name is None:
        return "a local file"
    return os.fsdecode(name) if isinstance(name, bytes | str) else str(name)


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError):  # pragma: no cover - not on POSIX, no passwd
        return str(os.geteuid())
