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

A reply with keys the schema does not know is used, the keys dropped (their names are logged).
A reply cut off by the output-token cap (finish reason ``MAX_TOKENS``) is called that, and its
repair call gets twice the cap (at most the model's limit) instead of being cut off again.

With a ``SpendLedger`` every call Gemini bills is recorded the moment its reply arrives, whatever
became of it (valid, invalid, truncated, refused; first call or repair; chunk, merge or video),
under a deterministic ``call_id`` (``shared.gemini.spend``). A reused chunk was recorded when it
was bought and is not recorded again; a call that failed before billing is not recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
from shared.gemini.repair import Attempt, failure_message, model_turn
from shared.gemini.spend import call_id, next_attempt, step_key
from shared.gemini.validation import (
    InvalidReplyError,
    check_refusal,
    is_truncated,
    parse_reply,
    repair_output_cap,
    reply_text,
    truncation_problem,
)
from shared.logging import get_logger
from shared.models import (
    Analysis,
    AnalysisContent,
    BilledCall,
    CallOutcome,
    Transcript,
    Usage,
    VideoMeta,
)
from shared.ports import PartialStore, RateBudget, SpendLedger
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


@dataclass(frozen=True)
class _Step:
    """One step of an analysis, named for the logs (``kind``) and the spend ledger."""

    video_id: str
    kind: str  # "whole", "chunk 2/5", "merge", "video"
    name: str  # the call_id's step: "analysis", "chunk-002-of-005-<digest>", "merge", "video"
    purpose: str  # BilledCall.purpose
    extra_tokens: int = 0
    media_resolution: types.MediaResolution | None = None

    def repair(self) -> _Step:
        return replace(
            self, kind=f"{self.kind} (repair)", name=f"{self.name}.repair", purpose="repair"
        )


class GeminiAnalyzer:
    name = "gemini"

    def __init__(
        self,
        client: genai.Client,
        options: GeminiOptions,
        budget: RateBudget,
        partials: PartialStore | None = None,
        ledger: SpendLedger | None = None,
    ) -> None:
        self._client = client
        self.options = options
        self._budget = budget
        #: where paid chunk results are kept for a retry (default: this process's memory)
        self._partials: PartialStore = partials if partials is not None else InMemoryPartialStore()
        self._schema = prompt.response_json_schema()
        #: where every billed call is recorded (None: nowhere, and no attempt counters kept)
        self._ledger = ledger

    @classmethod
    def from_settings(
        cls,
        section: GeminiSettings,
        *,
        budget: RateBudget,
        partials: PartialStore,
        ledger: SpendLedger | None = None,
    ) -> Self:
        """The analyzer for ``section``, spending ``budget`` (shared with the other workers),
        keeping paid chunk replies in ``partials`` and recording every billed call in
        ``ledger``; the composition root builds all three.
        The analyzer owns ``budget`` from here on: ``close`` closes it (not the ledger)."""
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
        return cls(client, options, budget, partials, ledger)

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
                _Step(transcript.video_id, kind="whole", name="analysis", purpose="analysis"),
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
            _Step(
                vid,
                kind="video",
                name="video",
                purpose="video",
                extra_tokens=seconds * VIDEO_TOKENS_PER_S,
                media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
            ),
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
            _Step(transcript.video_id, kind="merge", name="merge", purpose="merge"),
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
            # the key's file name: the chunk's place and a digest of its text
            _Step(
                transcript.video_id,
                kind=kind,
                name=key.rsplit("/", 1)[-1].removesuffix(".json"),
                purpose="chunk",
            ),
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

    def _generate(self, parts: list[types.Part], step: _Step) -> _Reply:
        """One call, validated; on an invalid reply one repair call (with a higher output cap
        after a truncated reply), then a permanent error."""
        history: list[types.Content] = [types.Content(role="user", parts=parts)]
        cap = self.options.max_output_tokens
        first = self._attempt(history, step, cap)
        if first.content is not None:
            return _Reply(first.content, first.usage)
        log.warning(
            "gemini.invalid_reply",
            video_id=step.video_id,
            kind=step.kind,
            error=first.problem,
            truncated=first.truncated,
        )
        # Send the reply back as the model's turn (with its thought signature, if any) and ask
        # for a correction; the last turn stays the user's, as Gemini 3 models require.
        request = prompt.TRUNCATED_REQUEST if first.truncated else prompt.REPAIR_REQUEST
        assert first.model_turn is not None  # set on every reply without content
        ask = types.Part(text=request.format(error=first.problem))
        history += [first.model_turn, types.Content(role="user", parts=[ask])]
        # the same cap would cut the reply off at the same place again
        repair_cap = repair_output_cap(cap) if first.truncated else cap
        second = self._attempt(history, step.repair(), repair_cap)
        if second.content is not None:
            return _Reply(second.content, first.usage + second.usage)
        raise InvalidModelOutput(
            failure_message(step.kind, first, second, cap, repair_cap), raw=second.raw
        )

    def _attempt(self, history: Sequence[types.Content], step: _Step, cap: int) -> Attempt:
        """One call and what came of it, recorded in the spend ledger whatever that was."""
        response = self._call(
            history, step.video_id, step.kind, step.extra_tokens, step.media_resolution, cap
        )
        # from here on the call is billed: the ledger hears of it however the rest ends
        usage = usage_of(response, self.options.prices)
        outcome = CallOutcome.REFUSED
        try:
            check_refusal(response)
            outcome = CallOutcome.ERROR  # until the reply has been read
            attempt = self._read(response, step, cap, usage)
            outcome = attempt.outcome
            return attempt
        finally:
            self._record(step, response, usage, outcome)

    def _read(
        self, response: types.GenerateContentResponse, step: _Step, cap: int, usage: Usage
    ) -> Attempt:
        raw = reply_text(response)
        truncated = is_truncated(response)
        try:
            parsed = parse_reply(raw)
        except InvalidReplyError as exc:
            # cut off, the JSON is merely unfinished: say why, not "Invalid JSON: EOF"
            problem = truncation_problem(response, cap) if truncated else str(exc)
            return Attempt(
                usage, raw, problem=problem, truncated=truncated, model_turn=model_turn(response)
            )
        if parsed.ignored_keys:
            # names only: the values are model output, and may be anything
            log.info(
                "gemini.reply_unknown_keys_ignored",
                video_id=step.video_id,
                kind=step.kind,
                keys=list(parsed.ignored_keys),
            )
        return Attempt(usage, raw, content=parsed.content)

    def _record(
        self,
        step: _Step,
        response: types.GenerateContentResponse,
        usage: Usage,
        outcome: CallOutcome,
    ) -> None:
        """Put one billed call in the spend ledger.

        A ledger that cannot record does not fail the analysis: the reply in hand is what was
        paid for, and raising here would make the queue buy it again. The cost: that call is
        missing from the ledger for good (the analysis's own ``usage`` still counts it, but a
        video that ends failed has no other record of its spend), since no retry repeats a
        call whose reply arrived.
        """
        if self._ledger is None:
            return
        try:
            key = step_key(step.video_id, self.analysis_version, step.name)
            attempt = str(next_attempt(self._partials, key))
        except Exception as exc:
            # no durable attempt number: Gemini's response id still tells this call apart
            attempt = f"r-{response.response_id or uuid.uuid4().hex}"
            log.warning(
                "gemini.call_counter_failed",
                video_id=step.video_id,
                kind=step.kind,
                error_code=classify(exc).code,
            )
        call = BilledCall(
            call_id=call_id(step.video_id, self.analysis_version, step.name, attempt),
            video_id=step.video_id,
            analysis_version=self.analysis_version,
            model=self.options.model,
            purpose=step.purpose,
            usage=usage,
            outcome=outcome,
        )
        try:
            self._ledger.record_call(call)
        except Exception as exc:
            error = classify(exc)
            log.warning(
                "gemini.ledger_write_failed",
                video_id=step.video_id,
                kind=step.kind,
                call_id=call.call_id,
                cost_usd=usage.cost_usd,
                error_code=error.code,
                error=error.message,
            )

    def _call(
        self,
        history: Sequence[types.Content],
        video_id: str,
        kind: str,
        extra_tokens: int,
        media_resolution: types.MediaResolution | None,
        max_output_tokens: int,
    ) -> types.GenerateContentResponse:
        tokens = extra_tokens + estimate_tokens(
            prompt.SYSTEM_INSTRUCTION
            + json.dumps(self._schema)
            + "".join(p.text or "" for c in history for p in (c.parts or []))
        )
        grant = self._budget.acquire(tokens, self.options.budget_wait_s)
        config = types.GenerateContentConfig(
            system_instruction=prompt.SYSTEM_INSTRUCTION,
            temperature=self.options.temperature,
            max_output_tokens=max_output_tokens,
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
                # Gemini's quota is the truth; the budget was only our estimate of it. A
                # refused call did not count against the quota: give its share back, and
                # tell every worker on this budget to hold off for as long as Gemini asked.
                grant.refund()
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
