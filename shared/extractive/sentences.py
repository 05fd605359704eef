"""Cutting a transcript into sentences (or, for unpunctuated captions, runs of segments)
and sentences into the words the analyzer scores: lower case, elisions and possessives cut,
stop words of the transcript's language left out."""

from __future__ import annotations

import bisect
import itertools
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from shared.models import Transcript

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”»)\]]*\s+")
_TERMINALS = re.compile(r"[.!?…](?:\s|$)")
_NON_SPACE = re.compile(r"\S+")
_FRENCH_ELISION = re.compile(r"^(?:[cdjlmnst]|qu)'")

#: auto-generated captions are cut into pseudo-sentences of at least this many words
PSEUDO_SENTENCE_WORDS = 22


@dataclass(frozen=True)
class Unit:
    """A sentence (or pseudo-sentence) as spoken: verbatim text and where it starts."""

    index: int
    text: str
    start_s: float
    terms: tuple[str, ...]
    bigrams: tuple[str, ...]

    @property
    def words(self) -> int:
        return len(self.text.split())


def words_of(text: str) -> list[str]:
    """Lower-case words; elisions and possessives cut (l'eau -> eau, saturn's -> saturn)."""
    out = []
    for match in _WORD.finditer(text.lower()):
        word = _FRENCH_ELISION.sub("", match.group().replace("’", "'"))
        # interned: a long transcript says the same few thousand words over and over, and
        # every unit keeps its terms (one copy of each word, not one per use)
        out.append(sys.intern(word.split("'", 1)[0]))
    return out


def content_words(tokens: Iterable[str], stop: frozenset[str]) -> list[str]:
    return [t for t in tokens if len(t) >= 3 and t not in stop]


def is_punctuated(text: str, words: int | None = None) -> bool:
    """``words``: the text's word count when known (``Transcript.word_count``), which spares
    splitting the whole text into a list of words (~20 MB for a 12-hour transcript)."""
    # ASR captions have no sentence ends at all; allow a sparse few before trusting them.
    if words is None:
        words = sum(1 for _ in _NON_SPACE.finditer(text))
    return sum(1 for _ in _TERMINALS.finditer(text)) * 40 >= words


def split_units(transcript: Transcript, stop: frozenset[str]) -> list[Unit]:
    segments = [s for s in transcript.segments if s.text.strip()]
    pieces = [s.text.strip() for s in segments]
    offsets: list[int] = []
    pos = 0
    for piece in pieces:
        offsets.append(pos)
        pos += len(piece) + 1
    # The same string as Transcript.text, so every unit is a verbatim substring of it.
    text = " ".join(pieces)
    punctuated = is_punctuated(text, transcript.word_count)
    spans = _sentence_spans(text) if punctuated else _group_spans(offsets, pieces)
    units: list[Unit] = []
    for begin, end in spans:
        chunk = text[begin:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        begin += len(chunk) - len(chunk.lstrip())
        segment = segments[bisect.bisect_right(offsets, begin) - 1]
        tokens = words_of(stripped)
        units.append(
            Unit(
                index=len(units),
                text=stripped,
                start_s=segment.start,
                terms=tuple(content_words(tokens, stop)),
                bigrams=tuple(_bigrams(tokens, stop)),
            )
        )
    return units


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, begin = [], 0
    for match in _SENTENCE_BREAK.finditer(text):
        spans.append((begin, match.start()))
        begin = match.end()
    spans.append((begin, len(text)))
    return spans


def _group_spans(offsets: list[int], pieces: list[str]) -> list[tuple[int, int]]:
    """Pseudo-sentences for unpunctuated captions: runs of consecutive segments."""
    spans, first, words = [], 0, 0
    for k, piece in enumerate(pieces):
        words += len(piece.split())
        if words >= PSEUDO_SENTENCE_WORDS or k == len(pieces) - 1:
            spans.append((offsets[first], offsets[k] + len(piece)))
            first, words = k + 1, 0
    return spans


def _bigrams(tokens: list[str], stop: frozenset[str]) -> list[str]:
    return [
        sys.intern(f"{a} {b}")
        for a, b in itertools.pairwise(tokens)
        if a != b and len(a) >= 3 and len(b) >= 3 and a not in stop and b not in stop
    ]
