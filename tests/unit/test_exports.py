"""Channel exports (CSV + JSONL) and link lifetimes, against the real local artifact store."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.local_artifacts import LocalArtifactStore
from shared.artifact_rules import check_link_lifetime, parse_link_lifetime
from shared.errors import InvalidInput
from shared.exports import (
    CSV_COLUMNS,
    CSV_CONTENT_TYPE,
    JSONL_CONTENT_TYPE,
    check_channel_id,
    csv_row,
    export_channel,
    export_keys,
    safe_cell,
    write_export_files,
)
from shared.models import VideoState, VideoStatus
from tests.support import factories as f


def done_status(n: int, **analysis_overrides: Any) -> VideoStatus:
    vid = f.video_id(n)
    return VideoStatus(
        video_id=vid,
        state=VideoState.DONE,
        meta=f.meta(vid, n=n),
        analysis=f.analysis(vid, n=n, **analysis_overrides),
        transcript_language="en",
        artifacts=f.artifact_refs(vid),
        attempts=1,
    )


class ListReader:
    """The one ResultReader method exports use, over a fixed list (counts the calls)."""

    def __init__(self, statuses: list[VideoStatus]) -> None:
        self.statuses = statuses
        self.asked: list[str] = []

    def channel_results(self, channel_id: str) -> Iterator[VideoStatus]:
        self.asked.append(channel_id)
        yield from self.statuses


class UploadingStore(LocalArtifactStore):
    """The local store plus put_file, to check exports upload files instead of bytes."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.uploaded_files: list[str] = []
        self.put_calls = 0

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.put_calls += 1
        super().put(key, data, content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        assert path.is_file()
        self.uploaded_files.append(key)
        super().put(key, path.read_bytes(), content_type)


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# ---- link lifetimes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604_800), ("1", 1), (" 2H ", 7200)],
)
def test_lifetimes_are_parsed(text: str, seconds: int) -> None:
    assert parse_link_lifetime(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0s", "8d", "169h", "604801"])
def test_lifetimes_out_of_range_are_refused_naming_the_range(text: str) -> None:
    with pytest.raises(InvalidInput, match="1 second up to 7 days"):
        parse_link_lifetime(text)


@pytest.mark.parametrize("text", ["", "1.5h", "-1h", "1w", "h", "1 hour"])
def test_unreadable_lifetimes_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"e\.g\. 90s, 15m, 1h, 7d"):
        parse_link_lifetime(text)


def test_lifetime_bounds_are_inclusive() -> None:
    assert check_link_lifetime(timedelta(seconds=1)) == timedelta(seconds=1)
    assert check_link_lifetime(timedelta(days=7)) == timedelta(days=7)
    with pytest.raises(InvalidInput):
        check_link_lifetime(timedelta(milliseconds=999))
    with pytest.raises(InvalidInput):
        check_link_lifetime(timedelta(days=7, seconds=1))


# ---- cells and rows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Queues — Ça va? 🚀", "Queues — Ça va? 🚀"),
        ("a=b", "a=b"),
        (None, ""),
        (12, "12"),
    ],
)
def test_cells_that_a_spreadsheet_would_evaluate_are_quoted(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_csv_row_is_flat_and_in_column_order() -> None:
    status = done_status(3)
    row = dict(zip(CSV_COLUMNS, csv_row(status), strict=True))
    analysis = status.analysis
    assert analysis is not None and status.meta is not None
    assert row["video_id"] == status.video_id
    assert row["title"] == status.meta.title
    assert row["published_at"] == status.meta.published_at.isoformat()  # type: ignore[union-attr]
    assert row["duration_s"] == "754"
    assert row["key_points"] == " | ".join(analysis.key_points)
    assert row["topics"] == "queues; idempotency; リトライ"
    assert row["model"] == "test-model"
    assert row["analysis_version"] == "gemini:test-model:p1"
    assert row["tokens"] == str(12_345 + 678 + 90)
    assert row["cost_usd"] == "0.001500"
    assert row["url"] == f"https://www.youtube.com/watch?v={status.video_id}"


def test_offline_analysis_shows_the_analyzer_where_there_is_no_model() -> None:
    vid = f.video_id(9)
    status = VideoStatus(
        video_id=vid, state=VideoState.DONE, meta=None, analysis=f.offline_analysis(vid)
    )
    row = dict(zip(CSV_COLUMNS, csv_row(status), strict=True))
    assert row["model"] == "extractive (offline)"
    assert row["title"] == "" and row["published_at"] == ""


def test_written_files_round_trip_and_skip_videos_without_analysis() -> None:
    hostile = done_status(2, summary='=cmd|" /C calc"!A0\nsecond line, with "quotes"')
    failed = VideoStatus(video_id=f.video_id(5), state=VideoState.FAILED, error="nope")
    statuses = [done_status(1), failed, hostile]
    csv_out, jsonl_out = io.StringIO(newline=""), io.StringIO()

    rows = write_export_files(iter(statuses), csv_out, jsonl_out)

    assert rows == 2
    parsed = list(csv.DictReader(io.StringIO(csv_out.getvalue(), newline="")))
    assert [r["video_id"] for r in parsed] == [f.video_id(1), f.video_id(2)]
    assert list(parsed[0]) == list(CSV_COLUMNS)
    assert parsed[1]["summary"] == "'" + hostile.analysis.summary  # type: ignore[union-attr]
    lines = jsonl_out.getvalue().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[1])
    assert record["analysis"]["summary"] == hostile.analysis.summary  # type: ignore[union-attr]
    assert record["analysis"]["quotes"][1]["speaker"] == "Zoë"
    assert record["video"]["channel_title"] == f.CHANNEL_TITLE
    assert record["artifacts"][0]["kind"] == "transcript_json"


# ---- the export into a store -------------------------------------------------------------


def test_export_writes_csv_and_jsonl_with_their_content_types(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    reader = ListReader([done_status(n) for n in range(1, 4)])

    export = export_channel(reader, store, f.CHANNEL_ID)  # type: ignore[arg-type]

    assert reader.asked == [f.CHANNEL_ID]
    assert export.rows == 3
    assert (export.csv_key, export.jsonl_key) == export_keys(f.CHANNEL_ID)
    assert export.csv_key == f"exports/{f.CHANNEL_ID}/analyses.csv"
    assert store.content_type(export.csv_key) == CSV_CONTENT_TYPE
    assert store.content_type(export.jsonl_key) == JSONL_CONTENT_TYPE
    rows = read_csv(store.get(export.csv_key))
    assert [r["video_id"] for r in rows] == [f.video_id(n) for n in range(1, 4)]
    assert rows[0]["title"].endswith("Ça va? 🚀")
    jsonl = store.get(export.jsonl_key).decode("utf-8").splitlines()
    assert [json.loads(line)["video_id"] for line in jsonl] == [r["video_id"] for r in rows]


def test_export_again_overwrites_the_same_keys(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    export_channel(ListReader([done_status(1), done_status(2)]), store, f.CHANNEL_ID)  # type: ignore[arg-type]
    second = export_channel(ListReader([done_status(7)]), store, f.CHANNEL_ID)  # type: ignore[arg-type]
    assert [r["video_id"] for r in read_csv(store.get(second.csv_key))] == [f.video_id(7)]
    files = sorted(p.name for p in (tmp_path / "artifacts" / "exports" / f.CHANNEL_ID).iterdir())
    assert files == ["analyses.csv", "analyses.jsonl"]


def test_stores_that_can_upload_files_get_files_not_bytes(tmp_path: Path) -> None:
    store = UploadingStore(tmp_path / "artifacts")
    export = export_channel(ListReader([done_status(1)]), store, f.CHANNEL_ID)  # type: ignore[arg-type]
    assert store.uploaded_files == [export.csv_key, export.jsonl_key]
    assert store.put_calls == 0  # put_file wrote through the parent, never via self.put


def test_a_channel_without_analyses_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    failed = VideoStatus(video_id=f.video_id(1), state=VideoState.FAILED)
    with pytest.raises(InvalidInput, match="no analysed videos for channel UCnobody"):
        export_channel(ListReader([failed]), store, "UCnobody")  # type: ignore[arg-type]
    csv_key, jsonl_key = export_keys("UCnobody")
    assert not store.exists(csv_key) and not store.exists(jsonl_key)


@pytest.mark.parametrize("bad", ["", "../etc", "UC/../../x", "a b", "ch\n1", "x" * 129])
def test_channel_ids_that_are_not_key_safe_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not a channel id"):
        check_channel_id(bad)
