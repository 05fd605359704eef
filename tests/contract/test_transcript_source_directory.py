"""The transcript-source contract on the directory source (one JSON file per video)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.adapter_settings import DirectoryTranscriptSettings
from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from tests.contract.transcript_source_contract import (
    Failure,
    Spoken,
    TranscriptSourceContract,
)


def _video(video_id: str) -> dict[str, object]:
    return {"video_id": video_id, "title": f"Video {video_id}", "channel_title": "Contract"}


@dataclass
class DirectoryHarness:
    folder: Path
    name: str = "directory"
    carries_meta: bool = True

    def _write(self, video_id: str, doc: dict[str, object]) -> None:
        path = self.folder / f"{video_id}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    def add(self, video_id: str, spoken: Spoken) -> None:
        segments = [{"start": s, "duration": d, "text": t} for s, d, t in spoken.segments]
        doc = {
            "video": _video(video_id),
            "language": spoken.language,
            "is_generated": spoken.generated,
            "segments": segments,
        }
        self._write(video_id, doc)

    def fail(self, video_id: str, failure: Failure) -> None:
        self._write(video_id, {"video": _video(video_id), "error": failure})

    def make(self) -> DirectoryTranscriptSource:
        return DirectoryTranscriptSource.from_settings(
            DirectoryTranscriptSettings(directory=self.folder)
        )


class TestDirectoryTranscriptSource(TranscriptSourceContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> DirectoryHarness:
        return DirectoryHarness(tmp_path)
