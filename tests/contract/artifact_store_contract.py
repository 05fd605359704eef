"""The contract every ``shared.ports.ArtifactStore`` (local folder, R2/S3) must keep.

An adapter's test module subclasses ``ArtifactStoreContract`` and provides a ``harness``
fixture returning an ``ArtifactStoreHarness``: it builds fresh, EMPTY stores, fetches what a
URL from ``url()`` points at (a file read, an HTTP GET with no credentials) and declares
what differs between backends, so no test is copied to change one assertion.

A missing object is an error whose ``code`` is ``artifact_not_found`` (a ``PermanentError``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol

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


class ArtifactStoreHarness(Protocol):
    #: the store's ``name``
    name: str
    #: whether ``url`` refuses a missing object (a local file is looked at; a presigned link
    #: is signed locally, without a request, and answers 404 only when opened)
    url_checks_existence: bool

    def make(self) -> ArtifactStore:
        """A fresh, EMPTY store."""
        ...

    def download(self, url: str) -> bytes:
        """What a URL from ``url()`` points at, fetched as a reader would."""
        ...

    def saved_as(self, url: str) -> str:
        """The file name a browser saves the download of ``url`` under: the
        ``Content-Disposition`` filename of an HTTP answer, the name of the file a
        ``file://`` URL opens (it cannot carry a header)."""
        ...


class ArtifactStoreContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def artifacts(self, harness: ArtifactStoreHarness) -> Iterator[ArtifactStore]:
        store = harness.make()
        yield store
        store.close()

    @pytest.fixture
    def download(self, harness: ArtifactStoreHarness) -> Download:
        return harness.download

    def test_implements_the_port(
        self, harness: ArtifactStoreHarness, artifacts: ArtifactStore
    ) -> None:
        assert isinstance(artifacts, ArtifactStore)
        assert artifacts.name == harness.name

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
        assert artifacts.content_type(key) == "application/json"

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
            assert artifacts.content_type(item.key) == item.content_type
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

    def test_a_download_is_saved_under_the_video_and_kind_not_the_version(
        self, harness: ArtifactStoreHarness, artifacts: ArtifactStore
    ) -> None:
        vid = f.video_id(5)
        rendered = render_artifacts(f.transcript(vid), f.analysis(vid), None)
        for item in rendered:
            artifacts.put(item.key, item.data, item.content_type)
        names = {r.kind: harness.saved_as(artifacts.url(r.key, HOUR)) for r in rendered}
        assert names == {
            "transcript_json": f"{vid}-transcript.json",
            "transcript_txt": f"{vid}-transcript.txt",
            "transcript_srt": f"{vid}-transcript.srt",
            "transcript_vtt": f"{vid}-transcript.vtt",
            "report_md": f"{vid}-report.md",
        }

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

    def test_put_file_streams_a_file_in(
        self, artifacts: ArtifactStore, download: Download, tmp_path: Path
    ) -> None:
        source = tmp_path / "analyses.csv"
        data = ("video_id,title\n" + "tq0000001-x,Zoë & 日本語 🎬\n" * 20_000).encode()
        source.write_bytes(data)
        key = "exports/UC123/analyses.csv"
        artifacts.put_file(key, source, "text/csv; charset=utf-8")
        assert artifacts.get(key) == data
        assert artifacts.content_type(key) == "text/csv; charset=utf-8"
        assert download(artifacts.url(key, HOUR)) == data
        source.write_bytes(b"second export")
        artifacts.put_file(key, source, "text/csv; charset=utf-8")  # re-exports overwrite
        assert artifacts.get(key) == b"second export"

    def test_put_file_of_a_missing_file_is_refused(
        self, artifacts: ArtifactStore, tmp_path: Path
    ) -> None:
        with pytest.raises(InvalidInput):
            artifacts.put_file("exports/x.csv", tmp_path / "nothing.csv", "text/csv")
        assert not artifacts.exists("exports/x.csv")

    def test_content_type_of_a_missing_object_is_not_found(self, artifacts: ArtifactStore) -> None:
        with pytest.raises(PermanentError) as info:
            artifacts.content_type("reports/missing.md")
        assert info.value.code == "artifact_not_found"

    def test_url_of_a_missing_object(
        self, harness: ArtifactStoreHarness, artifacts: ArtifactStore
    ) -> None:
        if harness.url_checks_existence:
            with pytest.raises(PermanentError, match=r"nothing\.md") as info:
                artifacts.url("reports/nothing.md", HOUR)
            assert info.value.code == "artifact_not_found"
        else:
            assert isinstance(artifacts.url("reports/nothing.md", HOUR), str)

    def test_close_twice_is_harmless(self, harness: ArtifactStoreHarness) -> None:
        store = harness.make()
        store.close()
        store.close()

    def test_delete_removes_the_object_and_is_idempotent(self, artifacts: ArtifactStore) -> None:
        artifacts.put("doctor/probe.txt", b"probe", "text/plain")
        artifacts.put("doctor/probe.txt.keep", b"kept", "text/plain")
        artifacts.delete("doctor/probe.txt")
        assert not artifacts.exists("doctor/probe.txt")
        with pytest.raises(PermanentError):
            artifacts.get("doctor/probe.txt")
        artifacts.delete("doctor/probe.txt")  # again: nothing there, no error
        artifacts.delete("doctor")  # a prefix is not an object
        assert artifacts.get("doctor/probe.txt.keep") == b"kept"
        with pytest.raises(InvalidInput):
            artifacts.delete("../outside.txt")
