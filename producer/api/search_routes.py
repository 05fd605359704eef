"""``GET /v1/search`` and ``POST /v1/ask`` (issue 13): full-text search over the result
store's transcripts, and answers from the best passages with numbered sources.

The search adapter is built per request from the settings (``shared.factory.build_search``,
cheap: one connection) and closed after it, in a worker thread like every sync adapter. An
answer from Gemini records its billed call in the result store's spend ledger (the app's
``reader``, when it is a ``SpendLedger``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from producer.api.offload import Offload
from producer.api.schemas import Day, ErrorBody
from shared.ask import DEFAULT_PASSAGES, MAX_PASSAGES, ask
from shared.ports import SpendLedger
from shared.search import MAX_LIMIT, SearchMode, SearchQuery
from shared.settings import Settings

_LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$"


class SearchParams(BaseModel):
    """Query of ``GET /v1/search``; unknown parameters are a 422."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(
        min_length=1,
        max_length=500,
        description='Words (all must match), "exact phrases" and prefix* terms.',
    )
    channel: str | None = Field(None, max_length=100, description="A UC… channel id.")
    since: Day | None = Field(None, description="Published on or after this day.")
    lang: str | None = Field(
        None, max_length=20, pattern=_LANGUAGE, description="Transcript language (en, de, pt-BR)."
    )
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    mode: SearchMode = Field(
        "fulltext",
        description="fulltext: the words; semantic: the meaning (embeddings of the passages "
        "and analyses); hybrid: both, fused by reciprocal rank. The semantic modes need "
        "TUBEQ_EMBEDDING_BACKEND on the server (else 400, saying so) and embed the query "
        "(one billed call, recorded in the spend ledger).",
    )


def _fulltext_only() -> list[Literal["fulltext", "semantic"]]:
    return ["fulltext"]


class SearchHitOut(BaseModel):
    video_id: str
    title: str | None
    channel_id: str | None
    channel_title: str | None
    published_at: str | None
    language: str | None
    at_s: int = Field(description="The second the matching caption line starts.")
    url: str = Field(description="The video at that second.")
    snippet: str = Field(description="HTML-escaped text, each match in <mark>…</mark>.")
    text: str
    score: float = Field(description="Higher is better; comparable within one answer only.")
    passage: Literal["transcript", "summary", "key_point"] = Field(
        "transcript",
        description="A transcript passage, or (semantic) the video's summary or a key point "
        "(those link to the start of the video).",
    )
    matched_by: list[Literal["fulltext", "semantic"]] = Field(
        default_factory=_fulltext_only, description="Which rankings found it."
    )


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHitOut]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=1000)
    channel: str | None = Field(None, max_length=100, description="A UC… channel id.")
    lang: str | None = Field(None, max_length=20, pattern=_LANGUAGE)
    passages: int = Field(DEFAULT_PASSAGES, ge=1, le=MAX_PASSAGES)


class PassageOut(BaseModel):
    number: int
    video_id: str
    title: str | None
    channel_title: str | None
    at_s: int
    url: str
    text: str


class AskResponse(BaseModel):
    question: str
    answer: str = Field(description='The answer, or "not in the videos".')
    found: bool
    cited: list[int] = Field(description="The passage numbers the answer rests on.")
    passages: list[PassageOut]
    extractive: bool = Field(description="True offline: the passages are the answer.")
    answered_by: str
    model: str | None
    usage: dict[str, Any] = Field(description="Tokens and cost of the model call (0 offline).")


def add_search_routes(
    v1: APIRouter,
    settings: Settings,
    call: Offload,
    ledger: Callable[[str], object],
) -> None:
    """``ledger(what)`` is the app's result reader (raising 501 where reads are served
    elsewhere): the spend ledger for paid answers."""

    @v1.get(
        "/search", response_model=SearchResponse, responses=_doc(400, 501, 503), tags=["search"]
    )
    async def get_search(params: Annotated[SearchParams, Query()]) -> dict[str, Any]:
        """Search every transcript; each hit links to the second its words are spoken."""
        reader = ledger("GET /v1/search")
        spend = reader if isinstance(reader, SpendLedger) else None
        query = SearchQuery(
            text=params.q,
            channel_id=params.channel,
            since=params.since,
            language=params.lang,
            limit=params.limit,
            mode=params.mode,
        )
        hits = await call(_search, settings, spend, query)
        return {"query": params.q, "hits": hits}

    @v1.post(
        "/ask", response_model=AskResponse, responses=_doc(400, 413, 501, 502, 503), tags=["search"]
    )
    async def post_ask(body: Annotated[AskRequest, Body()]) -> dict[str, Any]:
        """Answer a question from the best transcript passages only, with numbered sources
        ("not in the videos" when they do not answer it); offline, the passages themselves."""
        reader = ledger("POST /v1/ask")
        spend = reader if isinstance(reader, SpendLedger) else None
        return await call(_ask, settings, spend, body)


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    # 400: a query with no word in it; 501: reads are served elsewhere (the Worker);
    # 502/503: the model refused or is unreachable (ask), the store is unreachable
    return {code: {"model": ErrorBody} for code in codes}


def _search(
    settings: Settings, spend: SpendLedger | None, query: SearchQuery
) -> list[dict[str, object]]:
    from shared import factory  # here: the Worker imports this module, never the factory

    backend = factory.build_search(settings, ledger=spend)
    try:
        return [hit.as_json() for hit in backend.search(query)]
    finally:
        backend.close()


def _ask(settings: Settings, spend: SpendLedger | None, body: AskRequest) -> dict[str, object]:
    from shared import factory

    backend = factory.build_search(settings, ledger=spend)
    try:
        answerer = factory.build_answerer(settings, ledger=spend)
        try:
            answer = ask(
                backend,
                answerer,
                body.question,
                channel_id=body.channel,
                language=body.lang,
                limit=body.passages,
                mode="hybrid" if backend.semantic_ready() else "fulltext",
            )
        finally:
            answerer.close()
    finally:
        backend.close()
    return answer.as_json()
