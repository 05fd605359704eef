"""The Gemini Batch API through google-genai (issue 12): half the price, its own quota, a
target turnaround of 24 hours.

The requests are the online analyzer's own (``shared.gemini.prompt``: the same system
instruction, response schema, model and generation settings), so a batch reply is the same
analysis, under the same ``analysis_version``; only the price differs (``batch_prices``).

Requests go inline (``src=[InlinedRequest…]``, each with ``metadata={"key": video_id}``) up
to ``inline_max_bytes``, else as a JSONL file through the Files API (one line per request,
``{"key": …, "request": GenerateContentRequest}``), as the Batch API guide describes. Replies
come back as ``dest.inlined_responses`` (each with its request's metadata) or as a JSONL
responses file (``{"key": …, "response": …}`` or ``{"key": …, "error": Status}`` per line)
downloaded with ``files.download``; both are matched to their video by key.

A reply is validated like an online one (``shared.gemini.validation``); a batch has no repair
turn, so an invalid or refused reply is that video's failure (the consumer may retry it
online). ``submit`` first lists the batches at Gemini for one with the display name it was
given: a submit that died after ``batches.create`` adopts that batch instead of creating a
second. Like the online client, this one never retries on its own (the queue does).
"""

from __future__ import annotations

import builtins
import io
import json
from collections.abc import Sequence
from typing import Any, Self

from google import genai
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client
from shared.classify import classify
from shared.errors import ConfigError, ModelRefused
from shared.gemini import prompt
from shared.gemini.batch_models import BatchItem, BatchReply, RemoteBatch, RemoteState
from shared.gemini.chunking import estimate_tokens, render_segments
from shared.gemini.pricing import Prices, usage_of
from shared.gemini.validation import (
    InvalidReplyError,
    check_refusal,
    is_truncated,
    parse_reply,
    reply_text,
    truncation_problem,
)
from shared.logging import get_logger
from shared.models import Analysis, CallOutcome, Transcript, Usage, VideoMeta

log = get_logger(__name__)

#: Gemini bills batch requests at half the standard price
BATCH_DISCOUNT = 0.5
#: the Batch API's inline limit is 20 MB for the whole create request; keep well under it
DEFAULT_INLINE_MAX_BYTES = 10_000_000


def batch_prices(prices: Prices) -> Prices:
    return Prices(prices.input_per_m * BATCH_DISCOUNT, prices.output_per_m * BATCH_DISCOUNT)


class GeminiBatchAnalyzer:
    name = "gemini-batch"

    def __init__(
        self,
        client: genai.Client,
        section: GeminiSettings,
        *,
        inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES,
    ) -> None:
        self._client = client
        self._section = section
        self._inline_max_bytes = inline_max_bytes
        self.prices = batch_prices(Prices(section.price_input_per_m, section.price_output_per_m))
        self._schema = prompt.response_json_schema()

    @classmethod
    def from_settings(
        cls, section: GeminiSettings, *, inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    ) -> Self:
        if section.api_key is None or not section.api_key.get_secret_value():
            raise ConfigError(
                "TUBEQ_GEMINI_API_KEY is not set: batch backfills call the Gemini Batch API; "
                "create a key in Google AI Studio (https://aistudio.google.com/apikey)"
            )
        client = gemini_client(section)
        return cls(client, section, inline_max_bytes=inline_max_bytes)

    @property
    def analysis_version(self) -> str:
        # the online analyzer's: the same request, so the same analysis (GeminiAnalyzer)
        return f"gemini:{self._section.model}:{self._section.prompt_version}"

    def close(self) -> None:
        self._client.close()

    # ---- requests -------------------------------------------------------------------------

    def request_text(self, transcript: Transcript, meta: VideoMeta | None) -> str | None:
        text = render_segments(transcript.segments)
        if not text or estimate_tokens(text) > self._section.chunk_tokens:
            return None  # empty (the online path says why) or chunked: online
        return prompt.whole_transcript_prompt(transcript, meta, text)

    def _config(self) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=prompt.SYSTEM_INSTRUCTION,
            temperature=self._section.temperature,
            max_output_tokens=self._section.max_output_tokens,
            response_mime_type="application/json",
            response_json_schema=self._schema,
        )

    def _wire_request(self, text: str) -> dict[str, Any]:
        """One GenerateContentRequest as the REST API takes it (a JSONL line's ``request``)."""
        return {
            "contents": [{"role": "user", "parts": [{"text": text}]}],
            "systemInstruction": {"parts": [{"text": prompt.SYSTEM_INSTRUCTION}]},
            "generationConfig": {
                "temperature": self._section.temperature,
                "maxOutputTokens": self._section.max_output_tokens,
                "responseMimeType": "application/json",
                "responseJsonSchema": self._schema,
            },
        }

    # ---- the API --------------------------------------------------------------------------

    def submit(self, display_name: str, items: Sequence[BatchItem]) -> RemoteBatch:
        found = self._find(display_name)
        if found is not None:
            log.info("gemini.batch_adopted", batch=found.name, display_name=display_name)
            return found
        lines = [
            json.dumps({"key": i.video_id, "request": self._wire_request(i.prompt)}) + "\n"
            for i in items
        ]
        size = sum(len(line) for line in lines)
        config = types.CreateBatchJobConfig(display_name=display_name)
        try:
            if size <= self._inline_max_bytes:
                src: Any = [
                    types.InlinedRequest(
                        contents=[types.Content(role="user", parts=[types.Part(text=i.prompt)])],
                        config=self._config(),
                        metadata={"key": i.video_id},
                    )
                    for i in items
                ]
            else:
                uploaded = self._client.files.upload(
                    file=io.BytesIO("".join(lines).encode("utf-8")),
                    config=types.UploadFileConfig(
                        display_name=f"{display_name}.jsonl", mime_type="jsonl"
                    ),
                )
                src = uploaded.name
            job = self._client.batches.create(model=self._section.model, src=src, config=config)
        except Exception as exc:
            raise classify(exc) from exc
        log.info(
            "gemini.batch_created",
            batch=job.name,
            display_name=display_name,
            requests=len(items),
            inline=size <= self._inline_max_bytes,
            bytes=size,
        )
        return _remote(job)

    def _find(self, display_name: str) -> RemoteBatch | None:
        try:
            for job in self._client.batches.list(config={"page_size": 100}):
                if job.display_name == display_name:
                    return _remote(job)
        except Exception as exc:
            raise classify(exc) from exc
        return None

    def list(self, limit: int = 50) -> builtins.list[RemoteBatch]:
        found: list[RemoteBatch] = []
        if limit <= 0:
            return found  # a page size of 0 is the API's default size, not none
        try:
            for job in self._client.batches.list(config={"page_size": min(limit, 100)}):
                found.append(_remote(job))
                if len(found) >= limit:
                    break
        except Exception as exc:
            raise classify(exc) from exc
        return found

    def get(self, name: str) -> RemoteBatch:
        try:
            return _remote(self._client.batches.get(name=name))
        except Exception as exc:
            raise classify(exc) from exc

    def cancel(self, name: str) -> None:
        try:
            self._client.batches.cancel(name=name)
        except Exception as exc:
            raise classify(exc) from exc

    def results(self, name: str) -> builtins.list[BatchReply]:
        try:
            job = self._client.batches.get(name=name)
            dest = job.dest
            if dest is not None and dest.inlined_responses is not None:
                return [self._inlined(r) for r in dest.inlined_responses]
            if dest is None or not dest.file_name:
                state = _remote(job).state
                if state is RemoteState.SUCCEEDED:
                    raise ModelRefused(f"batch {name} succeeded without any responses")
                raise ModelRefused(
                    f"batch {name} has no responses: it is {state.name.lower()} "
                    "(only a succeeded batch has results)"
                )
            data = self._client.files.download(file=dest.file_name)
        except ModelRefused:
            raise
        except Exception as exc:
            raise classify(exc) from exc
        replies = []
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                replies.append(self._line(json.loads(line)))
        return replies

    # ---- replies --------------------------------------------------------------------------

    def _inlined(self, item: types.InlinedResponse) -> BatchReply:
        key = (item.metadata or {}).get("key", "")
        if item.error is not None or item.response is None:
            return _error_reply(key, item.error.model_dump() if item.error else None)
        return self._reply(key, item.response)

    def _line(self, line: dict[str, Any]) -> BatchReply:
        key = str(line.get("key", ""))
        if line.get("error") is not None or line.get("response") is None:
            return _error_reply(key, line.get("error"))
        response = types.GenerateContentResponse.model_validate(line["response"])
        return self._reply(key, response)

    def _reply(self, key: str, response: types.GenerateContentResponse) -> BatchReply:
        usage = usage_of(response, self.prices)
        raw = reply_text(response)
        try:
            check_refusal(response)
            parsed = parse_reply(raw)
        except ModelRefused as exc:
            return BatchReply(key, None, usage, CallOutcome.REFUSED, exc.code, exc.message, raw)
        except InvalidReplyError as exc:
            truncated = is_truncated(response)
            problem = (
                truncation_problem(response, self._section.max_output_tokens)
                if truncated
                else str(exc)
            )
            outcome = CallOutcome.TRUNCATED if truncated else CallOutcome.INVALID
            return BatchReply(key, None, usage, outcome, "invalid_model_output", problem, raw)
        analysis = Analysis(
            **parsed.content.model_dump(),
            video_id=key,
            analysis_version=self.analysis_version,
            analyzer="gemini",
            model=self._section.model,
            usage=usage,
        )
        return BatchReply(key, analysis, usage, CallOutcome.OK)


def _error_reply(key: str, error: Any) -> BatchReply:
    """A request Gemini answered with a status instead of a response: not billed."""
    message = "the batch returned no response for this request"
    if isinstance(error, dict):
        message = str(error.get("message") or message)[:500]
        code = error.get("code")
        if code is not None:
            message = f"{message} (status {code})"
    return BatchReply(key, None, Usage(), None, "batch_request_failed", message)


def _remote(job: types.BatchJob) -> RemoteBatch:
    state = job.state.value if job.state is not None else RemoteState.UNSPECIFIED.value
    try:
        remote_state = RemoteState(state)
    except ValueError:
        remote_state = RemoteState.UNSPECIFIED
    return RemoteBatch(name=job.name or "", display_name=job.display_name, state=remote_state)
