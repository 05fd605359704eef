"""The local artifact store: the shared contract, plus what only a folder has (atomic
renames, file:// links, sidecars, paths that must stay inside the root)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.local_artifacts import LocalArtifactStore
from shared.errors import ConfigError, InvalidInput, TubeqError
from shared.settings import Settings
from tests.contract.artifact_store_contract import HOUR, ArtifactStoreContract


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

    def saved_as(self, url: str) -> str:
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path)).name


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
    assert url.startswith("file:///")
    linked = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    assert linked.resolve() == path  # through a well-named link (see the next test)


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
    # every name the store keeps its own files under, at any depth
    for key in (".tubeq-links/x.md", "reports/.tubeq-tmp-x.md.abc.tmp", ".tubeq-sweep"):
        with pytest.raises(InvalidInput, match="reserved"):
            store.put(key, b"{}", "application/json")


# ---- download names: a file:// link has no headers, so the file it opens is well named ----


def _link_path(url: str) -> Path:
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))


def test_a_link_is_named_after_the_video_title_and_kind(store: LocalArtifactStore) -> None:
    key = "reports/tq0000001-x/gemini-p1.md"
    store.put(key, b"# v1", "text/markdown; charset=utf-8", title='Queues — "Ça va?" a/b 🚀')
    link = _link_path(store.url(key, HOUR))
    assert link.name == "Queues — Ça va a b 🚀-report.md"  # no quotes, slashes or '?'
    assert link.read_bytes() == b"# v1"
    store.put(key, b"# v2", "text/markdown; charset=utf-8", title='Queues — "Ça va?" a/b 🚀')
    assert _link_path(store.url(key, HOUR)).read_bytes() == b"# v2"  # never a stale copy
    assert link.read_bytes() == b"# v2"
    # without a title (or for an object written before titles were kept): the video id
    store.put("transcripts/tq0000001-x.srt", b"1\n", "application/x-subrip")
    assert _link_path(store.url("transcripts/tq0000001-x.srt", HOUR)).name == (
        "tq0000001-x-transcript.srt"
    )
    # a key that is not an artifact of a video keeps its own name, and its own path
    store.put("exports/UCx/videos.csv", b"a,b\n", "text/csv")
    url = store.url("exports/UCx/videos.csv", HOUR)
    assert url == (store.root / "exports" / "UCx" / "videos.csv").as_uri()
    store.delete(key)
    assert not link.is_symlink()


# ---- temporary files a killed writer left behind -------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from shared.adapters.local_artifacts import LocalArtifactStore

store = LocalArtifactStore(Path(sys.argv[1]))
store.put_file("reports/tq0000001-x/v1.md", Path(sys.argv[2]), "text/markdown")
print("finished", flush=True)
"""


def _age(path: Path, hours: float = 2.0) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then), follow_symlinks=False)


def _temp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".tubeq-tmp-*.tmp"))


@pytest.mark.skipif(sys.platform == "win32", reason="needs a FIFO and SIGKILL")
def test_a_writer_killed_mid_write_leaves_a_temp_file_the_next_start_removes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "artifacts"
    fifo = tmp_path / "slow-source"
    os.mkfifo(fifo)
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), str(fifo)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # a large artifact streamed in: the child writes its temp file as the data comes
        with fifo.open("wb") as source:
            source.write(b"x" * (1 << 20))
            source.flush()
            deadline = time.monotonic() + 20
            while not (_temp_files(root) and _temp_files(root)[0].stat().st_size >= 512 * 1024):
                assert time.monotonic() < deadline, "the writer never wrote its temp file"
                assert child.poll() is None, "the writer exited early"
                time.sleep(0.02)
            [temp] = _temp_files(root)
            assert temp.name.startswith(".tubeq-tmp-v1.md.")  # recognisable

            # old as it looks, it is being written right now: a store starting now keeps it
            _age(temp)
            _age(root / ".tubeq-sweep")
            assert LocalArtifactStore(root).swept == []
            assert temp.exists()

            child.kill()  # SIGKILL: no cleanup runs in the child
            child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()
    assert temp.exists()  # what the issue saw: left behind
    # a fresh one is kept (it may be a writer that has only just started)...
    os.utime(temp)
    _age(root / ".tubeq-sweep")
    assert LocalArtifactStore(root).swept == []
    # ...and an old one nobody holds is removed at the next start
    _age(temp)
    _age(root / ".tubeq-sweep")
    restarted = LocalArtifactStore(root)
    assert restarted.swept == [temp]
    assert _temp_files(root) == []
    assert not restarted.exists("reports/tq0000001-x/v1.md")


def test_planted_temp_files_are_swept_by_age_and_lock_once_per_period(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "reports" / "tq0000001-x").mkdir(parents=True)
    (root / ".tubeq-meta" / "transcripts").mkdir(parents=True)
    old_new_style = root / "reports" / "tq0000001-x" / ".tubeq-tmp-v1.md.k2j3h4.tmp"
    old_old_style = root / ".tubeq-meta" / "transcripts" / ".tq0000001-x.json.json.a1b2c3d4.tmp"
    fresh = root / "reports" / ".tubeq-tmp-v2.md.zz9.tmp"
    held = root / "reports" / ".tubeq-tmp-v3.md.held.tmp"
    not_ours = root / "reports" / "notes.tmp"
    for path in (old_new_style, old_old_style, fresh, held, not_ours):
        path.write_bytes(b"partial")
    for path in (old_new_style, old_old_style, held, not_ours):
        _age(path)
    with held.open("rb") as holder:
        fcntl = pytest.importorskip("fcntl")
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # a writer on another machine's mount
        store = LocalArtifactStore(root, stale_temp_age=timedelta(minutes=30))
    assert sorted(store.swept) == sorted([old_new_style, old_old_style])
    assert fresh.exists() and held.exists() and not_ours.exists()
    # the walk runs at most once per period, whatever the number of starts
    _age(fresh)
    assert LocalArtifactStore(root, stale_temp_age=timedelta(minutes=30)).swept == []
    assert fresh.exists()
    _age(root / ".tubeq-sweep")
    assert sorted(LocalArtifactStore(root).swept) == sorted([fresh, held])


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
