"""Full-text search, the engine-neutral part: what a query is, what a hit is, and the
query text each engine's matcher reads (``shared.adapters.sqlite_search`` runs FTS5,
``shared.adapters.postgres_search`` runs tsvector).

The query language is small on purpose and the same on every store:

- ``word`` — the word (stemmed where the engine stems);
- ``"exact phrase"`` — the words in this order, next to each other;
- ``pref*`` — any word starting with ``pref``.

Terms are ANDed (``any_terms`` ORs them: ``tubeq ask`` ranks passages that have some of
a question's words). Only letters, digits and ``_`` reach the engines: everything else is a
separator, so no user input can become FTS5 or tsquery syntax (``NEAR``, ``-``, ``|``, …).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.artifacts import watch_url
from shared.errors import InvalidInput

#: the engines mark a match with these (they cannot occur in a transcript's words, which
#: are written by ``encode_segments`` as JSON text); ``marked_html`` turns them into <mark>
MARK_START = "\x02"
MARK_STOP = "\x03"
MAX_LIMIT = 200
SearchMode = Literal["fulltext", "semantic", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = ("fulltext", "semantic", "hybrid")

_TERM = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Term:
    """A word, a phrase (several words in a row) or a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


def parse_terms(text: str) -> list[Term]:
    """The terms of a query; a query with no word in it is ``InvalidInput``."""
    terms: list[Term] = []
    for match in _TERM.finditer(text):
        if match["phrase"] is not None:
            words = tuple(w.lower() for w in _WORD.findall(match["phrase"]))
            if words:
                terms.append(Term(words))
            continue
        raw = match["word"]
        words = tuple(w.lower() for w in _WORD.findall(raw))
        if not words:
            continue
        # "at-least-once" is one phrase of three words, as the engines split it
        prefix = raw.endswith("*") and len(words) == 1
        terms.append(Term(words, prefix=prefix))
    if not terms:
        raise InvalidInput(f"nothing to search for in {text!r}: give a word or a phrase")
    return terms


def fts5_match(terms: list[Term], *, any_terms: bool = False) -> str:
    """The FTS5 MATCH expression: phrases quoted, prefixes starred, terms ANDed (ORed)."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words) + '"'
        parts.append(quoted + " *" if term.prefix else quoted)
    return (" OR " if any_terms else " AND ").join(parts)


def tsquery_text(terms: list[Term], *, any_terms: bool = False) -> str:
    """The ``to_tsquery`` text: each word a quoted lexeme, phrases joined by ``<->``."""
    parts = []
    for term in terms:
        lexemes = [f"'{w}'" for w in term.words]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return (" | " if any_terms else " & ").join(parts)


def marked_html(snippet: str) -> str:
    """The engine's snippet as safe HTML: the text escaped, each match in <mark>."""
    escaped = html.escape(snippet, quote=False)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=500)
    channel_id: str | None = None
    #: published on or after this day
    since: date | None = None
    #: transcript language: ``en`` also matches ``en-GB``; on Postgres it picks the
    #: stemmer of that language (without it, words match as written)
    language: str | None = Field(None, max_length=20, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    #: OR the terms instead of ANDing them (ranking still favours segments with more)
    any_terms: bool = False
    #: which ranking: full-text (the words), semantic (meaning, by embeddings) or hybrid
    #: (both, fused by reciprocal rank); see ``shared.hybrid``
    mode: SearchMode = "fulltext"
    #: what the semantic ranking embeds, when not ``text`` (``tubeq ask``: the question
    #: itself, while ``text`` holds its search words)
    semantic_text: str | None = Field(None, max_length=2000)

    def terms(self) -> list[Term]:
        return parse_terms(self.text)

    def fts5(self) -> str:
        return fts5_match(self.terms(), any_terms=self.any_terms)

    def tsquery(self) -> str:
        return tsquery_text(self.terms(), any_terms=self.any_terms)

    def language_code(self) -> str | None:
        return self.language.lower() if self.language else None

    def since_text(self) -> str | None:
        """``since`` as the stores' UTC timestamp text (the day's first instant)."""
        if self.since is None:
            return None
        day = datetime(self.since.year, self.since.month, self.since.day, tzinfo=UTC)
        return day.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _fulltext_only() -> list[Literal["fulltext", "semantic"]]:
    return ["fulltext"]


class SearchHit(BaseModel):
    """One place a query is spoken: a transcript segment of a video."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    video_id: str
    title: str | None = None
    channel_id: str | None = None
    channel_title: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    #: the second the matching segment starts
    at_s: int
    #: the segment's text around the match, HTML-escaped, the match in <mark>…</mark>
    snippet: str
    #: the words indexed for this hit, plain: the segment's and the next segment's
    text: str = ""
    #: higher is better, comparable within one answer only
    score: float
    #: what was found: a transcript passage, or (semantic only) the video's summary or one
    #: of its key points, which link to the start of the video
    passage: Literal["transcript", "summary", "key_point"] = "transcript"
    #: which rankings found it (``hybrid`` lists both when both did)
    matched_by: list[Literal["fulltext", "semantic"]] = Field(default_factory=_fulltext_only)

    @property
    def url(self) -> str:
        return watch_url(self.video_id, self.at_s)

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json") | {"url": self.url}


def hits_from_json(rows: object) -> list[SearchHit]:
    """Hits from the JSON array ``tubeq_search_segments`` returns (Postgres, Supabase); its
    snippets are marked with ``MARK_START``/``MARK_STOP`` and made safe HTML here."""
    if not isinstance(rows, list):
        return []
    return [
        SearchHit.model_validate(row | {"snippet": marked_html(str(row.get("snippet") or ""))})
        for row in rows
        if isinstance(row, dict)
    ]


def search_params(query: SearchQuery) -> dict[str, object]:
    """The named parameters of the Postgres search call (``sql/queries/postgres_search.sql``)."""
    return {
        "query": query.tsquery(),
        "channel_id": query.channel_id,
        "since": query.since_text(),
        "language": query.language_code(),
        "limit": query.limit,
    }
