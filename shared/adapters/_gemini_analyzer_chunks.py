"""The Gemini analyzer's (``shared.adapters.gemini_analyzer``) map-reduce over a transcript
above ``chunk_tokens``: one call per chunk (``shared.gemini.chunking``), then one merge call
that sees only the chunk analyses, so a 6-hour stream costs n + 1 calls.

Each chunk's validated reply and usage is saved in the ``PartialStore`` the moment it
arrives; a retry reuses them, so a failure on chunk 4 of 4 does not buy chunks 1-3 again,
and every attempt makes progress even when the token budget fits only one chunk at a time.
The final usage counts every chunk call exactly once, reused or not.
"""

from __future__ import annotations

from collections.abc import Callable

from google.genai import types

from shared.adapters._gemini_analyzer_call import Step
from shared.adapters._gemini_analyzer_reply import Reply
from shared.classify import classify
from shared.gemini import prompt
from shared.gemini.chunking import Chunk, split_into_chunks
from shared.gemini.partials import SavedChunk, chunk_key, decode, encode
from shared.logging import get_logger
from shared.models import AnalysisContent, Transcript, Usage, VideoMeta
from shared.ports import PartialStore

log = get_logger(__name__)

#: the analyzer's validated call, with its one repair: the request's parts and its step
Generate = Callable[[list[types.Part], Step], Reply]


def map_reduce(
    transcript: Transcript,
    meta: VideoMeta | None,
    *,
    chunk_tokens: int,
    partials: PartialStore,
    analysis_version: str,
    generate: Generate,
) -> Reply:
    """The merged analysis of ``transcript``'s chunks, and the usage of every call in it."""
    chunks = split_into_chunks(transcript.segments, chunk_tokens)
    usage = Usage()
    parts: list[AnalysisContent] = []
    for chunk in chunks:
        reply = chunk_reply(
            transcript, meta, chunk, len(chunks), partials, analysis_version, generate
        )
        parts.append(reply.content)
        usage += reply.usage  # a reused chunk's usage too: it was paid, once
    merged = generate(
        [types.Part(text=prompt.merge_prompt(transcript, meta, parts))],
        Step(transcript.video_id, kind="merge", name="merge", purpose="merge"),
    )
    return Reply(merged.content, usage + merged.usage)


def chunk_reply(
    transcript: Transcript,
    meta: VideoMeta | None,
    chunk: Chunk,
    total: int,
    partials: PartialStore,
    analysis_version: str,
    generate: Generate,
) -> Reply:
    """A chunk's analysis: saved by an earlier attempt, or bought now and saved at once."""
    kind = f"chunk {chunk.index + 1}/{total}"
    key = chunk_key(transcript.video_id, analysis_version, chunk.index, total, chunk.text)
    try:
        data = partials.get(key)
    except Exception as exc:  # the store is down: retry later rather than pay twice
        raise classify(exc) from exc
    saved = decode(data) if data is not None else None
    if saved is not None:
        log.info("gemini.chunk_reused", video_id=transcript.video_id, kind=kind)
        return Reply(saved.content, saved.usage)
    if data is not None:
        log.warning("gemini.chunk_cache_unreadable", video_id=transcript.video_id, key=key)
    reply = generate(
        [types.Part(text=prompt.chunk_prompt(transcript, meta, chunk, total))],
        # the key's file name: the chunk's place and a digest of its text
        Step(
            transcript.video_id,
            kind=kind,
            name=key.rsplit("/", 1)[-1].removesuffix(".json"),
            purpose="chunk",
        ),
    )
    try:
        partials.put(key, encode(SavedChunk(content=reply.content, usage=reply.usage)))
    except Exception as exc:
        # this attempt still has the reply in hand; only a retry would pay again
        error = classify(exc)
        log.warning(
            "gemini.chunk_cache_write_failed",
            video_id=transcript.video_id,
            kind=kind,
            error_code=error.code,
            error=error.message,
        )
    return reply
