"""Fill a result store with the bundled samples (the demo's data), as the pipeline would:
the directory transcript source, the offline analyzer, ``record_success``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
from shared.models import VideoResult
from shared.ports import ResultWriter

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "transcripts"
#: English (the 2-hour lecture among them), German and Spanish, two channels each way
SEARCH_SAMPLES = ("tq-sample01", "tq-sample08", "tq-sample11", "tq-sample13", "tq-sample22")


def sample_segments(video_id: str) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = json.loads(
        (SAMPLES / f"{video_id}.json").read_text(encoding="utf-8")
    )["segments"]
    return segments


def fill_with_samples(store: ResultWriter, video_ids: tuple[str, ...] = SEARCH_SAMPLES) -> None:
    source = DirectoryTranscriptSource(SAMPLES)
    analyzer = ExtractiveAnalyzer()
    for vid in video_ids:
        transcript = source.fetch(vid)
        assert transcript.meta is not None
        store.record_success(
            VideoResult(
                video=transcript.meta,
                transcript=transcript,
                analysis=analyzer.analyze(transcript, transcript.meta),
            )
        )
