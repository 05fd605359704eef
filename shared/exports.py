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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared.errors import InvalidInput
from shared.listing import parse_listing_ref
from shared.models import VideoStatus
from shared.ports import FileUploader, ListingSource, ResultReader

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
    # added later, so at the end: scripts that read columns by position keep working
    "channel_id",
    "channel_title",
    "report_url",
)
#: a report artifact's key → a link to it (presigned on R2, ``file://`` locally)
ReportLink = Callable[[str], str]

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


def report_url(status: VideoStatus, link: ReportLink | None) -> str | None:
    """The link to the video's Markdown report, when it has one and links are wanted."""
    if link is None:
        return None
    keys = [ref.key for ref in status.artifacts if ref.kind == "report_md"]
    return link(keys[0]) if keys else None


def csv_row(status: VideoStatus, link: ReportLink | None = None) -> list[str]:
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
        meta.channel_id if meta else None,
        meta.channel_title if meta else None,
        report_url(status, link),
    ]
    return [safe_cell(c) for c in cells]


def jsonl_line(status: VideoStatus, link: ReportLink | None = None) -> str:
    """One analysed video as one JSON line: its metadata and the whole analysis."""
    if status.analysis is None:
        raise ValueError("jsonl_line needs a video with an analysis")
    record = {
        "video_id": status.video_id,
        "video": status.meta.model_dump(mode="json") if status.meta else None,
        "transcript_language": status.transcript_language,
        "analysis": status.analysis.model_dump(mode="json"),
        "artifacts": [ref.model_dump(mode="json") for ref in status.artifacts],
        "report_url": report_url(status, link),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def analysed(results: Iterable[VideoStatus]) -> Iterator[VideoStatus]:
    """Only the videos that have an analysis (failed or queued ones have nothing to export)."""
    return (status for status in results if status.analysis is not None)


def write_export_files(
    results: Iterable[VideoStatus],
    csv_out: IO[str],
    jsonl_out: IO[str],
    link: ReportLink | None = None,
) -> int:
    """Stream the rows into both files at once; returns how many videos were written."""
    # RFC 4180 quoting: a cell with a comma, quote or line break (summaries have all three)
    # is quoted and its quotes doubled; formula starts are defused by ``safe_cell``.
    writer = csv.writer(csv_out, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for status in analysed(results):
        writer.writerow(csv_row(status, link))
        jsonl_out.write(jsonl_line(status, link))
        rows += 1
    return rows


def write_channel_files(
    reader: ResultReader,
    channel_id: str,
    csv_path: Path,
    jsonl_path: Path,
    link: ReportLink | None = None,
) -> int:
    """Write a channel's CSV and JSONL to these paths; refuses a channel with no analyses."""
    channel = check_channel_id(channel_id)
    # utf-8-sig: the byte-order mark is what makes Excel read the file as UTF-8
    # (titles in any script); csv wants newline="" so it controls the line endings.
    with (
        csv_path.open("w", encoding="utf-8-sig", newline="") as csv_out,
        jsonl_path.open("w", encoding="utf-8", newline="\n") as jsonl_out,
    ):
        rows = write_export_files(reader.channel_results(channel), csv_out, jsonl_out, link)
    if rows == 0:
        csv_path.unlink(missing_ok=True)
        jsonl_path.unlink(missing_ok=True)
        raise InvalidInput(
            f"no analysed videos for channel {channel}: check the id, or analyse some of "
            "its videos first (tubeq backfill CHANNEL, then tubeq consume)"
        )
    return rows


def export_channel(
    reader: ResultReader,
    store: FileUploader,
    channel_id: str,
    link: ReportLink | None = None,
) -> ChannelExport:
    """Write the channel's CSV and JSONL to the store; refuses a channel with no analyses."""
    csv_key, jsonl_key = export_keys(channel_id)
    channel = check_channel_id(channel_id)
    with tempfile.TemporaryDirectory(prefix="tubeq-export-") as tmp:
        csv_path = Path(tmp) / "analyses.csv"
        jsonl_path = Path(tmp) / "analyses.jsonl"
        rows = write_channel_files(reader, channel, csv_path, jsonl_path, link)
        # uploaded from disk: every store streams a file (R2 in parts), none reads it whole
        store.put_file(csv_key, csv_path, CSV_CONTENT_TYPE)
        store.put_file(jsonl_key, jsonl_path, JSONL_CONTENT_TYPE)
    return ChannelExport(channel_id=channel, rows=rows, csv_key=csv_key, jsonl_key=jsonl_key)


def export_channel_to(
    reader: ResultReader, out_dir: Path, channel_id: str, link: ReportLink | None = None
) -> ChannelExport:
    """Write the channel's files into a local folder (``--out``) as ``<channel>.csv`` and
    ``<channel>.jsonl``; the keys of the result are those paths."""
    channel = check_channel_id(channel_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, jsonl_path = out_dir / f"{channel}.csv", out_dir / f"{channel}.jsonl"
    rows = write_channel_files(reader, channel, csv_path, jsonl_path, link)
    return ChannelExport(
        channel_id=channel, rows=rows, csv_key=str(csv_path), jsonl_key=str(jsonl_path)
    )


async def resolve_channel(listing: ListingSource, ref: str) -> tuple[str, str | None]:
    """A channel named any way backfill accepts (``UC…`` id, ``@handle``, channel URL) →
    its id and title. A ``UC…`` id is taken as it is: no lookup, so it works offline."""
    try:
        parsed = parse_listing_ref(ref)
    except InvalidInput:
        if "/" in ref or ref.startswith("@"):
            raise
        # an id the store may hold that YouTube's pattern does not fit (older exports,
        # test channels): taken as it is, and "no analysed videos" if it holds none
        return check_channel_id(ref), None
    if parsed.kind == "channel_id":
        return parsed.value, None
    if parsed.kind == "playlist":
        raise InvalidInput(f"{ref!r} is a playlist: export takes a channel (@handle, UC… id, URL)")
    if parsed.kind not in listing.lookups:
        raise InvalidInput(
            f"the {listing.name} listing cannot look up a {parsed.kind} ({ref!r}): use the "
            "channel's @handle or UC… id"
        )
    target = await listing.resolve(parsed)
    if target.kind != "channel":
        raise InvalidInput(f"{ref!r} is not a channel")
    return target.id, target.title
