"""The embedded artifact store: a folder on this machine.

Objects live at ``<root>/<key>`` so the folder can be browsed as it is. Each object's
content type is kept in a sidecar under ``<root>/.tubeq-meta/<key>.json`` (names starting
``.tubeq-`` are reserved: no key may use them). Writes go to a temporary file in the same
folder and are renamed into place with ``os.replace``, which is atomic on POSIX and Windows:
a reader or a crash sees the old object or the new one, never half of one.

A writer killed mid-write (SIGKILL, a power cut) leaves its temporary file behind. Those are
named ``.tubeq-tmp-<name>.<random>.tmp`` and their writer holds an exclusive ``flock`` on them
while it writes (the kernel releases it when the process dies), so a store starting later
removes the ones older than ``stale_temp_age`` that nobody holds (at most once per that
period, remembered by the mtime of ``<root>/.tubeq-sweep``: a sweep walks the whole folder).

``url`` returns a ``file://`` URL with the absolute path. A file has no headers, so it
cannot carry the ``Content-Disposition`` R2's links do; instead the URL points at a
symbolic link under ``<root>/.tubeq-links/<key>/`` named as R2 would name the download
(``<title>-report.md``), which browsers and file managers save under that name. A local
file has no expiry, so ``expires_in`` is only checked for being in the range R2 accepts
(1 s to 7 days), to keep callers honest for the day they switch to R2.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Self

from shared.adapter_settings import LocalArtifactSettings
from shared.artifact_rules import (
    RESERVED_PREFIX,
    check_link_lifetime,
    download_name,
    validate_key,
)
from shared.classify import classify
from shared.errors import ArtifactNotFound, ConfigError, InvalidInput

__all__ = ["ArtifactNotFound", "LocalArtifactStore", "validate_key"]

#: each object's content type lives under this (reserved) prefix
META_DIR = RESERVED_PREFIX
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: well-named symbolic links to the objects, for ``url``
LINKS_DIR = ".tubeq-links"
#: temporary files: ``.tubeq-tmp-<target name>.<random>.tmp`` next to their target
TEMP_PREFIX = ".tubeq-tmp-"
TEMP_SUFFIX = ".tmp"
#: what earlier versions named them (``.<target name>.<8 random>.tmp``), swept as well
_OLD_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
#: its mtime is when the folder was last swept for abandoned temporary files
SWEEP_MARKER = ".tubeq-sweep"
#: A temporary file untouched for this long, with no writer holding its lock, is abandoned.
#: A live writer touches it with every write and holds the lock, so this is a safety margin
#: (and the only test where ``flock`` does not exist: Windows).
STALE_TEMP_AGE = timedelta(hours=1)


class LocalArtifactStore:
    name = "local"

    def __init__(self, root: Path, *, stale_temp_age: timedelta = STALE_TEMP_AGE) -> None:
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(
                f"TUBEQ_ARTIFACTS_DIR: {self.root} exists and is not a folder; "
                "point it at a folder (it is created if missing)"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"TUBEQ_ARTIFACTS_DIR: cannot create {self.root}: {exc}") from exc
        #: the abandoned temporary files this store removed when it started
        self.swept: list[Path] = sweep_abandoned_temp_files(self.root, stale_temp_age)

    @classmethod
    def from_settings(cls, section: LocalArtifactSettings) -> Self:
        return cls(section.folder)

    # ---- paths ----------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """Where ``key`` lives on disk (the key is validated first)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _meta_path(self, key: str) -> Path:
        # key + ".json" is one-to-one, so two keys never share a sidecar
        return self.root.joinpath(META_DIR, *(validate_key(key) + ".json").split("/"))

    # ---- the port -------------------------------------------------------------------

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        """Write an object; ``title`` (the video's) names the file ``url`` links to."""
        self._store(key, bytes(data), len(data), content_type, title)

    def put_file(
        self, key: str, path: Path, content_type: str, *, title: str | None = None
    ) -> None:
        """Copy a file in (streamed, never read whole), as atomically as ``put``."""
        try:
            source = path.open("rb")
            size = os.fstat(source.fileno()).st_size
        except OSError as exc:
            raise InvalidInput(f"cannot read {path} to store it as {key!r}: {exc}") from exc
        with source:
            self._store(key, lambda fh: shutil.copyfileobj(source, fh), size, content_type, title)

    def _store(
        self,
        key: str,
        write: Callable[[IO[bytes]], object] | bytes,
        size: int,
        content_type: str,
        title: str | None,
    ) -> None:
        target = self.path(key)
        if not content_type.strip():
            raise InvalidInput(f"content type for {key!r} is empty; e.g. 'text/plain'")
        meta = json.dumps(
            {"content_type": content_type, "size": size, "filename": download_name(key, title)}
        ).encode()
        try:
            # The object first, then its sidecar: after a crash in between, the object is
            # whole and only its content type may be the previous one (deterministic keys
            # keep one content type each, so that is the same value in practice).
            _atomic_write(target, write)
            # The sidecar without an fsync of its own (one per object, not two): one lost or
            # torn by a power cut reads as missing, and ``content_type`` / ``url`` fall back to
            # what the key says (the name's type, the default download name).
            _atomic_write(self._meta_path(key), meta, durable=False)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            # S3 has no folders, a disk does: "a" and "a/b" cannot both be objects here.
            raise InvalidInput(
                f"artifact key {key!r} clashes with an existing key that is a folder "
                f"or a file on this path in {self.root}; choose another key"
            ) from exc
        except OSError as exc:
            raise classify(exc) from exc

    def get(self, key: str) -> bytes:
        target = self.path(key)
        try:
            return target.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ArtifactNotFound(f"no artifact {key!r} in {self.root}") from None
        except OSError as exc:
            raise classify(exc) from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def content_type(self, key: str) -> str:
        """The content type ``put`` stored with the object."""
        if not self.exists(key):
            raise ArtifactNotFound(f"no artifact {key!r} in {self.root}")
        try:
            return str(self._meta(key)["content_type"])
        except (KeyError, TypeError):
            # A file dropped in by hand, or a sidecar lost to a crash: guess from the name.
            guessed, _ = mimetypes.guess_type(key)
            return guessed or DEFAULT_CONTENT_TYPE

    def _meta(self, key: str) -> dict[str, Any]:
        try:
            meta = json.loads(self._meta_path(key).read_bytes())
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def url(self, key: str, expires_in: timedelta) -> str:
        """A ``file://`` URL of the object, through a link named as the download should be
        (see the module doc); local files never expire."""
        check_link_lifetime(expires_in)
        target = self.path(key)
        if not target.is_file():
            raise ArtifactNotFound(f"no artifact {key!r} in {self.root}")
        name = self._meta(key).get("filename")
        name = name if isinstance(name, str) and name else download_name(key)
        if name == target.name or "/" in name or name.startswith("."):
            return target.as_uri()
        return self._named_link(key, target, name).as_uri()

    def _named_link(self, key: str, target: Path, name: str) -> Path:
        """``<root>/.tubeq-links/<key>/<name>`` → the object (relative, so the folder can
        move); the object itself where symbolic links are refused (Windows without the
        privilege)."""
        folder = self.root.joinpath(LINKS_DIR, *key.split("/"))
        link = folder / name
        relative = os.path.relpath(target, folder)
        try:
            if str(link.readlink()) == relative:
                return link
        except OSError:
            pass
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staged = folder / f"{TEMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}{TEMP_SUFFIX}"
            staged.symlink_to(relative)
            staged.replace(link)  # atomic, even over a link another process just made
        except OSError:
            return target
        return link

    def delete(self, key: str) -> None:
        """The object, then its sidecar (a sidecar without its object is never read)."""
        try:
            self.path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)
            links = self.root.joinpath(LINKS_DIR, *key.split("/"))
            for link in links.iterdir() if links.is_dir() else ():
                if link.is_symlink():
                    link.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            return  # a folder (a prefix of other keys) or a path through a file: no object
        except OSError as exc:
            raise classify(exc) from exc

    def close(self) -> None:
        """Nothing to release; here for symmetry with the networked stores."""


def _atomic_write(
    target: Path, write: Callable[[IO[bytes]], object] | bytes, *, durable: bool = True
) -> None:
    """Write through a temporary file renamed over ``target``: whole or not at all; with
    ``durable``, on disk (fsync) before the rename. ``write`` is the bytes, or a function
    that writes them to the file.

    Plain ``os`` calls on the descriptor, about half the system calls of ``mkstemp`` and a
    file object (no ``mkdir`` of a folder that is there, no ``fstat``/``ioctl``/``lseek`` of
    opening a file object, ``fchmod`` instead of ``chmod`` by path): a video writes ten of
    these (five objects and their sidecars), and they were its largest CPU cost."""
    fd, tmp = _create_temp(target)
    try:
        _lock(fd, blocking=True)  # "being written": a sweep leaves it alone (module doc)
        if hasattr(os, "fchmod"):  # not on Windows (before 3.13), where files are readable
            os.fchmod(fd, 0o644)  # created 0600, as mkstemp did: artifacts are for others
        if isinstance(write, bytes):
            view = memoryview(write)
            while view:
                view = view[os.write(fd, view) :]
        else:
            with os.fdopen(os.dup(fd), "wb") as fh:
                write(fh)
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        tmp.replace(target)  # os.replace: atomic rename over the old object
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new temporary file next to ``target`` (its folder made when missing), open for
    writing: ``.tubeq-tmp-<name>.<random>.tmp``, created exclusively (never an existing one)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)  # Windows: no newline translation
    prefix = f"{TEMP_PREFIX}{target.name[:40]}."
    for attempt in range(100):
        tmp = target.parent / f"{prefix}{secrets.token_hex(5)}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue  # another writer's name (1 in 2**40): draw again
        except FileNotFoundError:
            if attempt:
                raise
            target.parent.mkdir(parents=True, exist_ok=True)  # the first object in it
            with contextlib.suppress(FileExistsError):
                return os.open(tmp, flags, 0o600), tmp
    raise FileExistsError(f"no free temporary file name next to {target}")


def sweep_abandoned_temp_files(root: Path, older_than: timedelta) -> list[Path]:
    """Remove the temporary files writers killed mid-write left under ``root``.

    At most once per ``older_than`` (the walk reads every folder); a file is removed only
    when it is older than that and no process holds its lock, so one being written now by
    another consumer is never touched. Best effort: what cannot be removed stays.
    """
    cutoff = time.time() - older_than.total_seconds()
    marker = root / SWEEP_MARKER
    try:
        if marker.stat().st_mtime > cutoff:
            return []
    except OSError:
        pass
    try:
        marker.touch()  # first, so stores starting together do not all walk
    except OSError:
        return []
    removed: list[Path] = []
    for folder, _, names in os.walk(root):
        for name in names:
            if (
                name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)
            ) or _OLD_TEMP_NAME.match(name):
                path = Path(folder, name)
                if _remove_if_abandoned(path, cutoff):
                    removed.append(path)
    return removed


def _remove_if_abandoned(path: Path, cutoff: float) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        # a staged symbolic link of ``url`` (O_NOFOLLOW) or already gone: by its age alone
        with contextlib.suppress(OSError):
            if path.is_symlink() and path.lstat().st_mtime < cutoff:
                path.unlink()
                return True
        return False
    try:
        if os.fstat(fd).st_mtime >= cutoff or not _lock(fd, blocking=False):
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _lock(fd: int, *, blocking: bool) -> bool:
    """An exclusive ``flock`` on ``fd``: False when another process holds one."""
    if sys.platform == "win32":
        return True  # no flock: the age alone decides
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True
