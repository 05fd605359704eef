"""From a source file in ``samples/source`` to timed caption segments: the small markup
language (``{a|b}``, ``$name``, ``@def``, ``@loop``) expanded with a seeded random source,
then the words cut into YouTube-like segments of 2-6 s (auto-generated ones lower-cased and
unpunctuated, as YouTube's ASR captions are). ``make_samples.py`` describes the markup."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path
from typing import Any

from sample_catalogue import Sample

_INNER_SPIN = re.compile(r"\{([^{}]*)\}")
_REF = re.compile(r"\$(=?)([a-z_][a-z0-9_]*)")
_LOOP = re.compile(r"^@loop\s+words=(\d+)\s*$")
_DEF = re.compile(r"^@def\s+([a-z_][a-z0-9_]*)\s*=\s*(.+)$")


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
