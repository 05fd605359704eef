"""Channel exports for analysts.

``export_channel`` writes every analysed video of a channel as one CSV (flat, for
spreadsheets) and one JSONL (the full analysis per line, for code) to the artifact store at
deterministic keys, so a second export simply overwrites the first. Rows are streamed from
the reader into temporary files, never collected in a list, so a channel with tens of
thousands of videos costs disk, not memory.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared.errors import InvalidInput
from shared.models import VideoStatus
from shared.ports import FileUploader, ResultReader

# ---- the export files --------------------------------------------------------------------

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson"

CSV_COLUMNS = (
    "video_id",
    "title",
    "published_at",
    "duration_s",
    "language",
    "summary",
    "key_points",
    "topics",
    "model",
    "analysis_version",
    "tokens",
    "cost_usd",
    "url",
)

# Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection);
# a leading apostrophe makes them show the text instead. Tab and CR start formulas too in
# some apps (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9_@.-]{1,128}$")


@dataclass(frozen=True)
class ChannelExport:
    channel_id: str
    rows: int
    csv_key: str
    jsonl_key: str


def export_keys(channel_id: str) -> tuple[str, str]:
    """Where a channel's CSV and JSONL live (deterministic: re-exports overwrite)."""
    checked = check_channel_id(channel_id)
    return f"exports/{checked}/analyses.csv", f"exports/{checked}/analyses.jsonl"


def check_channel_id(channel_id: str) -> str:
    value = channel_id.strip()
    if not _CHANNEL_ID.match(value) or ".." in value:
        raise InvalidInput(
            f"{channel_id!r} is not a channel id: use the id YouTube shows in the channel's "
            "URL, e.g. UCxxxxxxxxxxxxxxxxxxxxxx"
        )
    return value


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(status: VideoStatus) -> list[str]:
    analysis = status.analysis
    if analysis is None:
        raise ValueError("csv_row needs a video with an analysis")
    meta = status.meta
    usage = analysis.usage
    cells: list[object] = [
        status.video_id,
        meta.title if meta else None,
        meta.published_at.isoformat() if meta and meta.published_at else None,
        meta.duration_s if meta else None,
        analysis.language,
        analysis.summary,
        " | ".join(analysis.key_points),
        "; ".join(analysis.topics),
        analysis.model or analysis.analyzer,
        analysis.analysis_version,
        usage.prompt_tokens + usage.output_tokens + usage.thinking_tokens,
        f"{usage.cost_usd:.6f}",
        f"https://www.youtube.com/watch?v={status.video_id}",
    ]
    return [safe_cell(c) for c in cells]


def jsonl_line(status: VideoStatus) -> str:
    """One analysed video as one JSON line: its metadata and the whole analysis."""
    if status.analysis is None:
        raise ValueError("jsonl_line needs a video with an analysis")
    record = {
        "video_id": status.video_id,
        "video": status.meta.model_dump(mode="json") if status.meta else None,
        "transcript_language": status.transcript_language,
        "analysis": status.analysis.model_dump(mode="json"),
        "artifacts": [ref.model_dump(mode="json") for ref in status.artifacts],
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def analysed(results: Iterable[VideoStatus]) -> Iterator[VideoStatus]:
    """Only the videos that have an analysis (failed or queued ones have nothing to export)."""
    return (status for status in results if status.analysis is not None)


def write_export_files(results: Iterable[VideoStatus], csv_out: IO[str], jsonl_out: IO[str]) -> int:
    """Stream the rows into both files at once; returns how many videos were written."""
    writer = csv.writer(csv_out)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for status in analysed(results):
        writer.writerow(csv_row(status))
        jsonl_out.write(jsonl_line(status))
        rows += 1
    return rows


def export_channel(reader: ResultReader, store: FileUploader, channel_id: str) -> ChannelExport:
    """Write the channel's CSV and JSONL to the store; refuses a channel with no analyses."""
    csv_key, jsonl_key = export_keys(channel_id)
    channel = check_channel_id(channel_id)
    with tempfile.TemporaryDirectory(prefix="tubeq-export-") as tmp:
        csv_path = Path(tmp) / "analyses.csv"
        jsonl_path = Path(tmp) / "analyses.jsonl"
        # utf-8-sig: the byte-order mark is what makes Excel read the file as UTF-8
        # (titles in any script); csv wants newline="" so it controls the line endings.
        with (
            csv_path.open("w", encoding="utf-8-sig", newline="") as csv_out,
            jsonl_path.open("w", encoding="utf-8", newline="\n") as jsonl_out,
        ):
            rows = write_export_files(reader.channel_results(channel), csv_out, jsonl_out)
        if rows == 0:
            raise InvalidInput(
                f"no analysed videos for channel {channel}: check the id, or analyse some of "
                "its videos first (tubeq backfill CHANNEL, then tubeq consume)"
            )
        # uploaded from disk: every store streams a file (R2 in parts), none reads it whole
        store.put_file(csv_key, csv_path, CSV_CONTENT_TYPE)
        store.put_file(jsonl_key, jsonl_path, JSONL_CONTENT_TYPE)
    return ChannelExport(channel_id=channel, rows=rows, csv_key=csv_key, jsonl_key=jsonl_key)
