"""The Gemini analyzer: google-genai, structured JSON output, validated, priced, rate-budgeted.

One video normally costs one call. A transcript above ``chunk_tokens`` (estimated, see
``shared.gemini.chunking``) is analysed map-reduce: one call per chunk, then one merge call
that sees only the chunk analyses, so a 6-hour stream costs n + 1 calls. A reply that fails
validation gets one repair call; a second failure is ``InvalidModelOutput`` with the raw reply.

The client never retries on its own (``HttpRetryOptions(attempts=1)``): a failure becomes a
tubeq error through ``shared.classify`` and the queue retries the message, honouring the
server's retry delay. Every call first takes its share of the shared ``RateBudget``, and a
429 from Gemini pauses that budget for the delay Gemini asked for (until midnight Pacific
for a daily quota), so the other workers stop calling into it too.

Chunked analyses save each chunk's validated reply and usage in a ``PartialStore`` (the
composition root passes one on the artifact store, under ``cache/gemini/``) the moment it
arrives; a retry reuses them, so a
failure on chunk 4 of 4 does not buy chunks 1-3 again, and every attempt makes progress even
when the token budget fits only one chunk at a time. The final usage counts every chunk call
exactly once, reused or not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from google import genai
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.classify import classify
from shared.errors import ConfigError, InvalidModelOutput, NoTranscriptFound, RateLimited
from shared.gemini import prompt
from shared.gemini.chunking import Chunk, estimate_tokens, render_segments, split_into_chunks
from shared.gemini.partials import InMemoryPartialStore, SavedChunk, chunk_key, decode, encode
from shared.gemini.pricing import Prices, usage_of
from shared.gemini.validation import InvalidReplyError, check_refusal, parse_content, reply_text
from shared.logging import get_logger
from shared.models import Analysis, AnalysisContent, Transcript, Usage, VideoMeta
from shared.ports import PartialStore, RateBudget
from shared.video_ids import parse_video_ref

log = get_logger(__name__)

#: Video input at low media resolution: ~66 tokens per frame (1 fps) + 32 per second of audio.
VIDEO_TOKENS_PER_S = 100
#: Budget guess for a video whose duration is unknown (10 minutes).
VIDEO_DEFAULT_S = 600
#: How long a 429 without a retry delay pauses the shared budget.
DEFAULT_429_PAUSE_S = 10.0


@dataclass(frozen=True)
class GeminiOptions:
    model: str
    prompt_version: str
    temperature: float = 0.2
    chunk_tokens: int = 200_000
    max_output_tokens: int = 8192
    prices: Prices = field(default_factory=lambda: Prices(0.25, 1.50))
    budget_wait_s: float = 120.0


@dataclass
class _Reply:
    content: AnalysisContent
    usage: Usage


class GeminiAnalyzer:
    name = "gemini"

    def __init__(
        self,
        client: genai.Client,
        options: GeminiOptions,
        budget: RateBudget,
        partials: PartialStore | None = None,
    ) -> None:
        self._client = client
        self.options = options
        self._budget = budget
        #: where paid chunk results are kept for a retry (default: this process's memory)
        self._partials: PartialStore = partials if partials is not None else InMemoryPartialStore()
        self._schema = prompt.response_json_schema()

    @classmethod
    def from_settings(
        cls, section: GeminiSettings, *, budget: RateBudget, partials: PartialStore
    ) -> Self:
        """The analyzer for ``section``, spending ``budget`` (shared with the other workers)
        and keeping paid chunk replies in ``partials``; the composition root builds both.
        The analyzer owns ``budget`` from here on: ``close`` closes it."""
        check_gemini_settings(section)
        assert section.api_key is not None  # checked above
        http_options = types.HttpOptions(
            base_url=section.base_url,
            timeout=int(section.timeout_s * 1000),  # the SDK takes milliseconds
            # one attempt: retries belong to the queue, which honours the server's delay
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        client = genai.Client(api_key=section.api_key.get_secret_value(), http_options=http_options)
        options = GeminiOptions(
            model=section.model,
            prompt_version=section.prompt_version,
            temperature=section.temperature,
            chunk_tokens=section.chunk_tokens,
            max_output_tokens=section.max_output_tokens,
            prices=Prices(section.price_input_per_m, section.price_output_per_m),
            budget_wait_s=section.budget_wait_s,
        )
        return cls(client, options, budget, partials)

    @property
    def model(self) -> str:
        return self.options.model

    @property
    def analysis_version(self) -> str:
        return f"gemini:{self.options.model}:{self.options.prompt_version}"

    def close(self) -> None:
        self._client.close()
        self._budget.close()

    # ---- the port -----------------------------------------------------------------------

    def analyze(self, transcript: Transcript, meta: VideoMeta | None) -> Analysis:
        text = render_segments(transcript.segments)
        if not text:
            raise NoTranscriptFound(f"the transcript of {transcript.video_id} has no text")
        if estimate_tokens(text) <= self.options.chunk_tokens:
            reply = self._generate(
                [types.Part(text=prompt.whole_transcript_prompt(transcript, meta, text))],
                video_id=transcript.video_id,
                kind="whole",
            )
        else:
            reply = self._map_reduce(transcript, meta)
        # the transcript's language is known; the model's guess is not needed
        content = reply.content.model_copy(update={"language": transcript.language})
        return self._analysis(transcript.video_id, content, reply.usage)

    def analyze_video(self, video_id: str, meta: VideoMeta | None) -> Analysis:
        """Analyse a video without a transcript by letting Gemini watch its YouTube URL.

        Only public videos work (Gemini fetches the URL itself; unlisted/private ones fail).
        Low media resolution keeps an hour of video near 360k tokens. The pipeline calls this
        only when no transcript exists and ``TUBEQ_GEMINI_VIDEO_FALLBACK`` is on.
        """
        vid = parse_video_ref(video_id)
        url = f"https://www.youtube.com/watch?v={vid}"
        seconds = meta.duration_s if meta is not None and meta.duration_s else VIDEO_DEFAULT_S
        reply = self._generate(
            [
                types.Part(file_data=types.FileData(file_uri=url)),
                types.Part(text=prompt.video_prompt(vid, meta)),
            ],
            video_id=vid,
            kind="video",
            extra_tokens=seconds * VIDEO_TOKENS_PER_S,
            media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        )
        return self._analysis(vid, reply.content, reply.usage)

    # ---- steps --------------------------------------------------------------------------

    def _map_reduce(self, transcript: Transcript, meta: VideoMeta | None) -> _Reply:
        chunks = split_into_chunks(transcript.segments, self.options.chunk_tokens)
        usage = Usage()
        parts: list[AnalysisContent] = []
        for chunk in chunks:
            reply = self._chunk_reply(transcript, meta, chunk, len(chunks))
            parts.append(reply.content)
            usage += reply.usage  # a reused chunk's usage too: it was paid, once
        merged = self._generate(
            [types.Part(text=prompt.merge_prompt(transcript, meta, parts))],
            video_id=transcript.video_id,
            kind="merge",
        )
        return _Reply(merged.content, usage + merged.usage)

    def _chunk_reply(
        self, transcript: Transcript, meta: VideoMeta | None, chunk: Chunk, total: int
    ) -> _Reply:
        """A chunk's analysis: saved by an earlier attempt, or bought now and saved at once."""
        kind = f"chunk {chunk.index + 1}/{total}"
        key = chunk_key(transcript.video_id, self.analysis_version, chunk.index, total, chunk.text)
        try:
            data = self._partials.get(key)
        except Exception as exc:  # the store is down: retry later rather than pay twice
            raise classify(exc) from exc
        saved = decode(data) if data is not None else None
        if saved is not None:
            log.info("gemini.chunk_reused", video_id=transcript.video_id, kind=kind)
            return _Reply(saved.content, saved.usage)
        if data is not None:
            log.warning("gemini.chunk_cache_unreadable", video_id=transcript.video_id, key=key)
        reply = self._generate(
            [types.Part(text=prompt.chunk_prompt(transcript, meta, chunk, total))],
            video_id=transcript.video_id,
            kind=kind,
        )
        try:
            self._partials.put(key, encode(SavedChunk(content=reply.content, usage=reply.usage)))
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

    def _generate(
        self,
        parts: list[types.Part],
        *,
        video_id: str,
        kind: str,
        extra_tokens: int = 0,
        media_resolution: types.MediaResolution | None = None,
    ) -> _Reply:
        """One call, validated; on an invalid reply one repair call, then a permanent error."""
        history: list[types.Content] = [types.Content(role="user", parts=parts)]
        response = self._call(history, video_id, kind, extra_tokens, media_resolution)
        usage = usage_of(response, self.options.prices)
        check_refusal(response)
        raw = reply_text(response)
        try:
            return _Reply(parse_content(raw), usage)
        except InvalidReplyError as exc:
            first = exc
        log.warning("gemini.invalid_reply", video_id=video_id, kind=kind, error=str(first))
        # Send the reply back as the model's turn (with its thought signature, if any) and ask
        # for a correction; the last turn stays the user's, as Gemini 3 models require.
        candidate = response.candidates[0].content if response.candidates else None
        if candidate is not None and candidate.parts and raw:
            model_turn = types.Content(role="model", parts=candidate.parts)
        else:  # Gemini rejects an empty turn
            model_turn = types.Content(role="model", parts=[types.Part(text="(empty reply)")])
        history += [
            model_turn,
            types.Content(
                role="user", parts=[types.Part(text=prompt.REPAIR_REQUEST.format(error=first))]
            ),
        ]
        response = self._call(history, video_id, f"{kind} (repair)", extra_tokens, media_resolution)
        usage += usage_of(response, self.options.prices)
        check_refusal(response)
        raw = reply_text(response)
        try:
            return _Reply(parse_content(raw), usage)
        except InvalidReplyError as second:
            raise InvalidModelOutput(
                f"Gemini's reply did not match the analysis schema after one repair attempt "
                f"({kind}): {second} (first reply: {first})",
                raw=raw,
            ) from None

    def _call(
        self,
        history: Sequence[types.Content],
        video_id: str,
        kind: str,
        extra_tokens: int,
        media_resolution: types.MediaResolution | None,
    ) -> types.GenerateContentResponse:
        tokens = extra_tokens + estimate_tokens(
            prompt.SYSTEM_INSTRUCTION
            + json.dumps(self._schema)
            + "".join(p.text or "" for c in history for p in (c.parts or []))
        )
        self._budget.acquire(tokens, self.options.budget_wait_s)
        config = types.GenerateContentConfig(
            system_instruction=prompt.SYSTEM_INSTRUCTION,
            temperature=self.options.temperature,
            max_output_tokens=self.options.max_output_tokens,
            response_mime_type="application/json",
            response_json_schema=self._schema,
            media_resolution=media_resolution,
        )
        contents: list[Any] = list(history)
        try:
            response = self._client.models.generate_content(
                model=self.options.model, contents=contents, config=config
            )
        except Exception as exc:
            error = classify(exc)
            log.warning(
                "gemini.call_failed",
                video_id=video_id,
                kind=kind,
                error_code=error.code,
                error=error.message,
            )
            if isinstance(error, RateLimited):
                # Gemini's quota is the truth; the budget was only our estimate of it. Tell
                # every worker on this budget to hold off, not just this message.
                self._budget.pause(error.retry_after or DEFAULT_429_PAUSE_S)
            raise error from exc
        meta = response.usage_metadata
        # key names avoid "token": the log redactor masks any key that looks like a secret
        log.info(
            "gemini.call",
            video_id=video_id,
            kind=kind,
            input_estimate=tokens,
            input_used=meta.prompt_token_count if meta else None,
            output_used=meta.candidates_token_count if meta else None,
        )
        return response

    def _analysis(self, video_id: str, content: AnalysisContent, usage: Usage) -> Analysis:
        return Analysis(
            **content.model_dump(),
            video_id=video_id,
            analysis_version=self.analysis_version,
            analyzer=self.name,
            model=self.options.model,
            usage=usage,
        )


def check_gemini_settings(section: GeminiSettings) -> None:
    """Refuse, at start, a missing key and settings under which a chunked analysis could
    never finish."""
    if section.api_key is None or not section.api_key.get_secret_value():
        raise ConfigError(
            "TUBEQ_GEMINI_API_KEY is not set: create a key in Google AI Studio "
            "(https://aistudio.google.com/apikey) and put it in the environment or .env"
        )
    if section.chunk_tokens * 2 > section.tpm:
        raise ConfigError(
            f"TUBEQ_GEMINI_CHUNK_TOKENS ({section.chunk_tokens}) is more than half of "
            f"TUBEQ_GEMINI_TPM ({section.tpm}): a chunk plus its prompt must fit the "
            "per-minute token budget with room to spare; lower TUBEQ_GEMINI_CHUNK_TOKENS to "
            f"at most {section.tpm // 2} (TUBEQ_GEMINI_TPM is this machine's share "
            "of your quota)"
        )
    # a call holds its message's lease while it waits for budget and then for Gemini
    held = section.budget_wait_s + section.timeout_s
    if held >= section.lease_s:
        raise ConfigError(
            f"TUBEQ_GEMINI_BUDGET_WAIT_S ({section.budget_wait_s:g}) plus "
            f"TUBEQ_GEMINI_TIMEOUT_S ({section.timeout_s:g}) must stay under "
            f"TUBEQ_VISIBILITY_TIMEOUT_S ({section.lease_s:g}), or a message's "
            "lease runs out while its model call is still waiting; lower the first two or "
            "raise the visibility timeout"
        )
