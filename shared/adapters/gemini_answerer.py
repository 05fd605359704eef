"""`tubeq ask` on Gemini: one google-genai call with structured output, answering only from
numbered transcript passages (``shared.gemini.ask_prompt``: passages framed as data, the
instruction outside them, the reply held to ``AskReply``).

Like the analyzer, the client never retries on its own, the call first takes its share of
the rate budget the consumers share (a 429 pauses that budget for the delay Gemini asked
for), and the billed call is recorded in the spend ledger whatever became of it, under
``ask:<digest of question and passages>#<random>`` (each ask is a new paid call; recording
one twice keeps one row).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Self

from google import genai
from google.genai import types

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client, leaving
from shared.answers import Answer, Passage, checked_question, not_in_videos
from shared.classify import classify
from shared.errors import ConfigError, InvalidModelOutput, RateLimited
from shared.gemini import ask_prompt
from shared.gemini.chunking import estimate_tokens
from shared.gemini.pricing import Prices, usage_of
from shared.gemini.validation import InvalidReplyError, check_refusal, reply_text
from shared.logging import get_logger
from shared.models import BilledCall, CallOutcome, Usage
from shared.ports import RateBudget, SpendLedger

log = get_logger(__name__)

#: how long a 429 without a retry delay pauses the shared budget (as the analyzer)
DEFAULT_429_PAUSE_S = 10.0
#: an answer is a few sentences: a small cap keeps a runaway reply cheap
MAX_OUTPUT_TOKENS = 2048


class GeminiAnswerer:
    name = "gemini"

    def __init__(
        self,
        client: genai.Client,
        *,
        model: str,
        prices: Prices,
        budget: RateBudget,
        ledger: SpendLedger | None = None,
        temperature: float = 0.2,
        budget_wait_s: float = 120.0,
    ) -> None:
        self._client = client
        self.model = model
        self._prices = prices
        self._budget = budget
        self._ledger = ledger
        self._temperature = temperature
        self._budget_wait_s = budget_wait_s
        self._schema = ask_prompt.response_json_schema()

    @classmethod
    def from_settings(
        cls, section: GeminiSettings, *, budget: RateBudget, ledger: SpendLedger | None = None
    ) -> Self:
        """Owns ``budget`` from here on (``close`` closes it), not the ledger."""
        if section.api_key is None or not section.api_key.get_secret_value():
            raise ConfigError(
                "TUBEQ_GEMINI_API_KEY is not set: create a key in Google AI Studio "
                "(https://aistudio.google.com/apikey), or ask offline with "
                "TUBEQ_ANALYZER_BACKEND=extractive"
            )
        client = gemini_client(section)
        return cls(
            client,
            model=section.model,
            prices=Prices(section.price_input_per_m, section.price_output_per_m),
            budget=budget,
            ledger=ledger,
            temperature=section.temperature,
            budget_wait_s=section.budget_wait_s,
        )

    def close(self) -> None:
        self._client.close()
        self._budget.close()

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        question = checked_question(question, passages)
        if not passages:  # nothing to answer from: a paid call could only say so
            return not_in_videos(question, self.name)
        prompt = ask_prompt.ask_prompt(question, passages)
        response = self._call(prompt)
        usage = usage_of(response, self._prices)
        outcome = CallOutcome.REFUSED
        try:
            check_refusal(response)
            outcome = CallOutcome.INVALID
            raw = reply_text(response)
            try:
                reply = ask_prompt.parse_ask_reply(raw, len(passages))
            except InvalidReplyError as exc:
                raise InvalidModelOutput(f"Gemini's answer was unusable: {exc}", raw=raw) from None
            outcome = CallOutcome.OK
        finally:
            self._record(question, passages, usage, outcome)
        return Answer(
            question=question,
            answer=reply.answer,
            found=reply.found,
            cited=reply.cited,
            passages=list(passages),
            answered_by=self.name,
            model=self.model,
            usage=usage,
        )

    def _call(self, prompt: str) -> types.GenerateContentResponse:
        tokens = estimate_tokens(ask_prompt.SYSTEM_INSTRUCTION + json.dumps(self._schema) + prompt)
        grant = self._budget.acquire(tokens, self._budget_wait_s)
        config = types.GenerateContentConfig(
            system_instruction=ask_prompt.SYSTEM_INSTRUCTION,
            temperature=self._temperature,
            max_output_tokens=MAX_OUTPUT_TOKENS,
            response_mime_type="application/json",
            response_json_schema=self._schema,
        )
        try:
            with leaving(grant):
                return self._client.models.generate_content(
                    model=self.model, contents=prompt, config=config
                )
        except Exception as exc:
            error = classify(exc)
            log.warning("ask.call_failed", error_code=error.code, error=error.message)
            if isinstance(error, RateLimited):
                grant.refund()
                self._budget.pause(error.retry_after or DEFAULT_429_PAUSE_S)
            raise error from exc

    def _record(
        self, question: str, passages: Sequence[Passage], usage: Usage, outcome: CallOutcome
    ) -> None:
        """The billed call into the ledger; a ledger that cannot take it costs a log line,
        not the answer already paid for."""
        if self._ledger is None:
            return
        digest = hashlib.sha256(
            (question + "\n" + ask_prompt.passages_text(passages)).encode("utf-8")
        ).hexdigest()[:16]
        call = BilledCall(
            call_id=f"ask:{digest}#{uuid.uuid4().hex[:12]}",
            model=self.model,
            purpose="ask",
            usage=usage,
            outcome=outcome,
        )
        try:
            self._ledger.record_call(call)
        except Exception as exc:
            error = classify(exc)
            log.warning(
                "ask.ledger_write_failed",
                call_id=call.call_id,
                cost_usd=usage.cost_usd,
                error_code=error.code,
            )
