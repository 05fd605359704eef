"""Choosing what to keep: each sentence's centrality (cosine similarity of its tf-idf vector
to the sum of all of them), near-duplicates dropped, quotes and topics picked, text trimmed
for reading. Centroid similarity is O(words), unlike pairwise TextRank (O(sentences²))."""

from __future__ import annotations

import math
import re
from collections import Counter

from shared.extractive.sentences import Unit, content_words, words_of
from shared.models import Quote

MAX_TOPICS = 8
QUOTE_WORDS = (6, 40)


def centrality(units: list[Unit]) -> list[float]:
    """Cosine similarity of each unit's tf-idf vector to the sum of all of them.

    Two passes, each vector made when needed and dropped: holding every unit's vector at
    once took ~15 MB on a 12-hour transcript; making each twice costs less than that."""
    n = len(units)
    df = Counter(t for u in units for t in set(u.terms))

    def vector(unit: Unit) -> dict[str, float]:
        tf = Counter(unit.terms)
        vec = {t: (1 + math.log(c)) * math.log((n + 1) / (df[t] + 0.5)) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    centroid: dict[str, float] = {}
    for unit in units:
        for t, v in vector(unit).items():
            centroid[t] = centroid.get(t, 0.0) + v
    c_norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    return [sum(v * centroid[t] for t, v in vector(u).items()) / c_norm for u in units]


def length_prior(unit: Unit) -> float:
    # Fragments say little and run-ons make poor summaries, whatever their vocabulary.
    words = unit.words
    if words < 6:
        return 0.4
    if words < 10:
        return 0.8
    return 0.7 if words > 60 else 1.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def distinct(candidates: list[Unit], count: int, avoid: list[Unit]) -> list[Unit]:
    """The first ``count`` candidates that are not near-duplicates, in spoken order."""
    chosen: list[Unit] = []
    taken = [set(u.terms) for u in avoid]
    for unit in candidates:
        if len(chosen) == count:
            break
        terms = set(unit.terms)
        if unit.words < 4 or not terms or any(_jaccard(terms, t) > 0.5 for t in taken):
            continue
        chosen.append(unit)
        taken.append(terms)
    return sorted(chosen, key=lambda u: u.index)


def pick_quotes(
    ranked: list[Unit], scores: list[float], personal: frozenset[str], count: int
) -> list[Quote]:
    def quotability(unit: Unit) -> float:
        # A line that speaks to or from someone, or exclaims, reads like a quote.
        bonus = 1.25 if personal & set(words_of(unit.text)) else 1.0
        if "!" in unit.text:
            bonus *= 1.1
        return scores[unit.index] * length_prior(unit) * bonus

    candidates = sorted(
        (u for u in ranked if u.words >= QUOTE_WORDS[0]),
        key=lambda u: (-quotability(u), u.index),
    )
    chosen = distinct(candidates, count, []) or ranked[:count]
    return [Quote(text=prefix(u.text, QUOTE_WORDS[1]), start_s=u.start_s) for u in chosen]


def pick_topics(units: list[Unit], stop: frozenset[str], title: str) -> list[str]:
    n = len(units)
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    for unit in units:
        grams = unit.terms + unit.bigrams
        tf.update(grams)
        df.update(set(grams))
    in_title = set(content_words(words_of(title), stop))
    min_bigram = max(2, n // 150)

    def score(gram: str) -> float:
        value = tf[gram] * math.log(1 + n / df[gram])
        words = gram.split()
        if len(words) > 1:
            value *= 1.5
        if in_title.intersection(words):
            value *= 1.5
        return value

    candidates = [g for g in tf if " " not in g or tf[g] >= min_bigram]
    topics: list[str] = []
    used: set[str] = set()
    for gram in sorted(candidates, key=lambda g: (-score(g), g)):
        words = gram.split()
        if used.intersection(words):  # "rook" and "rook endgames" say the same thing
            continue
        topics.append(gram)
        used.update(words)
        if len(topics) == MAX_TOPICS:
            break
    return topics


# ---- text ---------------------------------------------------------------------------------


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def prefix(text: str, max_words: int) -> str:
    """The first ``max_words`` words of ``text``, verbatim (a substring, not a re-join)."""
    for k, match in enumerate(re.finditer(r"\S+", text), start=1):
        if k == max_words:
            return text[: match.end()]
    return text


def trim(text: str, max_words: int) -> str:
    short = prefix(text, max_words)
    return short if short == text else short.rstrip(",;:") + " …"


def as_sentence(text: str, punctuated: bool) -> str:
    """Pseudo-sentences from ASR captions get a capital and a full stop for reading."""
    if punctuated or not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."
