"""The offline analyzer: extractive, deterministic, pure Python, no model and no network.

It picks sentences instead of writing them. Each sentence (or, for auto-generated captions
without punctuation, each group of consecutive segments) is a TF-IDF vector over its content
words; a sentence's centrality is its cosine similarity to the sum of all of them, i.e. how
much it shares the transcript's dominant vocabulary. From there:

- summary: the three most central sentences, in the order they were spoken;
- key points: the next 5-8 most central sentences that are not near-duplicates, trimmed;
- topics: the words and two-word phrases with the highest tf·idf (stopwords of the
  transcript's language removed), lower case;
- quotes: 3-5 central sentences of quotable length, verbatim, with the start time of the
  segment they begin in.

Centroid similarity is O(words), unlike pairwise TextRank (O(sentences²)), so a two-hour
transcript takes well under a second. The parts live in ``shared.extractive`` (sentences,
scoring); the stop-word lists are data files next to this module (``stopwords/<lang>.txt``,
shipped as package data).
"""

from __future__ import annotations

from importlib import resources
from typing import Self

from shared.adapter_settings import ExtractiveSettings
from shared.errors import EmptyTranscript
from shared.extractive.scoring import (
    as_sentence,
    centrality,
    clamp,
    distinct,
    length_prior,
    pick_quotes,
    pick_topics,
    trim,
)
from shared.extractive.sentences import is_punctuated, split_units
from shared.models import Analysis, Transcript, Usage, VideoMeta

ANALYZER_LABEL = "extractive (offline)"
ANALYSIS_VERSION = "extractive-v1"

SUMMARY_SENTENCES = 3
KEY_POINTS = (5, 8)
QUOTES = (3, 5)
KEY_POINT_WORDS = 30

#: the languages with a stop-word file, ``stopwords/<code>.txt`` beside this module
STOPWORD_LANGUAGES = ("en", "de", "es", "fr")


class ExtractiveAnalyzer:
    """``shared.ports.Analyzer`` without a model: same ``Analysis`` shape, zero cost."""

    name = "extractive"

    @property
    def analysis_version(self) -> str:
        return ANALYSIS_VERSION

    @classmethod
    def from_settings(cls, section: ExtractiveSettings) -> Self:
        return cls()

    def close(self) -> None:
        """Nothing to release: no model, no client."""

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        stop = stopwords_for(transcript.language)
        units = split_units(transcript, stop)
        if not units:
            raise EmptyTranscript(
                f"video {transcript.video_id}: the transcript has no text to analyse "
                f"({len(transcript.segments)} segments, all empty)"
            )
        scores = centrality(units)
        ranked = sorted(units, key=lambda u: (-scores[u.index] * length_prior(u), u.index))
        punctuated = is_punctuated(transcript.text, transcript.word_count)

        # Templated speech repeats itself; three near-identical sentences are no summary.
        summary_units = distinct(ranked, SUMMARY_SENTENCES, []) or ranked[:1]
        summary = " ".join(as_sentence(u.text, punctuated) for u in summary_units)

        wanted_points = clamp(len(units) // 6, *KEY_POINTS)
        points = distinct(ranked[SUMMARY_SENTENCES:], wanted_points, summary_units)
        if len(points) < KEY_POINTS[0]:  # a short transcript: reuse the summary's sentences
            points = distinct(ranked, wanted_points, [])
        key_points = [as_sentence(trim(u.text, KEY_POINT_WORDS), punctuated) for u in points]

        personal = personal_words_for(transcript.language)
        quotes = pick_quotes(ranked, scores, personal, clamp(len(units) // 10, *QUOTES))

        info = meta or transcript.meta
        topics = pick_topics(units, stop, info.title if info is not None and info.title else "")
        return Analysis(
            video_id=transcript.video_id,
            summary=summary,
            key_points=key_points,
            topics=topics,
            quotes=quotes,
            language=transcript.language,
            analysis_version=ANALYSIS_VERSION,
            analyzer=ANALYZER_LABEL,
            model=None,
            usage=Usage(),
        )


# ---- stop words: function words and spoken fillers (lower case, elisions cut) -------------


def load_stopwords(language: str) -> frozenset[str]:
    """The words in ``stopwords/<language>.txt`` (whitespace-separated, ``#`` comments)."""
    text = resources.files("shared.adapters").joinpath("stopwords", f"{language}.txt")
    words = (
        word
        for line in text.read_text(encoding="utf-8").splitlines()
        for word in line.partition("#")[0].split()
    )
    return frozenset(words)


STOPWORDS: dict[str, frozenset[str]] = {lang: load_stopwords(lang) for lang in STOPWORD_LANGUAGES}
#: for a language without its own list: every list (better too many stopwords than topics
#: like "the" or "und")
ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())

#: first- and second-person words: a sentence that speaks to or from someone reads like a
#: quote, so the quote picker prefers it a little
PERSONAL: dict[str, frozenset[str]] = {
    "en": frozenset(("i", "my", "me", "we", "our", "you", "your")),
    "de": frozenset(("ich", "mein", "meine", "mir", "mich", "wir", "unser", "ihr", "euch", "du")),
    "es": frozenset(("yo", "mi", "me", "nosotros", "nuestro", "ustedes", "tú", "tu")),
    "fr": frozenset(("je", "mon", "ma", "moi", "nous", "notre", "vous", "votre", "tu", "ton")),
}


def stopwords_for(language: str) -> frozenset[str]:
    return STOPWORDS.get(primary_language(language), ALL_STOPWORDS)


def personal_words_for(language: str) -> frozenset[str]:
    return PERSONAL.get(primary_language(language), frozenset())


def primary_language(language: str) -> str:
    """'de-DE' -> 'de', 'pt_BR' -> 'pt'."""
    return language.replace("_", "-").split("-", 1)[0].lower()
