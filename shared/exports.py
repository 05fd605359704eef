"""Channel exports for analysts, and the rule for how long a shared link may live.

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
from datetime import timedelta
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from shared.errors import InvalidInput
from shared.models import VideoStatus
from shared.ports import ArtifactStore, ResultReader

# ---- link lifetimes ----------------------------------------------------------------------

#: SigV4 presigned URLs are valid for 1 s up to 7 days (S3's and R2's hard limit).
MIN_LINK_LIFETIME = timedelta(seconds=1)
MAX_LINK_LIFETIME = timedelta(days=7)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def check_link_lifetime(expires_in: timedelta) -> timedelta:
    """Refuse a link lifetime outside 1 s … 7 days, saying what is allowed."""
    if not MIN_LINK_LIFETIME <= expires_in <= MAX_LINK_LIFETIME:
        raise InvalidInput(
            f"a link cannot live {_describe(expires_in)}: presigned links are valid for "
            "1 second up to 7 days (e.g. 90s, 15m, 1h, 7d)"
        )
    return expires_in


def parse_link_lifetime(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h``, ``7d`` (or plain seconds) into a checked lifetime."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInput(
            f"cannot read the duration {text!r}: write a whole number with a unit, "
            "s, m, h or d (e.g. 90s, 15m, 1h, 7d)"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return check_link_lifetime(timedelta(seconds=seconds))


def _describe(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:g} seconds" if seconds < 3600 else f"{seconds / 3600:g} hours"


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


@runtime_checkable
class FileUploader(Protocol):
    """An artifact store that can upload a file from disk without reading it into memory."""

    def put_file(self, key: str, path: Path, content_type: str) -> None: ...


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


def export_channel(reader: ResultReader, store: ArtifactStore, channel_id: str) -> ChannelExport:
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
        _upload(store, csv_key, csv_path, CSV_CONTENT_TYPE)
        _upload(store, jsonl_key, jsonl_path, JSONL_CONTENT_TYPE)
    return ChannelExport(channel_id=channel, rows=rows, csv_key=csv_key, jsonl_key=jsonl_key)


def _upload(store: ArtifactStore, key: str, path: Path, content_type: str) -> None:
    if isinstance(store, FileUploader):
        store.put_file(key, path, content_type)
    else:
        # The port takes bytes; a store without put_file gets the file read once here.
        store.put(key, path.read_bytes(), content_type)
