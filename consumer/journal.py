"""The paid-reply journal: a model's reply kept on the consumer's own disk before the result
store is asked to keep it.

``save_analysis`` can fail (the store is down, the disk under SQLite is full, SQLite stays
busy past its timeout). Without this, the reply bought a moment ago is lost with the
exception and the next delivery pays for it again. So the pipeline writes the reply here
first, one file per (video, analysis version), atomically (a temporary file, fsync, rename,
fsync of the folder), then saves it in the store and removes the file once the store has
it. A redelivery on this machine reads the journal before it claims or pays, and reuses the
reply.

The billed calls that bought the reply go into the same file: a kill after the journal
write but before the spend ledger has them would otherwise lose their rows while the reply
itself survives (the fault suite saw it). Reusing an entry records its calls again; the
ledger's ``call_id`` makes that one row.

Local by design: a file write is the one thing that works when the store does not. A
redelivery that lands on another machine does not see this journal; the pipeline keeps its
analysis claim while a reply is journaled but unsaved, so others wait for the claim to run
out instead of paying at once (see ``consumer.pipeline``).

An entry nobody comes back for (the video was finished elsewhere) is removed when a
delivery of that video finds it done, and entries older than ``max_age_s`` are dropped when
the journal is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ValidationError

from shared.logging import get_logger
from shared.models import Analysis, BilledCall

log = get_logger("tubeq.journal")

#: a week: far beyond any retry schedule, so only the forgotten are dropped
DEFAULT_MAX_AGE_S = 7 * 86400.0
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_SUFFIX = ".json"


class _Entry(BaseModel):
    """One file's content: the reply and the billed calls that bought it."""

    analysis: Analysis
    calls: list[BilledCall] = []


class ReplyJournal(Protocol):
    """Where a paid reply waits until the result store has it."""

    def keep(self, analysis: Analysis, calls: Sequence[BilledCall] = ()) -> None:
        """Keep ``analysis`` and the ``calls`` billed for it durably (on disk when this
        returns); overwrites an older entry."""
        ...

    def find(self, video_id: str, analysis_version: str) -> Analysis | None:
        """The kept reply of (video, version), or None."""
        ...

    def calls(self, video_id: str, analysis_version: str) -> list[BilledCall]:
        """The billed calls kept with that reply (empty when none is kept)."""
        ...

    def forget(self, video_id: str, analysis_version: str) -> None:
        """The store has it: drop it (nothing kept is not an error)."""
        ...

    @property
    def location(self) -> str:
        """Where it keeps replies, for messages."""
        ...

    def free_bytes(self) -> int | None:
        """Free space where replies are kept (None: unknown)."""
        ...


class FileReplyJournal:
    """One JSON file per (video, analysis version) in ``directory``."""

    def __init__(self, directory: Path, *, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        #: replies whose file could not be written (a full disk): kept for this process, so
        #: a redelivery here still reuses them instead of paying again
        self._memory: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()  # consumer threads share one journal
        self._prune(max_age_s)

    @property
    def location(self) -> str:
        return str(self.directory)

    def free_bytes(self) -> int | None:
        try:
            stats = os.statvfs(self.directory)
        except (OSError, AttributeError):  # no statvfs (Windows) or the folder is gone
            return None
        return stats.f_bavail * stats.f_frsize

    def path(self, video_id: str, analysis_version: str) -> Path:
        """Deterministic; the version (``gemini:model:prompt``) goes in as a digest, so any
        character in it is safe in a file name."""
        digest = hashlib.sha256(analysis_version.encode()).hexdigest()[:24]
        return self.directory / f"{_SAFE.sub('_', video_id)}.{digest}{_SUFFIX}"

    def keep(self, analysis: Analysis, calls: Sequence[BilledCall] = ()) -> None:
        """Write the entry durably; if the disk refuses (full), the entry is remembered by
        this process (``find`` returns it, the file is written once there is room) and the
        OSError is raised so the caller knows it is not on disk yet."""
        entry = _Entry(analysis=analysis, calls=list(calls))
        try:
            self._write(entry)
        except OSError:
            self._remember(entry)
            raise

    def _write(self, entry: _Entry) -> None:
        target = self.path(entry.analysis.video_id, entry.analysis.analysis_version)
        data = entry.model_dump_json().encode()
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=_SUFFIX)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._sync_directory()

    def _remember(self, entry: _Entry) -> None:
        """The file could not be written (a full disk): keep the reply for this process."""
        with self._lock:
            self._memory[(entry.analysis.video_id, entry.analysis.analysis_version)] = entry

    def _spill(self) -> None:
        """Write remembered entries to disk once it has room again, so the other consumers
        on this machine find them too (and a crash of this one no longer loses them)."""
        with self._lock:
            waiting = list(self._memory.items())
        for key, entry in waiting:
            try:
                self._write(entry)
            except OSError:
                return  # still full: try again at the next look
            with self._lock:
                if self._memory.get(key) is entry:
                    del self._memory[key]
            log.info("journal.written_late", video_id=key[0])

    def find(self, video_id: str, analysis_version: str) -> Analysis | None:
        entry = self._entry(video_id, analysis_version)
        return entry.analysis if entry is not None else None

    def calls(self, video_id: str, analysis_version: str) -> list[BilledCall]:
        entry = self._entry(video_id, analysis_version)
        return list(entry.calls) if entry is not None else []

    def _entry(self, video_id: str, analysis_version: str) -> _Entry | None:
        if self._memory:
            self._spill()
        with self._lock:
            remembered = self._memory.get((video_id, analysis_version))
        if remembered is not None:
            return remembered
        path = self.path(video_id, analysis_version)
        try:
            data = path.read_bytes()
            try:
                entry = _Entry.model_validate_json(data)
            except ValidationError:  # an entry from before calls were kept: the reply alone
                entry = _Entry(analysis=Analysis.model_validate_json(data))
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as exc:
            # unreadable (a torn disk, an older shape): as if not kept; the store decides
            log.warning("journal.unreadable", video_id=video_id, path=str(path), error=repr(exc))
            return None
        analysis = entry.analysis
        if analysis.video_id != video_id or analysis.analysis_version != analysis_version:
            return None  # a digest collision, in theory
        return entry

    def forget(self, video_id: str, analysis_version: str) -> None:
        with self._lock:
            self._memory.pop((video_id, analysis_version), None)
        with contextlib.suppress(FileNotFoundError):
            self.path(video_id, analysis_version).unlink()

    def pending(self) -> list[Path]:
        """The replies kept and not yet forgotten (for operators and tests)."""
        return sorted(p for p in self.directory.glob(f"*{_SUFFIX}") if not p.name.startswith("."))

    def _sync_directory(self) -> None:
        """Make the rename itself durable (POSIX: fsync the folder)."""
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _prune(self, max_age_s: float) -> None:
        cutoff = time.time() - max_age_s
        for path in self.directory.glob(f"*{_SUFFIX}"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    log.info("journal.pruned", path=str(path))
