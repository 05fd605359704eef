"""The contract every artifact store (local folder, R2/S3) must keep.

Use it by subclassing in a ``test_*.py`` module and providing two fixtures::

    class TestR2ArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def artifacts(self, ...) -> Iterator[ArtifactStore]:
            ...  # a fresh, EMPTY store
        @pytest.fixture
        def download(self) -> Callable[[str], bytes]:
            ...  # fetch what a URL from ``url()`` points at (a file read, an HTTP GET)

Besides the port's methods, stores offer ``content_type(key)`` (what ``put`` stored), so
the content type round trip is part of the contract. A missing object is an error whose
``code`` is ``artifact_not_found`` (a ``PermanentError``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared.artifacts import render_artifacts, report_key, transcript_keys
from shared.errors import InvalidInput, PermanentError
from shared.ports import ArtifactStore
from tests.support import factories as f

Download = Callable[[str], bytes]
HOUR = timedelta(hours=1)

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside.txt",
    "reports/../../outside.txt",
    "reports/./x.md",
    "reports//x.md",
    "reports/x.md/..",
    "reports\\x.md",
    "nul\x00byte",
    "line\nbreak",
    "a" * 1025,
]


class ArtifactStoreContract:
    @pytest.fixture
    def artifacts(self) -> Iterator[ArtifactStore]:
        raise NotImplementedError("subclasses provide a fresh, empty artifact store")

    @pytest.fixture
    def download(self) -> Download:
        raise NotImplementedError("subclasses say how to fetch a URL from url()")

    @staticmethod
    def content_type_of(store: ArtifactStore, key: str) -> str:
        getter: Any = getattr(store, "content_type", None)
        assert callable(getter), f"{type(store).__name__} needs content_type(key) -> str"
        value: str = getter(key)
        return value

    def test_implements_the_port(self, artifacts: ArtifactStore) -> None:
        assert isinstance(artifacts, ArtifactStore)
        assert isinstance(artifacts.name, str)
        assert artifacts.name

    def test_put_then_get(self, artifacts: ArtifactStore) -> None:
        data = "résumé — 日本語 🎬\n".encode()
        artifacts.put("transcripts/tq0000001-x.txt", data, "text/plain; charset=utf-8")
        assert artifacts.get("transcripts/tq0000001-x.txt") == data
        assert artifacts.exists("transcripts/tq0000001-x.txt")

    def test_exists_is_false_for_missing_keys(self, artifacts: ArtifactStore) -> None:
        assert not artifacts.exists("transcripts/never-written.json")
        artifacts.put("reports/a/b.md", b"x", "text/markdown; charset=utf-8")
        assert not artifacts.exists("reports/a")  # a prefix is not an object
        assert not artifacts.exists("reports/a/b.m")

    def test_get_missing_is_a_clear_permanent_error(self, artifacts: ArtifactStore) -> None:
        with pytest.raises(PermanentError) as info:
            artifacts.get("reports/missing/v1.md")
        assert info.value.code == "artifact_not_found"
        assert "reports/missing/v1.md" in str(info.value)

    def test_overwrite_replaces_data_and_content_type(self, artifacts: ArtifactStore) -> None:
        key = "transcripts/tq0000002-x.json"
        artifacts.put(key, b'{"v": 1, "long": "' + b"x" * 5000 + b'"}', "text/plain")
        artifacts.put(key, b'{"v": 2}', "application/json")
        assert artifacts.get(key) == b'{"v": 2}'
        assert self.content_type_of(artifacts, key) == "application/json"

    def test_empty_object(self, artifacts: ArtifactStore) -> None:
        artifacts.put("transcripts/empty.srt", b"", "application/x-subrip")
        assert artifacts.exists("transcripts/empty.srt")
        assert artifacts.get("transcripts/empty.srt") == b""

    def test_binary_data_round_trips(self, artifacts: ArtifactStore) -> None:
        data = bytes(range(256)) * 40
        artifacts.put("blobs/all-bytes.bin", data, "application/octet-stream")
        assert artifacts.get("blobs/all-bytes.bin") == data

    def test_rendered_artifacts_round_trip_with_content_types(
        self, artifacts: ArtifactStore
    ) -> None:
        vid = f.video_id(3)
        rendered = render_artifacts(f.transcript(vid), f.analysis(vid), f.meta(vid))
        for item in rendered:
            artifacts.put(item.key, item.data, item.content_type)
        for item in rendered:
            assert artifacts.get(item.key) == item.data
            assert self.content_type_of(artifacts, item.key) == item.content_type
        assert set(transcript_keys(vid).values()) | {
            report_key(vid, f.analysis(vid).analysis_version)
        } == {item.key for item in rendered}

    def test_url_downloads_the_object(self, artifacts: ArtifactStore, download: Download) -> None:
        data = "# Rapport — ünïcödé\n".encode()
        key = "reports/tq0000004-x/gemini_test-model_p1.md"
        artifacts.put(key, data, "text/markdown; charset=utf-8")
        url = artifacts.url(key, HOUR)
        assert isinstance(url, str)
        assert download(url) == data
        artifacts.put(key, b"v2", "text/markdown; charset=utf-8")
        assert download(artifacts.url(key, HOUR)) == b"v2"

    @pytest.mark.parametrize(
        "lifetime", [timedelta(0), timedelta(seconds=-5), timedelta(days=7, seconds=1)]
    )
    def test_url_refuses_lifetimes_r2_cannot_sign(
        self, artifacts: ArtifactStore, lifetime: timedelta
    ) -> None:
        artifacts.put("reports/x/y.md", b"x", "text/markdown; charset=utf-8")
        with pytest.raises(InvalidInput):
            artifacts.url("reports/x/y.md", lifetime)

    @pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
    def test_bad_keys_are_refused(self, artifacts: ArtifactStore, key: str) -> None:
        with pytest.raises(InvalidInput):
            artifacts.put(key, b"x", "text/plain")
        with pytest.raises(InvalidInput):
            artifacts.get(key)
        with pytest.raises(InvalidInput):
            artifacts.exists(key)

    @pytest.mark.parametrize(
        "key",
        [
            "reports/Zoë/café — 日本語.md",
            "reports/emoji 🎬/plus+and&amp;=percent%20.md",
            "exports/UC123/2025-03-14 (final).csv",
        ],
    )
    def test_unicode_and_punctuated_keys(
        self, artifacts: ArtifactStore, download: Download, key: str
    ) -> None:
        data = f"contents of {key}".encode()
        artifacts.put(key, data, "text/plain; charset=utf-8")
        assert artifacts.exists(key)
        assert artifacts.get(key) == data
        assert download(artifacts.url(key, HOUR)) == data

    def test_keys_are_independent(self, artifacts: ArtifactStore) -> None:
        artifacts.put("transcripts/a.txt", b"a", "text/plain")
        artifacts.put("transcripts/a.txt.bak", b"b", "text/plain")
        assert artifacts.get("transcripts/a.txt") == b"a"
        assert artifacts.get("transcripts/a.txt.bak") == b"b"
