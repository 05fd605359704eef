"""The directory transcript source: reading files, failure stand-ins, and bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.adapter_settings import DirectoryTranscriptSettings
from shared.adapters.directory_transcripts import (
    DirectoryTranscriptSource,
    MalformedTranscriptFile,
)
from shared.errors import (
    ConfigError,
    InvalidVideoId,
    NoTranscriptFound,
    PermanentError,
    RequestBlocked,
    TranscriptsDisabled,
    TransientError,
    TubeqError,
    UpstreamUnavailable,
    VideoUnavailable,
)
from shared.ports import TranscriptSource
from shared.settings import BUNDLED_SAMPLES, Settings

VID = "abcDEF12345"


def _video(video_id: str = VID, **extra: Any) -> dict[str, Any]:
    return {"video_id": video_id, "title": "A test video", "duration_s": 12, **extra}


def _write(folder: Path, doc: Any, video_id: str = VID) -> Path:
    path = folder / f"{video_id}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


GOOD = {
    "video": _video(),
    "language": "de",
    "language_name": "German",
    "is_generated": True,
    "segments": [
        {"start": 0.0, "duration": 3.5, "text": "hallo und willkommen"},
        {"start": 3.6, "duration": 4.0, "text": "heute geht es um brot"},
    ],
}


def test_it_is_a_transcript_source_built_from_settings(tmp_path: Path) -> None:
    source = DirectoryTranscriptSource.from_settings(
        Settings(transcripts_dir=tmp_path).directory_transcripts
    )
    assert isinstance(source, TranscriptSource)
    assert source.name == "directory"
    assert source.directory == tmp_path


def test_from_settings_names_the_setting_when_the_folder_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TUBEQ_TRANSCRIPTS_DIR"):
        DirectoryTranscriptSource.from_settings(
            DirectoryTranscriptSettings(directory=tmp_path / "x")
        )


def test_fetch_returns_the_transcript_with_its_meta(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    transcript = DirectoryTranscriptSource(tmp_path).fetch(VID)
    assert transcript.video_id == VID
    assert transcript.language == "de" and transcript.is_generated
    assert transcript.source == "directory"
    assert transcript.text == "hallo und willkommen heute geht es um brot"
    assert transcript.meta is not None and transcript.meta.title == "A test video"


def test_list_ids_lists_only_video_files(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    _write(tmp_path, {**GOOD, "video": _video("zzzzzzzzzz_")}, "zzzzzzzzzz_")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    (tmp_path / "README.md").write_text("x", encoding="utf-8")
    assert DirectoryTranscriptSource(tmp_path).list_ids() == [VID, "zzzzzzzzzz_"]


def test_the_bundled_samples_are_listed() -> None:
    ids = DirectoryTranscriptSource(BUNDLED_SAMPLES).list_ids()
    assert "tq-sample01" in ids and len(ids) >= 22


def test_a_missing_file_is_video_unavailable_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoUnavailable) as info:
        DirectoryTranscriptSource(tmp_path).fetch(VID)
    assert str(tmp_path) in str(info.value) and VID in str(info.value)


def test_an_id_that_could_escape_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path, GOOD)
    with pytest.raises(InvalidVideoId):
        DirectoryTranscriptSource(tmp_path / "sub").fetch("../" + VID)


@pytest.mark.parametrize(
    ("code", "error_cls", "kind"),
    [
        ("transcripts_disabled", TranscriptsDisabled, PermanentError),
        ("video_unavailable", VideoUnavailable, PermanentError),
        ("no_transcript", NoTranscriptFound, PermanentError),
        ("upstream_unavailable", UpstreamUnavailable, TransientError),
        ("request_blocked", RequestBlocked, TransientError),
    ],
)
def test_an_error_file_raises_the_matching_error(
    tmp_path: Path, code: str, error_cls: type[TubeqError], kind: type[TubeqError]
) -> None:
    _write(tmp_path, {"video": _video(), "error": code})
    source = DirectoryTranscriptSource(tmp_path)
    with pytest.raises(error_cls) as info:
        source.fetch(VID)
    assert isinstance(info.value, kind)
    assert info.value.code == code
    assert str(info.value) and "Traceback" not in str(info.value)
    assert source.meta(VID).title == "A test video"  # the meta is still readable


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"video": _video()}, "missing language, is_generated, segments"),
        ({**GOOD, "segments": [{"start": -1, "duration": 2, "text": "x"}]}, "segments.0.start"),
        ({**GOOD, "segments": [{"start": 0, "text": "x"}]}, "segments.0.duration"),
        ({**GOOD, "video": _video(duration_s="long")}, "video.duration_s"),
        ({**GOOD, "colour": "blue"}, "colour"),
        ({"video": _video(), "error": "on_fire"}, "unknown error 'on_fire'"),
        ({**GOOD, "error": "video_unavailable"}, "must not have segments"),
        ({**GOOD, "video": _video("bad id")}, "video.video_id"),
        ({**GOOD, "video": _video("otherVID123")}, "named for"),
    ],
)
def test_a_malformed_file_gets_a_clear_permanent_error(tmp_path: Path, doc: Any, says: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(MalformedTranscriptFile) as info:
        DirectoryTranscriptSource(tmp_path).fetch(VID)
    message = str(info.value)
    assert isinstance(info.value, PermanentError)
    assert str(path) in message
    assert says in message
    assert "pydantic" not in message and "errors.pydantic.dev" not in message
    assert "\n" not in message


def test_a_non_utf8_file_is_malformed(tmp_path: Path) -> None:
    (tmp_path / f"{VID}.json").write_bytes(b'{"video": "\xff\xfe"}')
    with pytest.raises(MalformedTranscriptFile, match="UTF-8"):
        DirectoryTranscriptSource(tmp_path).fetch(VID)
