"""What one video costs a consumer (issue 14), counted, not timed: artifact writes and
fsyncs, SQLite statements, and the memory a 12-hour transcript's segments hold.

``bench/per_video.py`` measures the same things on a real consumer process (peak RSS, CPU
per video); these tests keep the counts from creeping back up.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from consumer.pipeline import Outcome, Pipeline
from shared.adapters.directory_transcripts import DirectoryTranscriptSource
from shared.adapters.extractive_analyzer import ExtractiveAnalyzer
from shared.adapters.local_artifacts import LocalArtifactStore
from shared.adapters.sqlite_results import SqliteResultStore
from shared.artifacts import parse_transcript_json, render_transcript_json
from shared.models import VideoJob
from shared.settings import BUNDLED_SAMPLES

OK_ID = "tq-sample01"
LONG_ID = "bqlong12hrs"


class CountingArtifacts(LocalArtifactStore):
    """Local artifacts, counting ``put`` per key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: Counter[str] = Counter()

    def put(self, key: str, data: bytes, content_type: str, *, title: str | None = None) -> None:
        self.puts[key] += 1
        super().put(key, data, content_type, title=title)


def test_one_video_writes_each_artifact_once_with_one_fsync_each_and_16_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = SqliteResultStore(tmp_path / "results.sqlite3")
    artifacts = CountingArtifacts(tmp_path / "artifacts")
    pipeline = Pipeline(
        transcripts=DirectoryTranscriptSource(BUNDLED_SAMPLES),
        analyzer=ExtractiveAnalyzer(),
        results=results,
        artifacts=artifacts,
    )
    statements: list[str] = []
    results._db.set_trace_callback(statements.append)
    fsyncs = Counter[int]()
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        fsyncs[fd] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)

    assert pipeline.process(VideoJob(video_id=OK_ID)) is Outcome.DONE

    # five artifacts, each written once: the transcript JSON kept before the analysis is
    # not written again with the others (it was: twice)
    assert len(artifacts.puts) == 5 and set(artifacts.puts.values()) == {1}
    # one fsync per artifact; the content-type sidecars go without (12 before)
    assert fsyncs.total() == 5
    # is_done, find_analysis, the claim (1), save_analysis (4), its release (1) and
    # record_success (8: BEGIN, channel, video, transcript, analysis, stale artifacts,
    # every artifact, COMMIT); 25 before
    # our statements only: SQLite also traces what runs inside them (the search index's
    # triggers and FTS5 shadow tables, as "-- …" lines) and re-reports a statement at the
    # start of each trigger it fires
    top = [s for s in statements if not s.startswith("--")]
    ours = [s for s, _ in itertools.groupby(top)]
    assert len(ours) == 16, [s.split("\n")[0][:70] for s in ours]
    video = results.get_video(OK_ID)
    assert video is not None and len(video.artifacts) == 5
    for ref in video.artifacts:  # the sizes recorded are the sizes written
        assert (tmp_path / "artifacts" / ref.key).stat().st_size == ref.size


def _long_file(folder: Path, segments: int) -> None:
    rng = random.Random(14)
    words = [
        "the",
        "a",
        "to",
        "and",
        "of",
        "we",
        "you",
        "it",
        "is",
        "that",
        "queue",
        "worker",
        "message",
        "retry",
        "budget",
    ]
    step = 12 * 3600 / segments
    doc = {
        "video": {"video_id": LONG_ID, "title": "A 12-hour stream"},
        "language": "en",
        "is_generated": True,
        "segments": [
            {
                "start": round(i * step, 2),
                "duration": round(step, 2),
                "text": " ".join(rng.choice(words) for _ in range(8)),
            }
            for i in range(segments)
        ],
    }
    (folder / f"{LONG_ID}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_a_12_hour_transcript_holds_a_few_megabytes(tmp_path: Path) -> None:
    """40,000 segments held as pydantic models took ~615 bytes each (24.6 MB, 35.6 MB at
    the peak of loading them); as slotted segments validated straight from the file's
    bytes, under 250 (their text included)."""
    segments = 40_000
    _long_file(tmp_path, segments)
    source = DirectoryTranscriptSource(tmp_path)
    tracemalloc.start()
    try:
        transcript = source.fetch(LONG_ID)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(transcript.segments) == segments
    assert held / segments < 250
    assert peak < 16_000_000


def test_the_transcript_json_reads_back_what_was_rendered(tmp_path: Path) -> None:
    _long_file(tmp_path, 2_000)
    transcript = DirectoryTranscriptSource(tmp_path).fetch(LONG_ID)
    data = render_transcript_json(transcript, transcript.meta)
    assert parse_transcript_json(data) == transcript.model_copy(update={"source": "directory"})
    assert b"\n " not in data  # machine JSON: no indent (a 12-hour one is ~40% smaller)
