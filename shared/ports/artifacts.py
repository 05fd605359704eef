"""Where artifacts are kept: a local folder, or R2 with presigned links."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class FileUploader(Protocol):
    """Uploads a file from disk without reading it into memory (exports)."""

    def put_file(
        self, key: str, path: Path, content_type: str, *, title: str | None = None
    ) -> None: ...


@runtime_checkable
class ArtifactStore(FileUploader, Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        """Write (or overwrite) an object; keys are deterministic, so retries overwrite.
        ``title`` (the video's) names the download (``Content-Disposition``)."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def content_type(self, key: str) -> str:
        """The content type the object was stored with."""
        ...

    def url(self, key: str, expires_in: timedelta) -> str:
        """A link anyone can download the object from, valid for ``expires_in``."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object; removing one that is not there is not an error (as on S3)."""
        ...

    def close(self) -> None: ...
