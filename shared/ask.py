"""`tubeq ask`: answer a question from the transcripts, with numbered, timestamped sources.

1. The question becomes search terms (and, where semantic search has vectors, the question
   itself is embedded too: hybrid retrieval, ``shared.hybrid``): its words, lower case, stop
   words of every language with a list (``shared/adapters/stopwords``) and one-letter words
   dropped, ORed
   (``SearchQuery.any_terms``), so a passage needs some of them, not all, and full-text
   ranking (bm25 / ts_rank) puts the ones with more, and rarer, words first.
2. The best passages are numbered [1]…[n]: each is a transcript segment with the next one's
   words, its video and the second it starts.
3. An ``Answerer`` (``shared.ports``) answers from those passages only: Gemini with
   structured output (``shared.adapters.gemini_answerer``), the passages framed as data; or,
   offline, ``shared.adapters.extractive_answerer``: the best passages themselves,
   labelled as such.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from shared.answers import Answer, Passage, tidy_question
from shared.errors import InvalidInput
from shared.search import SearchHit, SearchMode, SearchQuery

if TYPE_CHECKING:
    from shared.ports import Answerer, Search

#: the passages an answer is made from
DEFAULT_PASSAGES = 8
MAX_PASSAGES = 20
#: the question's words searched for, at most (the rarest matter most; a long question's
#: tail adds little and slows the OR query)
MAX_TERMS = 16
#: the languages with a stop-word list (as the extractive analyzer has them)
STOPWORD_FILES = ("en", "de", "es", "fr")
#: caption lines last 2-6 s and a passage is two of them: closer hits share their words
OVERLAP_S = 10
_WORD = re.compile(r"\w+")


@cache
def stopwords() -> frozenset[str]:
    """Every stop-word list's words (the question's language is not known)."""
    folder = resources.files("shared.adapters").joinpath("stopwords")
    words: set[str] = set()
    for language in STOPWORD_FILES:
        text = folder.joinpath(f"{language}.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            words.update(line.partition("#")[0].split())
    return frozenset(words)


def question_terms(question: str) -> list[str]:
    """The words of a question worth searching for, in order, each once."""
    stop = stopwords()
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if len(word) > 1 and word not in stop:
            seen.setdefault(word, None)
    terms = list(seen)[:MAX_TERMS]
    if not terms:
        raise InvalidInput(
            f"nothing to search for in the question {question!r}: it has only common words; "
            "ask with the words the videos would use (names, things, topics)"
        )
    return terms


def passages_for(
    search: Search,
    question: str,
    *,
    channel_id: str | None = None,
    language: str | None = None,
    limit: int = DEFAULT_PASSAGES,
    mode: SearchMode = "fulltext",
) -> list[Passage]:
    """The best passages for a question, numbered from 1; ``hybrid`` adds the passages
    nearest to the question's meaning (its embedding) to those that share its words."""
    wanted = min(max(limit, 1), MAX_PASSAGES)
    query = SearchQuery(
        text=" ".join(question_terms(question)),
        channel_id=channel_id,
        language=language,
        limit=wanted * 3,  # room for the overlapping ones dropped below
        any_terms=True,
        mode=mode,
        semantic_text=question[:2000],
    )
    hits = drop_overlaps(search.search(query))[:wanted]
    return [_passage(i, hit) for i, hit in enumerate(hits, start=1)]


def drop_overlaps(hits: list[SearchHit]) -> list[SearchHit]:
    """Best first, without a hit that starts within ``OVERLAP_S`` of a better one in the
    same video: a hit's text runs on into the next caption line, so two such hits are
    mostly the same words, and a second copy is a wasted source."""
    kept: list[SearchHit] = []
    starts: dict[str, list[int]] = {}
    for hit in hits:
        near = starts.setdefault(hit.video_id, [])
        if any(abs(hit.at_s - at) < OVERLAP_S for at in near):
            continue
        near.append(hit.at_s)
        kept.append(hit)
    return kept


def _passage(number: int, hit: SearchHit) -> Passage:
    return Passage(
        number=number,
        video_id=hit.video_id,
        title=hit.title,
        channel_title=hit.channel_title,
        at_s=hit.at_s,
        text=hit.text,
    )


def ask(
    search: Search,
    answerer: Answerer,
    question: str,
    *,
    channel_id: str | None = None,
    language: str | None = None,
    limit: int = DEFAULT_PASSAGES,
    mode: SearchMode = "fulltext",
) -> Answer:
    """Retrieve, then answer; with no passage at all, "not in the videos" and no model call
    (the ``Answerer`` port's promise).
    ``mode``: ``hybrid`` where semantic search has vectors (``RankedSearch.semantic_ready``)."""
    question = tidy_question(question)
    passages = passages_for(
        search, question, channel_id=channel_id, language=language, limit=limit, mode=mode
    )
    return answerer.answer(question, passages)  # none: the port's "not in the videos"
