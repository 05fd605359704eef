"""The bundled samples: they load, they are varied as promised, and the generator is in sync."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.errors import PermanentError, TransientError
from shared.models import Transcript
from shared.settings import BUNDLED_SAMPLES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FILES = sorted(BUNDLED_SAMPLES.glob("*.json"))
CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


def _raw(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _transcripts() -> list[Transcript]:
    source = DirectoryTranscriptSource(BUNDLED_SAMPLES)
    out = []
    for video_id in source.list_ids():
        try:
            out.append(source.fetch(video_id))
        except (PermanentError, TransientError):
            continue
    return out


def test_there_are_at_least_22_samples_named_by_their_ids() -> None:
    ids = [p.stem for p in SAMPLE_FILES]
    assert len(ids) >= 22
    assert ids[:22] == [f"tq-sample{n:02d}" for n in range(1, 23)]
    assert all(len(i) == 11 for i in ids)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_every_sample_loads_or_raises_its_declared_error(path: Path) -> None:
    source = DirectoryTranscriptSource(BUNDLED_SAMPLES)
    raw = _raw(path)
    video = raw["video"]
    assert isinstance(video, dict)
    assert CHANNEL_ID.fullmatch(video["channel_id"])
    if "error" in raw:
        with pytest.raises((PermanentError, TransientError)) as info:
            source.fetch(path.stem)
        assert info.value.code == raw["error"]
        return
    transcript = source.fetch(path.stem)
    assert transcript.video_id == path.stem
    assert transcript.meta is not None and transcript.meta.title
    assert transcript.segments, "a sample transcript must have text"
    duration = video["duration_s"]
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts), "segments must be in time order"
    for seg in transcript.segments:
        assert 2.0 <= seg.duration <= 6.0, seg
        assert seg.text.strip() == seg.text and seg.text
    assert transcript.duration_s <= duration <= transcript.duration_s + 15
    if transcript.is_generated:  # like YouTube's ASR: lower case, no punctuation
        assert transcript.text == transcript.text.lower()
        assert not re.search(r"[.,!?;:]", transcript.text)


def test_samples_cover_the_promised_variety() -> None:
    transcripts = _transcripts()
    languages = Counter(t.language for t in transcripts)
    assert languages["de"] >= 3
    assert languages["es"] + languages["fr"] >= 1
    assert any(t.is_generated for t in transcripts)
    assert any(not t.is_generated for t in transcripts)
    durations = [t.duration_s for t in transcripts]
    assert min(durations) <= 75, "a sample of about a minute"
    assert max(durations) >= 2 * 3600, "a sample of two hours or more"
    channels = {t.meta.channel_id for t in transcripts if t.meta}
    assert 3 <= len(channels) <= 4
    errors = {_raw(p).get("error") for p in SAMPLE_FILES}
    assert {"transcripts_disabled", "video_unavailable", "upstream_unavailable"} <= errors


def test_assembled_samples_do_not_repeat_paragraph_sized_text() -> None:
    # Long samples are built from templates; a sentence may recur, a paragraph must not.
    for transcript in _transcripts():
        words = transcript.text.split()

        def repeated(n: int, words: list[str] = words) -> float:
            windows = Counter(" ".join(words[i : i + n]) for i in range(len(words) - n))
            return sum(1 for c in windows.values() if c > 1) / max(1, len(windows))

        assert repeated(60) == 0, transcript.video_id
        assert repeated(30) < 0.03, transcript.video_id


def test_simulated_outage_is_labelled_as_such() -> None:
    raw = _raw(BUNDLED_SAMPLES / "tq-sample21.json")
    assert raw["error"] == "upstream_unavailable"
    video = raw["video"]
    assert isinstance(video, dict) and "SIMULATED OUTAGE" in video["title"]
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    assert "simulated outage" in readme.lower()


def test_generator_check_mode_says_the_committed_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_samples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_generator_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    # Run a copy of the generator against a copy of the tree with one sample edited.
    (tmp_path / "scripts").mkdir()
    for part in ("make_samples.py", "sample_catalogue.py", "sample_text.py"):
        (tmp_path / "scripts" / part).write_bytes((ROOT / "scripts" / part).read_bytes())
    samples = tmp_path / "samples"
    samples.mkdir()
    for sub in ("source", "transcripts"):
        (samples / sub).mkdir()
        for f in (ROOT / "samples" / sub).iterdir():
            (samples / sub / f.name).write_bytes(f.read_bytes())
    (samples / "README.md").write_bytes((ROOT / "samples" / "README.md").read_bytes())
    edited = samples / "transcripts" / "tq-sample04.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Sixty", "Ninety"), "utf-8")
    script = str(tmp_path / "scripts" / "make_samples.py")
    result = subprocess.run(
        [sys.executable, script, "--check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "tq-sample04.json" in result.stderr
    subprocess.run([sys.executable, script], capture_output=True, timeout=60, check=True)
    again = subprocess.run(
        [sys.executable, script, "--check"], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert edited.read_bytes() == (BUNDLED_SAMPLES / "tq-sample04.json").read_bytes()
