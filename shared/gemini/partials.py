"""A durable cache for the paid parts of a chunked (map-reduce) analysis.

A long video costs one call per chunk plus a merge. Without a cache, a failure on the last
chunk (a 503, the rate budget running dry, a crash) throws the paid chunks away and the retry
buys them again; with a token budget under two chunks a retry could even pay chunk 1 and run
out of budget again at chunk 2, forever. So each chunk's validated reply and its usage are
saved under a deterministic key the moment they arrive, and the next attempt reuses them.

``shared.ports.PartialStore`` is the tiny port the analyzer needs; ``ArtifactPartialStore``
puts it on the configured artifact store (local folder or R2) under ``cache/gemini/`` (the
composition root builds it and hands it to the analyzer).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import ArtifactNotFound
from shared.models import AnalysisContent, Usage
from shared.ports import ArtifactStore, PartialStore

__all__ = [
    "CACHE_PREFIX",
    "ArtifactPartialStore",
    "InMemoryPartialStore",
    "PartialStore",
    "SavedChunk",
    "chunk_key",
    "decode",
    "encode",
]

#: where chunk results live in the artifact store
CACHE_PREFIX = "cache/gemini/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SavedChunk(BaseModel):
    """One chunk's validated analysis and what it cost, as saved."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    content: AnalysisContent
    usage: Usage


def chunk_key(video_id: str, analysis_version: str, index: int, total: int, text: str) -> str:
    """Deterministic: the same chunk of the same transcript under the same analysis version
    (model + prompt) maps to the same key; a changed transcript or chunk size does not."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    version = _UNSAFE.sub("_", analysis_version)
    return (
        f"{_UNSAFE.sub('_', video_id)}/{version}/chunk-{index + 1:03d}-of-{total:03d}-{digest}.json"
    )


def encode(saved: SavedChunk) -> bytes:
    return saved.model_dump_json().encode("utf-8")


def decode(data: bytes) -> SavedChunk | None:
    """None for bytes that are not a saved chunk (a torn write, an older format): the chunk is
    then bought again rather than trusted."""
    try:
        return SavedChunk.model_validate_json(data)
    except ValidationError:
        return None


class ArtifactPartialStore:
    """``PartialStore`` on an ``ArtifactStore``, under ``cache/gemini/``."""

    def __init__(self, artifacts: ArtifactStore, prefix: str = CACHE_PREFIX) -> None:
        self._artifacts = artifacts
        self._prefix = prefix

    def get(self, key: str) -> bytes | None:
        try:
            return self._artifacts.get(self._prefix + key)
        except ArtifactNotFound:
            return None

    def put(self, key: str, data: bytes) -> None:
        self._artifacts.put(self._prefix + key, data, "application/json")


class InMemoryPartialStore:
    """``PartialStore`` in memory, for one process (tests, one-off runs): retries within the
    process reuse chunks, a restart loses them. Keeps the ``max_items`` most recent."""

    def __init__(self, max_items: int = 1024) -> None:
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._max_items = max_items
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._data[key] = data
            self._data.move_to_end(key)
            while len(self._data) > self._max_items:
                self._data.popitem(last=False)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._data)
