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
import base64
import hashlib
import json
import math
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "samples" / "source"
OUT_DIR = ROOT / "samples" / "transcripts"
LISTINGS_DIR = ROOT / "samples" / "listings"
README = ROOT / "samples" / "README.md"

_INNER_SPIN = re.compile(r"\{([^{}]*)\}")
_REF = re.compile(r"\$(=?)([a-z_][a-z0-9_]*)")
_LOOP = re.compile(r"^@loop\s+words=(\d+)\s*$")
_DEF = re.compile(r"^@def\s+([a-z_][a-z0-9_]*)\s*=\s*(.+)$")


@dataclass(frozen=True)
class Channel:
    title: str

    @property
    def channel_id(self) -> str:
        # "UC" + 22 url-safe characters, like a real channel id; derived so it never drifts.
        digest = hashlib.sha256(self.title.encode()).digest()
        return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]

    @property
    def handle(self) -> str:
        # "Hearth & Handplane" → "@hearth-handplane"
        return "@" + "-".join(re.findall(r"[a-z0-9]+", self.title.lower()))

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]


HEARTH = Channel("Hearth & Handplane")
SIGNAL = Channel("Signal & Noise")
GELD = Channel("Geld & Geschichte")
WANDER = Channel("Wander & Wallet")

LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
}


@dataclass(frozen=True)
class Sample:
    number: int
    title: str
    channel: Channel
    published: str
    language: str
    exercises: str
    source: str | None = None  # file in samples/source; None for failure samples
    is_generated: bool = False
    error: str | None = None
    words_per_s: float = 2.5
    duration_s: int | None = None  # only for failure samples (no text to time)

    @property
    def video_id(self) -> str:
        return f"tq-sample{self.number:02d}"


CATALOGUE: tuple[Sample, ...] = (
    Sample(
        1,
        "One-pot red lentil soup for busy weeknights",
        HEARTH,
        "2026-01-08T17:00:00Z",
        "en",
        "success, short manual English",
        "lentil_soup.txt",
    ),
    Sample(
        2,
        "Sharpening a plane iron without a honing guide",
        HEARTH,
        "2026-01-15T17:00:00Z",
        "en",
        "success, manual English",
        "plane_iron.txt",
    ),
    Sample(
        3,
        "building a walnut end grain cutting board",
        HEARTH,
        "2026-01-22T17:00:00Z",
        "en",
        "auto-generated captions: no punctuation, pseudo-sentences",
        "cutting_board.txt",
        is_generated=True,
    ),
    Sample(
        4,
        "60-second tip: bloom your spices in oil",
        HEARTH,
        "2026-01-29T17:00:00Z",
        "en",
        "shortest sample (about a minute)",
        "spice_tip.txt",
    ),
    Sample(
        5,
        "Spring sky tour: three targets for a small telescope",
        SIGNAL,
        "2026-02-02T19:30:00Z",
        "en",
        "success, manual English",
        "spring_sky.txt",
    ),
    Sample(
        6,
        "Indexes you didn't know you needed (DataConf talk)",
        SIGNAL,
        "2026-02-06T15:00:00Z",
        "en",
        "long manual talk assembled from sections",
        "db_talk.txt",
        words_per_s=2.6,
    ),
    Sample(
        7,
        "live q&a: telescopes, cameras and your questions",
        SIGNAL,
        "2026-02-09T20:00:00Z",
        "en",
        "long (about an hour) auto-generated live stream",
        "live_qa.txt",
        is_generated=True,
        words_per_s=2.7,
    ),
    Sample(
        8,
        "Rook endgames: the complete lecture",
        SIGNAL,
        "2026-02-13T18:00:00Z",
        "en",
        "longest sample (2+ hours), speed of the analyzer",
        "rook_endgames.txt",
        words_per_s=2.4,
    ),
    Sample(
        9,
        "An emergency fund on an irregular income",
        WANDER,
        "2026-02-16T08:00:00Z",
        "en",
        "success, manual English",
        "emergency_fund.txt",
    ),
    Sample(
        10,
        "Haushaltsbuch in zehn Minuten einrichten",
        GELD,
        "2026-02-18T07:00:00Z",
        "de",
        "German, manual",
        "haushaltsbuch.txt",
        words_per_s=2.3,
    ),
    Sample(
        11,
        "Die Hanse: Kaufleute, Koggen und Kontore (Podcast, Folge 12)",
        GELD,
        "2026-02-20T06:00:00Z",
        "de",
        "long German podcast assembled from sections",
        "hanse.txt",
        words_per_s=2.3,
    ),
    Sample(
        12,
        "mit dem zug durch graubünden",
        GELD,
        "2026-02-23T10:00:00Z",
        "de",
        "German auto-generated captions",
        "zugreise.txt",
        is_generated=True,
        words_per_s=2.3,
    ),
    Sample(
        13,
        "Un día en Valparaíso: cerros, ascensores y murales",
        WANDER,
        "2026-02-25T14:00:00Z",
        "es",
        "Spanish, manual",
        "valparaiso.txt",
    ),
    Sample(
        14,
        "Pâte brisée à la main, sans robot",
        WANDER,
        "2026-02-27T11:00:00Z",
        "fr",
        "French, manual",
        "pate_brisee.txt",
        words_per_s=2.6,
    ),
    Sample(
        15,
        "el eclipse explicado en dos minutos",
        SIGNAL,
        "2026-03-01T12:00:00Z",
        "es",
        "Spanish auto-generated captions",
        "eclipse.txt",
        is_generated=True,
    ),
    Sample(
        16,
        "Why is Mars red? #shorts",
        SIGNAL,
        "2026-03-03T16:00:00Z",
        "en",
        "a Short (about a minute)",
        "mars_red.txt",
    ),
    Sample(
        17,
        "Damengambit für Einsteiger",
        GELD,
        "2026-03-05T18:00:00Z",
        "de",
        "German, medium length, assembled",
        "damengambit.txt",
        words_per_s=2.3,
    ),
    Sample(
        18,
        "Oil or varnish? Choosing a finish for furniture",
        HEARTH,
        "2026-03-07T17:00:00Z",
        "en",
        "success, manual English",
        "finish.txt",
    ),
    Sample(
        19,
        "Shop tour 2026 (transcripts disabled)",
        HEARTH,
        "2026-03-09T17:00:00Z",
        "en",
        "permanent failure: transcripts disabled",
        error="transcripts_disabled",
        duration_s=842,
    ),
    Sample(
        20,
        "Members-only workshop stream (video unavailable)",
        SIGNAL,
        "2026-03-10T20:00:00Z",
        "en",
        "permanent failure: video unavailable",
        error="video_unavailable",
        duration_s=3611,
    ),
    Sample(
        21,
        "[SIMULATED OUTAGE] transcript service down: retried, then dead-lettered",
        WANDER,
        "2026-03-11T09:00:00Z",
        "en",
        "simulated persistent outage: retried with backoff, then dead-lettered",
        error="upstream_unavailable",
        duration_s=415,
    ),
    Sample(
        22,
        "index funds explained for beginners",
        WANDER,
        "2026-03-12T08:00:00Z",
        "en",
        "English auto-generated captions",
        "index_funds.txt",
        is_generated=True,
    ),
)


# ---- source text -> paragraphs -----------------------------------------------------------


def _spin(text: str, rng: random.Random) -> str:
    while True:
        match = _INNER_SPIN.search(text)
        if match is None:
            return text
        choice = rng.choice(match.group(1).split("|"))
        text = text[: match.start()] + choice + text[match.end() :]


def _expand(text: str, rng: random.Random, defs: dict[str, str], memo: dict[str, str]) -> str:
    text = _spin(text, rng)

    def ref(match: re.Match[str]) -> str:
        repeat, name = match.group(1), match.group(2)
        if repeat:
            return memo[name]
        if name not in defs:
            raise SystemExit(f"unknown ${name}: add '@def {name} = ...' to the source file")
        value = _expand(defs[name], rng, defs, memo)
        memo[name] = value
        return value

    return _REF.sub(ref, text)


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    # A sentence may begin with an alternative written in lower case.
    return re.sub(r"(^|[.!?]\s)(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


def _blocks(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return paragraphs


def paragraphs_from(source: Path, rng: random.Random) -> list[str]:
    lines = [ln for ln in source.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    defs: dict[str, str] = {}
    out: list[str] = []
    i = 0
    plain: list[str] = []
    while i < len(lines):
        line = lines[i].strip()
        if (d := _DEF.match(line)) is not None:
            defs[d.group(1)] = "{" + d.group(2).replace(" | ", "|") + "}"
        elif (loop := _LOOP.match(line)) is not None:
            out += [_tidy(_expand(p, rng, defs, {})) for p in _blocks(plain)]
            plain = []
            end = lines.index("@end", i)
            out += _loop(_blocks(lines[i + 1 : end]), int(loop.group(1)), rng, defs, set(out))
            i = end
        else:
            plain.append(lines[i])
        i += 1
    out += [_tidy(_expand(p, rng, defs, {})) for p in _blocks(plain)]
    return out


def _loop(
    pool: list[str], words: int, rng: random.Random, defs: dict[str, str], seen: set[str]
) -> list[str]:
    out: list[str] = []
    total = 0
    order: list[str] = []
    while total < words:
        if not order:
            order = pool[:]
            rng.shuffle(order)
        template = order.pop()
        for _ in range(30):  # re-roll a paragraph that came out the same as an earlier one
            text = _tidy(_expand(template, rng, defs, {}))
            if text not in seen:
                break
        else:
            continue
        seen.add(text)
        out.append(text)
        total += len(text.split())
    return out


# ---- paragraphs -> timed segments ---------------------------------------------------------


def _asr(text: str) -> str:
    """What YouTube's speech recognition produces: lower case, no punctuation."""
    text = re.sub(r"[^\w\s'’-]", " ", text.lower())
    text = re.sub(r"(?<!\w)-|-(?!\w)", " ", text)
    return " ".join(text.split())


def _chunks(words: list[str], rng: random.Random) -> list[list[str]]:
    count = max(1, math.ceil(len(words) / 11))
    sizes = [len(words) // count + (1 if k < len(words) % count else 0) for k in range(count)]
    for k in range(count - 1):  # uneven breaks, like a captioner's
        shift = rng.randint(-2, 2)
        if 4 <= sizes[k] + shift <= 13 and 4 <= sizes[k + 1] - shift <= 13:
            sizes[k] += shift
            sizes[k + 1] -= shift
    out, pos = [], 0
    for size in sizes:
        out.append(words[pos : pos + size])
        pos += size
    return out


def timed_segments(
    paragraphs: list[str], sample: Sample, rng: random.Random
) -> tuple[list[dict[str, Any]], int]:
    segments: list[dict[str, Any]] = []
    t = rng.uniform(0.0, 1.2)
    for paragraph in paragraphs:
        text = _asr(paragraph) if sample.is_generated else paragraph
        for chunk in _chunks(text.split(), rng):
            duration = len(chunk) / sample.words_per_s * rng.uniform(0.9, 1.12)
            duration = min(6.0, max(2.0, duration))
            segments.append(
                {"start": round(t, 2), "duration": round(duration, 2), "text": " ".join(chunk)}
            )
            t += duration + rng.uniform(0.02, 0.25)
        t += rng.uniform(0.3, 1.2)  # a breath between paragraphs
    return segments, math.ceil(t + rng.uniform(2.0, 8.0))


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
the catalogue in `scripts/make_samples.py`, then run

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


@dataclass(frozen=True)
class ListingOnly:
    """A channel's upload with no sample transcript: it shows a backfill's skips."""

    video_id: str
    channel: Channel
    uploaded: str  # where it sits in the uploads playlist
    title: str
    #: "upcoming" (a premiere: skipped until it has aired), or None: private (listed
    #: without a date, absent from videos.list)
    live: str | None


LISTING_ONLY = (
    ListingOnly(
        "tq-premiere", SIGNAL, "2026-03-13T10:00:00Z", "Premiere: comet hunting at dawn", "upcoming"
    ),
    ListingOnly("tq-private1", WANDER, "2026-02-10T09:00:00Z", "(private video)", None),
)
SAMPLES_PLAYLIST = "PLtubeqSamplesEverySample"
CHANNELS = (HEARTH, SIGNAL, GELD, WANDER)


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
