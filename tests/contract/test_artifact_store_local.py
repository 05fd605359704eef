"""The local artifact store: the shared contract, plus what only a folder has (atomic
renames, file:// links, sidecars, paths that must stay inside the root)."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.local_artifacts import LocalArtifactStore
from shared.errors import ConfigError, InvalidInput, TubeqError
from shared.settings import Settings
from tests.contract.artifact_store_contract import ArtifactStoreContract


def read_file_url(url: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "file", url
    return Path(urllib.request.url2pathname(parts.path)).read_bytes()


@dataclass
class LocalHarness:
    root: Path
    name: str = "local"
    url_checks_existence: bool = True

    def make(self) -> LocalArtifactStore:
        return LocalArtifactStore(self.root)

    def download(self, url: str) -> bytes:
        return read_file_url(url)


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> LocalHarness:
        return LocalHarness(tmp_path / "artifacts")


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


def _stray_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def test_from_settings_uses_the_artifacts_folder(tmp_path: Path) -> None:
    store = LocalArtifactStore.from_settings(Settings(data_dir=tmp_path / "d").local_artifacts)
    assert store.root == (tmp_path / "d" / "artifacts").resolve()
    assert store.root.is_dir()
    assert store.name == "local"


def test_objects_live_at_their_key_and_urls_are_absolute(store: LocalArtifactStore) -> None:
    store.put("reports/tq0000001-x/v1.md", b"# hi", "text/markdown; charset=utf-8")
    path = store.root / "reports" / "tq0000001-x" / "v1.md"
    assert path.read_bytes() == b"# hi"
    url = store.url("reports/tq0000001-x/v1.md", timedelta(days=7))
    assert url == path.as_uri()
    assert url.startswith("file:///")


def test_a_crash_during_the_rename_keeps_the_old_object(
    store: LocalArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("transcripts/x.json", b'{"old": true}', "application/json")

    def crash(self: Path, target: object) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", crash)
    with pytest.raises(TubeqError):
        store.put("transcripts/x.json", b'{"new": true, "half": "wri', "application/json")
    monkeypatch.undo()

    assert store.get("transcripts/x.json") == b'{"old": true}'
    assert store.content_type("transcripts/x.json") == "application/json"
    assert _stray_temp_files(store.root) == []


def test_concurrent_writers_never_leave_a_mixed_file(store: LocalArtifactStore) -> None:
    payloads = [bytes([65 + i]) * 200_000 for i in range(6)]
    barrier = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        barrier.wait()
        for _ in range(5):
            store.put("reports/shared.md", data, "text/markdown; charset=utf-8")

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert store.get("reports/shared.md") in payloads
    assert _stray_temp_files(store.root) == []


def test_the_metadata_folder_is_reserved(store: LocalArtifactStore) -> None:
    with pytest.raises(InvalidInput, match="reserved"):
        store.put(".tubeq-meta/x.json", b"{}", "application/json")


def test_a_key_that_clashes_with_a_folder_is_refused(store: LocalArtifactStore) -> None:
    store.put("reports/a/b.md", b"x", "text/markdown")
    with pytest.raises(InvalidInput, match="clashes"):
        store.put("reports/a", b"y", "text/plain")
    store.put("reports/c", b"z", "text/plain")
    with pytest.raises(InvalidInput, match="clashes"):
        store.put("reports/c/d.md", b"w", "text/plain")
    assert store.get("reports/c") == b"z"


def test_a_lost_sidecar_falls_back_to_a_guess(store: LocalArtifactStore) -> None:
    (store.root / "transcripts").mkdir()
    (store.root / "transcripts" / "dropped.json").write_bytes(b"{}")
    assert store.content_type("transcripts/dropped.json") == "application/json"
    (store.root / "transcripts" / "dropped.zzz-unknown").write_bytes(b"?")
    assert store.content_type("transcripts/dropped.zzz-unknown") == "application/octet-stream"


def test_empty_content_type_is_refused(store: LocalArtifactStore) -> None:
    with pytest.raises(InvalidInput, match="content type"):
        store.put("reports/x.md", b"x", "  ")
    assert not store.exists("reports/x.md")


def test_a_file_as_root_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError, match="TUBEQ_ARTIFACTS_DIR"):
        LocalArtifactStore(tmp_path / "file")


def test_keys_cannot_climb_out_of_the_root(store: LocalArtifactStore, tmp_path: Path) -> None:
    # keys are checked textually; a key never contains '..', so it cannot climb out
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    for key in ("../outside.txt", "a/../../outside.txt"):
        with pytest.raises(InvalidInput):
            store.get(key)
