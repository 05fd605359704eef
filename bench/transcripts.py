"""Generated transcripts for the benchmarks, in the directory transcript source's format.

Two mixes, both deterministic (seeded):

- ``mixed``: the bundled samples that have a transcript, plus videos whose length follows
  a log-normal distribution (median 12 minutes, clipped to 1 minute .. 4 hours): mostly
  minutes, a tail of hours. Requests bind before tokens with it.
- ``long``: talks and streams of 1 to 4 hours, and one in ten a 6 to 9 hour stream (which
  the analyzer splits into chunks, n + 1 calls). Tokens bind with it.

Speech runs at ~150 words a minute in ~4-second segments, as YouTube's captions do.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

WORDS_PER_S = 2.5
SEGMENT_S = 4.0
_WORDS = (
    "the a to and of we you it is that this in for on with so just what queue worker "
    "message retry budget model video channel stream minute hour today going really think "
    "know people data time work build make right here there because about would could "
    "should first next then again system fast slow error lease token request window limit "
    "share result store write read file process thread machine cloud fleet every each "
    "other point kind case look thing good simple part problem answer question example"
)
_VOCABULARY = _WORDS.split()


@dataclass(frozen=True)
class Generated:
    directory: Path
    ids: list[str]
    #: each id's length in seconds
    durations: dict[str, int]


def _segments(rng: random.Random, duration_s: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    start = 0.0
    while start < duration_s:
        length = rng.uniform(2.5, 5.5)
        words = max(1, round(length * WORDS_PER_S * rng.uniform(0.7, 1.3)))
        text = " ".join(rng.choice(_VOCABULARY) for _ in range(words))
        out.append({"start": round(start, 2), "duration": round(length, 2), "text": text})
        start += length
    return out


def _write(folder: Path, video_id: str, duration_s: int, rng: random.Random) -> None:
    doc = {
        "video": {
            "video_id": video_id,
            "title": f"Bench video {video_id} ({duration_s // 60} min)",
            "channel_id": "UCbenchbenchbenchbenchb1",
            "channel_title": "Bench",
            "published_at": "2026-01-01T00:00:00Z",
            "duration_s": duration_s,
        },
        "language": "en",
        "language_name": "English",
        "is_generated": True,
        "segments": _segments(rng, duration_s),
    }
    (folder / f"{video_id}.json").write_text(json.dumps(doc), encoding="utf-8")


def _durations(kind: str, count: int, rng: random.Random) -> list[int]:
    if kind == "mixed":
        # log-normal, median 12 min: most videos minutes long, a tail of hours
        return [int(min(4 * 3600, max(60, rng.lognormvariate(6.58, 1.0)))) for _ in range(count)]
    out = []
    for i in range(count):
        hours = rng.uniform(6, 9) if i % 10 == 9 else rng.uniform(1, 4)
        out.append(int(hours * 3600))
    return out


def generate(
    folder: Path, kind: str, count: int, *, samples: Path | None, seed: int = 14
) -> Generated:
    """``count`` generated transcripts of ``kind`` in ``folder`` (plus, for ``mixed``, the
    bundled samples that have a transcript)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}-{kind}")
    prefix = "bqs" if kind == "mixed" else "bql"
    ids: list[str] = []
    durations: dict[str, int] = {}
    if kind == "mixed" and samples is not None:
        for path in sorted(samples.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("error") or not doc.get("segments"):
                continue  # the failure samples stand for videos without a transcript
            shutil.copy(path, folder / path.name)
            ids.append(path.stem)
            durations[path.stem] = int(doc["video"].get("duration_s") or 0)
    generated = [f"{prefix}{i:08d}" for i in range(count)]
    for vid, seconds in zip(generated, _durations(kind, count, rng), strict=True):
        _write(folder, vid, seconds, rng)
        ids.append(vid)
        durations[vid] = seconds
    # interleave the samples with the generated ones, the same way every run
    random.Random(f"{seed}-{kind}-order").shuffle(ids)
    return Generated(folder, ids, durations)
