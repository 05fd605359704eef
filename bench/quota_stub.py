"""A Gemini stand-in that enforces a quota the way the provider does, for the benchmarks.

It is ``tests.support.gemini_stub.GeminiStub`` (the same wire format google-genai speaks,
the same request-shape checks, ``models.get`` for the consumer's pre-flight) with the reply
decided by a quota instead of a script:

- **requests and input tokens per window, sliding**: a call is accepted when, counting it,
  the calls accepted in the last ``window_s`` seconds stay within ``requests`` and their
  input tokens within ``tokens``; otherwise it is refused with a 429 ``RESOURCE_EXHAUSTED``
  whose ``RetryInfo.retryDelay`` says when the window will have room for it (rounded up to
  the provider's whole seconds, scaled to the window: ``window_s / 60``). A refused call is
  not counted against the quota and not billed.
- **input tokens by its own rule**: ``ceil(characters / 4)`` of the request's text (the
  contents' text parts, the system instruction and the response schema), Google's documented
  rule of thumb; it never calls tubeq's estimator. The count is what ``promptTokenCount``
  reports.
- **latency**: an accepted call answers after ``base_s + tokens / tokens_per_s`` seconds
  (a model reads and writes for a while); a refusal answers at once.

Nothing keeps request bodies (hours of transcript each): only ``(time, tokens)`` of every
accepted and refused call, for the figures. Binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.gemini_stub import (  # noqa: E402
    GeminiStub,
    RecordedRequest,
    StubReply,
    analysis_dict,
    ok,
    rate_limited,
)

CHARS_PER_TOKEN = 4
REQUESTS_QUOTA_ID = "GenerateRequestsPerMinutePerProjectPerModel"
TOKENS_QUOTA_ID = "GenerateContentInputTokensPerModelPerMinute"


def _texts(value: Any) -> list[str]:
    """Every ``text`` of a Content / list of Contents (proto-JSON)."""
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for content in items:
        if isinstance(content, str):
            out.append(content)
            continue
        if not isinstance(content, dict):
            continue
        for part in content.get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
    return out


def count_tokens(body: dict[str, Any]) -> int:
    """The stub's own count of a request's input tokens: ~4 characters a token."""
    chars = sum(len(t) for t in _texts(body.get("contents") or []))
    system = body.get("systemInstruction", body.get("system_instruction"))
    if system is not None:
        chars += sum(len(t) for t in _texts(system))
    config = body.get("generationConfig", body.get("generation_config")) or {}
    schema = config.get("responseJsonSchema", config.get("response_json_schema"))
    if schema is not None:
        chars += len(json.dumps(schema))
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


@dataclass(frozen=True)
class Decision:
    accepted: bool
    #: seconds until the window has room for the call (0 when accepted)
    retry_after_s: float = 0.0
    #: which quota refused it
    quota_id: str = ""


class SlidingWindowQuota:
    """Requests and tokens per sliding window; thread-safe. ``clock`` is ``time.time``."""

    def __init__(
        self,
        requests: int,
        tokens: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if requests < 1 or tokens < 1 or window_s <= 0:
            raise ValueError("quota limits must be positive")
        self.requests = requests
        self.tokens = tokens
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._live: deque[tuple[float, int]] = deque()
        self._live_tokens = 0
        #: every accepted call, (time, tokens), in order
        self.accepted: list[tuple[float, int]] = []
        #: every refused call, (time, tokens, quota id)
        self.refused: list[tuple[float, int, str]] = []

    def admit(self, tokens: int) -> Decision:
        with self._lock:
            now = self._clock()
            while self._live and self._live[0][0] <= now - self.window_s:
                self._live_tokens -= self._live.popleft()[1]
            decision = self._decide(now, tokens)
            if decision.accepted:
                self._live.append((now, tokens))
                self._live_tokens += tokens
                self.accepted.append((now, tokens))
            else:
                self.refused.append((now, tokens, decision.quota_id))
            return decision

    def _decide(self, now: float, tokens: int) -> Decision:
        if len(self._live) + 1 > self.requests:
            # room once enough of the oldest calls leave the window
            leaves = self._live[len(self._live) - self.requests][0]
            return Decision(False, leaves + self.window_s - now, REQUESTS_QUOTA_ID)
        if self._live_tokens + tokens > self.tokens:
            if tokens > self.tokens:  # never fits: the provider refuses it every time
                return Decision(False, self.window_s, TOKENS_QUOTA_ID)
            left = self._live_tokens
            for at, spent in self._live:
                left -= spent
                if left + tokens <= self.tokens:
                    return Decision(False, at + self.window_s - now, TOKENS_QUOTA_ID)
        return Decision(True)


@dataclass(frozen=True)
class Latency:
    base_s: float = 0.5
    tokens_per_s: float = 100_000.0

    def of(self, tokens: int) -> float:
        return self.base_s + tokens / self.tokens_per_s


class QuotaStub(GeminiStub):
    """The Gemini stub with a provider-like quota in front of every ``generateContent``."""

    def __init__(
        self,
        requests: int,
        tokens: int,
        window_s: float,
        *,
        latency: Latency | None = None,
        api_key: str = "bench-key",
    ) -> None:
        super().__init__(api_key=api_key)
        self.quota = SlidingWindowQuota(requests, tokens, window_s)
        self.latency = latency or Latency()
        #: the provider's retry delays are whole seconds of a 60 s window: scaled here
        self.delay_step_s = window_s / 60.0
        self._content = analysis_dict()

    def __enter__(self) -> QuotaStub:
        self.start()
        return self

    def _reply_for(self, request: RecordedRequest) -> StubReply:
        # Overridden so that no request body is kept (the base class records them all).
        tokens = count_tokens(request.body)
        decision = self.quota.admit(tokens)
        if not decision.accepted:
            steps = max(1, math.ceil(decision.retry_after_s / self.delay_step_s - 1e-9))
            return rate_limited(
                retry_delay=f"{steps * self.delay_step_s:.3f}s", quota_id=decision.quota_id
            )
        reply = ok(self._content, prompt_tokens=tokens, output_tokens=300)
        reply.delay_s = self.latency.of(tokens)
        return reply

    # ---- figures ------------------------------------------------------------------------

    def accepted_times(self) -> list[float]:
        return [t for t, _ in self.quota.accepted]

    def refused_count(self, since: float = 0.0, until: float = math.inf) -> int:
        return sum(1 for t, _, _ in self.quota.refused if since <= t < until)
