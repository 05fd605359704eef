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

This module is the analyzer and its repair loop; its parts are private modules beside it:
``_gemini_analyzer_options`` (options, settings check, client), ``_gemini_analyzer_call`` (the
request, the budget, error mapping), ``_gemini_analyzer_reply`` (reading a reply),
``_gemini_analyzer_chunks`` (map-reduce and the saved chunks), ``_gemini_analyzer_spend`` (the
spend ledger).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from google import genai
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_analyzer_call import Step, call_gemini
from shared.adapters._gemini_analyzer_chunks import map_reduce
from shared.adapters._gemini_analyzer_options import (
    GeminiOptions,
    check_gemini_settings,
    client_from,
    options_from,
)
from shared.adapters._gemini_analyzer_reply import Reply, read_reply
from shared.adapters._gemini_analyzer_spend import record_billed_call
from shared.errors import InvalidModelOutput, NoTranscriptFound
from shared.gemini import prompt
from shared.gemini.chunking import estimate_tokens, render_segments
from shared.gemini.partials import InMemoryPartialStore
from shared.gemini.pricing import usage_of
from shared.gemini.repair import Attempt, failure_message
from shared.gemini.validation import check_refusal, repair_output_cap
from shared.logging import get_logger
from shared.models import Analysis, AnalysisContent, CallOutcome, Transcript, Usage, VideoMeta
from shared.ports import PartialStore, RateBudget, SpendLedger
from shared.video_ids import parse_video_ref

log = get_logger(__name__)

__all__ = ["GeminiAnalyzer", "GeminiOptions", "check_gemini_settings"]

#: Video input at low media resolution: ~66 tokens per frame (1 fps) + 32 per second of audio.
VIDEO_TOKENS_PER_S = 100
#: Budget guess for a video whose duration is unknown (10 minutes).
VIDEO_DEFAULT_S = 600


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
        return cls(client_from(section), options_from(section), budget, partials, ledger)

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
                Step(transcript.video_id, kind="whole", name="analysis", purpose="analysis"),
            )
        else:
            reply = map_reduce(
                transcript,
                meta,
                chunk_tokens=self.options.chunk_tokens,
                partials=self._partials,
                analysis_version=self.analysis_version,
                generate=self._generate,
            )
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
            Step(
                vid,
                kind="video",
                name="video",
                purpose="video",
                extra_tokens=seconds * VIDEO_TOKENS_PER_S,
                media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
            ),
        )
        return self._analysis(vid, reply.content, reply.usage)

    # ---- one validated call, with its one repair ------------------------------------------

    def _generate(self, parts: list[types.Part], step: Step) -> Reply:
        """One call, validated; on an invalid reply one repair call (with a higher output cap
        after a truncated reply), then a permanent error."""
        history: list[types.Content] = [types.Content(role="user", parts=parts)]
        cap = self.options.max_output_tokens
        first = self._attempt(history, step, cap)
        if first.content is not None:
            return Reply(first.content, first.usage)
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
            return Reply(second.content, first.usage + second.usage)
        raise InvalidModelOutput(
            failure_message(step.kind, first, second, cap, repair_cap), raw=second.raw
        )

    def _attempt(self, history: Sequence[types.Content], step: Step, cap: int) -> Attempt:
        """One call and what came of it, recorded in the spend ledger whatever that was."""
        response = call_gemini(
            self._client, self._budget, self.options, self._schema, history, step, cap
        )
        # from here on the call is billed: the ledger hears of it however the rest ends
        usage = usage_of(response, self.options.prices)
        outcome = CallOutcome.REFUSED
        try:
            check_refusal(response)
            outcome = CallOutcome.ERROR  # until the reply has been read
            attempt = read_reply(response, step, cap, usage)
            outcome = attempt.outcome
            return attempt
        finally:
            if self._ledger is not None:
                record_billed_call(
                    self._ledger,
                    self._partials,
                    step,
                    response,
                    usage,
                    outcome,
                    analysis_version=self.analysis_version,
                    model=self.options.model,
                )

    def _analysis(self, video_id: str, content: AnalysisContent, usage: Usage) -> Analysis:
        return Analysis(
            **content.model_dump(),
            video_id=video_id,
            analysis_version=self.analysis_version,
            analyzer=self.name,
            model=self.options.model,
            usage=usage,
        )
