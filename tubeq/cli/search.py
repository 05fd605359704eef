"""`tubeq search` and `tubeq ask`: full-text search over every transcript in the result
store, and answers from the best passages with numbered, timestamped sources."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from shared.answers import Answer
from shared.ask import DEFAULT_PASSAGES, MAX_PASSAGES, ask
from shared.errors import TubeqError
from shared.exports import resolve_channel
from shared.factory import build_answerer, build_listing_source, build_results, build_search
from shared.ports import ResultBackend
from shared.search import MAX_LIMIT, SearchHit, SearchMode, SearchQuery
from shared.settings import Settings
from tubeq.cli.context import JsonOption, console, fail, load_settings, print_json

ASK_HELP = (
    "Answer a question from the transcripts, with numbered sources at their second.\n\n"
    "With TUBEQ_ANALYZER_BACKEND=gemini, Gemini answers from the best passages only (the "
    "call's cost is shown and recorded in the spend ledger); offline, the best passages "
    "themselves are the answer."
)
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


class Mode(StrEnum):
    fulltext = "fulltext"
    semantic = "semantic"
    hybrid = "hybrid"


ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel", help="Only this channel: @handle, channel URL or UC… id.", show_default=False
    ),
]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Only transcripts in this language (en also matches en-GB).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
    app.command("ask", help=ASK_HELP)(ask_command)


def search_command(
    query: Annotated[
        str,
        typer.Argument(
            help='Words (all must match), "exact phrases" and prefix* terms.', show_default=False
        ),
    ],
    channel: ChannelOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only videos published on or after this day (YYYY-MM-DD).", show_default=False
        ),
    ] = None,
    lang: LangOption = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="At most this many hits.")] = 20,
    mode: Annotated[
        Mode,
        typer.Option(
            help="fulltext: the words; semantic: the meaning (embeddings); hybrid: both, "
            "fused by rank. Semantic modes need TUBEQ_EMBEDDING_BACKEND=gemini.",
        ),
    ] = Mode.fulltext,
    semantic: Annotated[bool, typer.Option("--semantic", help="Same as --mode hybrid.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Search every transcript: each hit links to the second its words are spoken."""
    settings = load_settings()
    channel_id = _channel_id(settings, channel)
    chosen: SearchMode = "hybrid" if semantic else mode.value
    try:
        request = SearchQuery(
            text=query,
            channel_id=channel_id,
            since=_day(since),
            language=lang,
            limit=limit,
            mode=chosen,
        )
    except ValidationError as exc:
        fail(_invalid(exc))
    store: ResultBackend | None = None
    try:
        # the query's embedding is a paid call: the spend ledger lives in the result store
        if chosen != "fulltext" and settings.embedding_backend != "none":
            store = build_results(settings)
        backend = build_search(settings, ledger=store)
        try:
            hits = backend.search(request)
        finally:
            backend.close()
    except TubeqError as exc:
        fail(exc.message)
    finally:
        if store is not None:
            store.close()
    if as_json:
        print_json({"query": query, "hits": [h.as_json() for h in hits]})
        return
    if not hits:
        console.print(f"no transcript says {query!r}", highlight=False)
        return
    console.print(_hits_table(hits))


def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in words.", show_default=False)],
    channel: ChannelOption = None,
    lang: LangOption = None,
    passages: Annotated[
        int, typer.Option(min=1, max=MAX_PASSAGES, help="How many passages to answer from.")
    ] = DEFAULT_PASSAGES,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the transcripts, with numbered sources (``ASK_HELP``)."""
    settings = load_settings()
    channel_id = _channel_id(settings, channel)
    store: ResultBackend | None = None
    try:
        # the spend ledger lives in the result store; only paid calls need it (Gemini's
        # answer, the question's embedding)
        if settings.analyzer_backend == "gemini" or settings.embedding_backend != "none":
            store = build_results(settings)
        backend = build_search(settings, ledger=store)
        try:
            answerer = build_answerer(settings, ledger=store)
            try:
                answer = ask(
                    backend,
                    answerer,
                    question,
                    channel_id=channel_id,
                    language=lang,
                    limit=passages,
                    mode="hybrid" if backend.semantic_ready() else "fulltext",
                )
            finally:
                answerer.close()
        finally:
            backend.close()
            if store is not None:
                store.close()
    except ValidationError as exc:
        fail(_invalid(exc))
    except TubeqError as exc:
        fail(exc.message)
    if as_json:
        print_json(answer.as_json())
        return
    _print_answer(answer)


# ---- output -------------------------------------------------------------------------------


def clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def snippet_text(snippet: str) -> Text:
    """The search's HTML snippet as terminal text, each match highlighted."""
    text = Text()
    last = 0
    for match in _MARK.finditer(snippet):
        text.append(html.unescape(snippet[last : match.start()]))
        text.append(html.unescape(match.group(1)), style="bold black on yellow")
        last = match.end()
    text.append(html.unescape(snippet[last:]))
    return text


def _hits_table(hits: list[SearchHit]) -> Table:
    table = Table(show_lines=True)
    table.add_column("video")
    table.add_column("at", overflow="fold")
    table.add_column("snippet", ratio=1)
    for hit in hits:
        video = Text(hit.title or hit.video_id, style="bold")
        if hit.channel_title:
            video.append("\n" + hit.channel_title, style="dim")
        at = Text(clock(hit.at_s), style=f"link {hit.url}")
        at.append("\n" + hit.url, style="dim")
        table.add_row(video, at, snippet_text(hit.snippet))
    return table


def _print_answer(answer: Answer) -> None:
    if answer.extractive:
        console.print(Text("Offline (extractive): ", style="bold") + Text(answer.answer))
    else:
        console.print(Text("Answer: ", style="bold") + Text(answer.answer))
    sources = answer.sources()
    if sources:
        console.print(Text("\nSources:", style="bold"))
    for p in sources:
        line = Text(f"[{p.number}] ", style="bold")
        line.append(p.title or p.video_id)
        if p.channel_title:
            line.append(f" ({p.channel_title})", style="dim")
        line.append(f" at {clock(p.at_s)} ")
        line.append(p.url, style=f"link {p.url}")
        console.print(line)
        if answer.extractive:
            console.print(Text(f"    “{p.text}”"))
    if answer.model is not None:
        u = answer.usage
        console.print(
            f"\n{answer.model}: {u.prompt_tokens:,} tokens in, "
            f"{u.output_tokens + u.thinking_tokens:,} out, cost ${u.cost_usd:.6f} "
            "(recorded in the spend ledger)",
            highlight=False,
        )
    else:
        console.print("\nno model call: cost $0", highlight=False)


# ---- input --------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--since {value!r} is not a date: use YYYY-MM-DD, e.g. --since 2026-01-31")


def _invalid(exc: ValidationError) -> str:
    names = {"language": "--lang", "text": "the query", "limit": "--limit"}
    problems = []
    for err in exc.errors(include_url=False):
        where = str(err["loc"][0]) if err["loc"] else "input"
        if where == "language":
            problems.append("--lang must be a language code such as en, de or pt-BR")
        else:
            problems.append(f"{names.get(where, where)}: {err['msg']}")
    return "; ".join(problems)


def _channel_id(settings: Settings, ref: str | None) -> str | None:
    """The channel named any way backfill takes one, as its id (a UC… id needs no lookup)."""
    if ref is None:
        return None

    async def resolve() -> str:
        listing = build_listing_source(settings)
        try:
            channel_id, _ = await resolve_channel(listing, ref)
            return channel_id
        finally:
            await listing.aclose()

    try:
        return asyncio.run(resolve())
    except TubeqError as exc:
        fail(f"--channel: {exc.message}")
