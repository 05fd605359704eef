"""The embedded artifact store: a folder on this machine.

Objects live at ``<root>/<key>`` so the folder can be browsed as it is. Each object's
content type is kept in a sidecar under ``<root>/.tubeq-meta/<key>.json`` (a reserved
prefix that keys may not use). Writes go to a temporary file in the same folder and are
renamed into place with ``os.replace``, which is atomic on POSIX and Windows: a reader or a
crash sees the old object or the new one, never half of one.

``url`` returns a ``file://`` URL with the absolute path. A local file has no expiry, so
``expires_in`` is only checked for being in the range R2 accepts (1 s to 7 days), to keep
callers honest for the day they switch to R2.
"""

from __future__ import annotations

import json
import mimetypes
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Self

from shared.adapter_settings import LocalArtifactSettings
from shared.artifact_rules import RESERVED_PREFIX, check_link_lifetime, validate_key
from shared.classify import classify
from shared.errors import ArtifactNotFound, ConfigError, InvalidInput

__all__ = ["ArtifactNotFound", "LocalArtifactStore", "validate_key"]

#: each object's content type lives under this (reserved) prefix
META_DIR = RESERVED_PREFIX
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class LocalArtifactStore:
    name = "local"

    def __init__(self, root: Path) -> None:
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

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._store(key, lambda fh: fh.write(data), len(data), content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Copy a file in (streamed, never read whole), as atomically as ``put``."""
        try:
            source = path.open("rb")
            size = os.fstat(source.fileno()).st_size
        except OSError as exc:
            raise InvalidInput(f"cannot read {path} to store it as {key!r}: {exc}") from exc
        with source:
            self._store(key, lambda fh: shutil.copyfileobj(source, fh), size, content_type)

    def _store(
        self, key: str, write: Callable[[IO[bytes]], object], size: int, content_type: str
    ) -> None:
        target = self.path(key)
        if not content_type.strip():
            raise InvalidInput(f"content type for {key!r} is empty; e.g. 'text/plain'")
        meta = json.dumps({"content_type": content_type, "size": size}).encode()
        try:
            # The object first, then its sidecar: after a crash in between, the object is
            # whole and only its content type may be the previous one (deterministic keys
            # keep one content type each, so that is the same value in practice).
            _atomic_write(target, write)
            _atomic_write(self._meta_path(key), lambda fh: fh.write(meta))
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
            meta = json.loads(self._meta_path(key).read_bytes())
            return str(meta["content_type"])
        except (OSError, ValueError, KeyError, TypeError):
            # A file dropped in by hand, or a sidecar lost to a crash: guess from the name.
            guessed, _ = mimetypes.guess_type(key)
            return guessed or DEFAULT_CONTENT_TYPE

    def url(self, key: str, expires_in: timedelta) -> str:
        """A ``file://`` URL of the object; local files never expire (see the module doc)."""
        check_link_lifetime(expires_in)
        target = self.path(key)
        if not target.is_file():
            raise ArtifactNotFound(f"no artifact {key!r} in {self.root}")
        return target.as_uri()

    def delete(self, key: str) -> None:
        """The object, then its sidecar (a sidecar without its object is never read)."""
        try:
            self.path(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            return  # a folder (a prefix of other keys) or a path through a file: no object
        except OSError as exc:
            raise classify(exc) from exc

    def close(self) -> None:
        """Nothing to release; here for symmetry with the networked stores."""


def _atomic_write(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name[:40]}.", suffix=".tmp", dir=target.parent
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o644)  # mkstemp makes 0600; artifacts are meant to be read by others
        tmp.replace(target)  # os.replace: atomic rename over the old object
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
