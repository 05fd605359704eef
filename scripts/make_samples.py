"""Regenerate the bundled sample transcripts (``samples/transcripts``), the sample channels'
listings (``samples/listings``, in the YouTube Data API's reply shapes) and
``samples/README.md``.

    python scripts/make_samples.py           # write every file
    python scripts/make_samples.py --check   # exit 1 if a committed file differs or is stale

The text lives in ``samples/source/*.txt`` (written for tubeq, not copied from anywhere).
A source file is paragraphs separated by blank lines, plus a little markup so long lectures
can be assembled deterministically from many varied parts instead of repeated text:

    # a comment line
    @def piece = rook | king | {passed|far advanced} pawn
    @loop words=9000       (the paragraphs up to @end form a pool; draw from it until the
    ...                     loop has produced this many words, never the same text twice)
    @end

Inside a paragraph ``{a|b|c}`` picks one alternative (nestable), ``$name`` expands a
definition and remembers the pick, ``$=name`` repeats the remembered pick. Every random
choice comes from a ``random.Random`` seeded per sample, so the output is byte-for-byte
stable; segment timing (2-6 s, YouTube-like) is derived from the word count.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# the generator's two parts, beside it in scripts/ (this script's folder is on sys.path)
from sample_catalogue import (
    CATALOGUE,
    CHANNELS,
    HEARTH,
    LANGUAGE_NAMES,
    LISTING_ONLY,
    SAMPLES_PLAYLIST,
    Channel,
    Sample,
)
from sample_text import paragraphs_from, timed_segments

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "samples" / "source"
OUT_DIR = ROOT / "samples" / "transcripts"
LISTINGS_DIR = ROOT / "samples" / "listings"
README = ROOT / "samples" / "README.md"


# ---- documents -----------------------------------------------------------------------------


def build(sample: Sample) -> dict[str, Any]:
    rng = random.Random(sample.number * 7919)
    video: dict[str, Any] = {
        "video_id": sample.video_id,
        "title": sample.title,
        "channel_id": sample.channel.channel_id,
        "channel_title": sample.channel.title,
        "published_at": sample.published,
        "duration_s": sample.duration_s,
    }
    if sample.error is not None:
        return {"video": video, "error": sample.error}
    assert sample.source is not None
    paragraphs = paragraphs_from(SOURCE_DIR / sample.source, rng)
    segments, duration = timed_segments(paragraphs, sample, rng)
    video["duration_s"] = duration
    return {
        "video": video,
        "language": sample.language,
        "language_name": LANGUAGE_NAMES[sample.language],
        "is_generated": sample.is_generated,
        "segments": segments,
    }


def render(doc: dict[str, Any]) -> str:
    """Pretty JSON with one segment per line, so diffs of the samples stay readable."""
    lines = ["{"]
    items = list(doc.items())
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if key == "segments":
            lines.append('  "segments": [')
            for k, seg in enumerate(value):
                sep = "," if k < len(value) - 1 else ""
                lines.append("    " + json.dumps(seg, ensure_ascii=False) + sep)
            lines.append("  ]" + comma)
        else:
            body = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            lines.append(f"  {json.dumps(key)}: {body}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _length(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def render_readme(docs: dict[Sample, dict[str, Any]]) -> str:
    rows = []
    for sample, doc in docs.items():
        words = sum(len(s["text"].split()) for s in doc.get("segments", []))
        kind = "auto-generated" if sample.is_generated else "manual"
        if sample.error:
            kind = f"`error: {sample.error}`"
        rows.append(
            f"| `{sample.video_id}` | {sample.title} | {sample.channel.title} | "
            f"{sample.language} | {_length(doc['video']['duration_s'])} | {words:,} | "
            f"{kind} | {sample.exercises} |"
        )
    handles = ", ".join(f"`{c.handle}`" for c in CHANNELS)
    return README_TEMPLATE.format(
        table="\n".join(rows), count=len(rows), handles=handles, playlist=SAMPLES_PLAYLIST
    )


README_TEMPLATE = """\
# Sample transcripts

The embedded transcript source (`TUBEQ_TRANSCRIPT_BACKEND=directory`, the default) reads
`samples/transcripts/<video_id>.json`. These {count} files are written for tubeq (original
text, four made-up channels) so that `make demo` runs every path of the pipeline with no
account and no network. **Do not edit the JSON by hand**: change `samples/source/*.txt` or
the catalogue in `scripts/sample_catalogue.py`, then run

    python scripts/make_samples.py          # regenerate everything (deterministic)
    python scripts/make_samples.py --check  # exit 1 if the committed files are stale (tested)

Long samples are assembled from many varied paragraphs (templates with seeded random
choices), so a two-hour lecture does not repeat itself; timings are derived from word
counts at a per-sample speaking rate (segments of 2-6 s, like YouTube's).

| id | title | channel | lang | length | words | captions | exercises |
| --- | --- | --- | --- | --- | --- | --- | --- |
{table}

The three failure samples carry `"error"` and no segments:

- `transcripts_disabled` and `video_unavailable` raise permanent errors: the video is
  recorded as failed with the reason and the message is acknowledged, never retried.
- `upstream_unavailable` is a **simulated outage** of the transcript service (no real
  service is down): it raises a transient error, so the demo shows the message retried
  with backoff until `max_retries` is spent and it lands in the dead-letter queue
  (`tubeq dlq list`, `tubeq dlq redrive`).

File format (one per video):

```json
{{"video": {{"video_id": "tq-sample01", "title": "...", "channel_id": "UC + 22 chars",
           "channel_title": "...", "published_at": "2026-01-08T17:00:00Z", "duration_s": 214}},
 "language": "en", "language_name": "English", "is_generated": false,
 "segments": [{{"start": 0.41, "duration": 3.9, "text": "..."}}]}}
```

## Listings

`samples/listings/` is what the YouTube Data API v3 would answer about the four sample
channels, in its own reply shapes: the embedded listing (`TUBEQ_LISTING_BACKEND=directory`,
what `auto` picks without a Data API key) reads it, so `tubeq backfill @hearth-handplane`
and `tubeq demo` run a real channel backfill offline. Handles: {handles}. The playlist
`{playlist}` holds every sample. Two uploads have no transcript on purpose: `tq-premiere`
(an upcoming premiere: skipped until it has aired) and `tq-private1` (private: counted,
not enqueued).

A failure sample has the same `video` and `"error": "transcripts_disabled" | "video_unavailable"
| "upstream_unavailable" | "no_transcript" | "request_blocked"` instead of the transcript fields.
"""


# ---- listings: what the YouTube Data API would answer about the sample channels ----------


def _iso_duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + f"{s}S"


def _reply(kind: str, items: list[dict[str, Any]], per_page: int = 5) -> dict[str, Any]:
    return {
        "kind": f"youtube#{kind}ListResponse",
        "pageInfo": {"totalResults": len(items), "resultsPerPage": per_page},
        "items": items,
    }


def _video_item(video: dict[str, Any], live: str = "none") -> dict[str, Any]:
    return {
        "kind": "youtube#video",
        "id": video["video_id"],
        "snippet": {
            "publishedAt": video["published_at"],
            "channelId": video["channel_id"],
            "title": video["title"],
            "channelTitle": video["channel_title"],
            "liveBroadcastContent": live,
        },
        "contentDetails": {"duration": _iso_duration(video["duration_s"])},
    }


def _playlist_files(
    playlist_id: str, title: str, channel: Channel, entries: Sequence[tuple[str, str | None]]
) -> dict[Path, dict[str, Any]]:
    """A playlist's playlists.list reply and its playlistItems pages (one: < 50 entries)."""
    items = [
        {
            "kind": "youtube#playlistItem",
            "contentDetails": {"videoId": vid, **({"videoPublishedAt": at} if at else {})},
        }
        for vid, at in entries
    ]
    meta = {"title": title, "channelId": channel.channel_id, "channelTitle": channel.title}
    playlist = {"kind": "youtube#playlist", "id": playlist_id, "snippet": meta}
    return {
        LISTINGS_DIR / "playlists" / f"{playlist_id}.json": _reply("playlist", [playlist]),
        LISTINGS_DIR / "playlistItems" / playlist_id / "first.json": _reply(
            "playlistItem", items, 50
        ),
    }


def listing_files(docs: dict[Sample, dict[str, Any]]) -> dict[Path, str]:
    """The directory listing's files (layout: shared/adapters/directory_listing.py)."""
    out: dict[Path, dict[str, Any]] = {}
    videos = {s.video_id: doc["video"] for s, doc in docs.items()}
    for vid, video in videos.items():
        out[LISTINGS_DIR / "videos" / f"{vid}.json"] = _video_item(video)
    for extra in LISTING_ONLY:
        if extra.live is not None:
            video = {
                "video_id": extra.video_id,
                "title": extra.title,
                "channel_id": extra.channel.channel_id,
                "channel_title": extra.channel.title,
                "published_at": extra.uploaded,
                "duration_s": 0,  # not aired yet
            }
            out[LISTINGS_DIR / "videos" / f"{extra.video_id}.json"] = _video_item(video, extra.live)
    for channel in CHANNELS:
        item = {
            "kind": "youtube#channel",
            "id": channel.channel_id,
            "snippet": {"title": channel.title, "customUrl": channel.handle},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}},
        }
        out[LISTINGS_DIR / "channels" / f"{channel.channel_id}.json"] = _reply("channel", [item])
        # uploads are listed newest upload first; a private one is listed without a date
        uploads: list[tuple[str, str, str | None]] = [
            (s.published, s.video_id, s.published) for s in docs if s.channel == channel
        ]
        uploads += [
            (e.uploaded, e.video_id, e.uploaded if e.live else None)
            for e in LISTING_ONLY
            if e.channel == channel
        ]
        entries = [(vid, at) for _, vid, at in sorted(uploads, reverse=True)]
        out.update(
            _playlist_files(channel.uploads, f"Uploads from {channel.title}", channel, entries)
        )
    every = [(s.video_id, s.published) for s in docs]
    out.update(_playlist_files(SAMPLES_PLAYLIST, "Every tubeq sample", HEARTH, every))
    return {
        path: json.dumps(body, ensure_ascii=False, indent=2) + "\n" for path, body in out.items()
    }


def expected_files() -> dict[Path, str]:
    docs = {sample: build(sample) for sample in CATALOGUE}
    files = {OUT_DIR / f"{s.video_id}.json": render(doc) for s, doc in docs.items()}
    files.update(listing_files(docs))
    files[README] = render_readme(docs)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    files = expected_files()
    written = set(OUT_DIR.glob("*.json")) | set(LISTINGS_DIR.rglob("*.json"))
    stale = sorted(written - set(files))
    if args.check:
        differ = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
        for path in [*differ, *stale]:
            print(f"out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        if differ or stale:
            print("run: python scripts/make_samples.py", file=sys.stderr)
            return 1
        print(f"{len(files)} sample files up to date")
        return 0
    for path in stale:
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to samples/transcripts, samples/listings and README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
