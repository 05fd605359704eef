"""The Gemini stub of the fault suite: ``GeminiStub`` plus what a fault table needs.

- Latency: every answer waits a little (``latency_s``), after it is billed, so a kill can
  land while a consumer waits for a reply the provider has already charged for.
- Who asked: each paid request is tied to its video (the id is in the transcript text) and
  to the client's TCP port, so a kill can tell which calls it cut: a call is *cut* when the
  killed process had a request in flight whose reply had not been written when the process
  was frozen (SIGSTOP, then its sockets are read, then SIGKILL).
- Modes: ``ok`` (valid analyses), ``refuse`` (every generateContent refused as a bad key,
  while models.get still passes: a key revoked after the pre-flight), ``429`` (a storm).

Counts come from the stub's side of the wire: ``billed_by_video`` counts the 200 answers
it sent (the same answers ``GeminiStub.billed`` keeps the usage of).
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.gemini_stub import (
    GeminiStub,
    RecordedRequest,
    StubReply,
    analysis_dict,
    bad_key,
    ok,
    rate_limited,
)

#: the suite's video ids: ``f`` + a three-letter case tag + seven digits (11 characters)
VIDEO_ID = re.compile(r"\bf[a-z]{3}\d{7}\b")
PRICE_INPUT_PER_M = 0.25
PRICE_OUTPUT_PER_M = 1.5


def usage_for(video_id: str) -> tuple[int, int]:
    """Prompt and output tokens of a video's answer: fixed per video, different across."""
    n = int(video_id[-7:])
    return 900 + (n * 37) % 700, 200 + (n * 13) % 300


def cost_of(video_id: str) -> float:
    prompt, output = usage_for(video_id)
    return (prompt * PRICE_INPUT_PER_M + output * PRICE_OUTPUT_PER_M) / 1_000_000


#: how long before a freeze a reply may have been written and still not be kept: reading,
#: validating and fsyncing it takes milliseconds; seconds would be a fault
UNREAD_REPLY_S = 2.0


@dataclass
class Call:
    """One generateContent request as the stub saw it."""

    port: int
    started: float
    video_id: str | None = None
    status: int | None = None
    finished: float | None = None  # when the reply was written (or the write failed)


class FaultGemini(GeminiStub):
    def __init__(self, latency_s: tuple[float, float] = (0.15, 0.6)) -> None:
        # set before GeminiStub.__init__, which builds the handler class
        self.latency_s = latency_s
        self.mode = "ok"
        self.retry_delay = "3s"
        self.calls: list[Call] = []
        self._local = threading.local()
        self._calls_lock = threading.Lock()
        super().__init__()
        self.responder = self._respond
        # a killed client resets its connection mid-request: expected here, not news
        self._http.quiet()

    # ---- what the table reads ---------------------------------------------------------
    def billed_by_video(self) -> Counter[str]:
        with self._calls_lock:
            return Counter(c.video_id for c in self.calls if c.status == 200 and c.video_id)

    def calls_of(self, video_id: str) -> list[Call]:
        with self._calls_lock:
            return [c for c in self.calls if c.video_id == video_id]

    def refused(self) -> int:
        with self._calls_lock:
            return sum(1 for c in self.calls if c.status is not None and c.status != 200)

    def cut_by(
        self, ports: set[int], frozen_at: float, killed_at: float, safe: set[str]
    ) -> list[Call]:
        """Calls of a process frozen at ``frozen_at`` and killed at ``killed_at`` (its
        client ports) that the kill cut: in flight when it froze, read by the stub from the
        dead process's socket afterwards (the request had left; the stub got it late), or
        answered shortly before the freeze with the reply not yet kept — its video not in
        ``safe`` (journaled or stored when it froze): the reply sat unread in the socket or
        was being parsed. "Shortly" is generous (``UNREAD_REPLY_S``); a reply the client
        has held longer without keeping it is a fault the table should show."""
        with self._calls_lock:
            return [
                c
                for c in self.calls
                if c.port in ports
                and c.started <= killed_at + 10.0
                and (
                    c.finished is None
                    or c.finished >= frozen_at
                    or (c.finished >= frozen_at - UNREAD_REPLY_S and c.video_id not in safe)
                )
            ]

    # ---- serving ----------------------------------------------------------------------
    def _respond(self, request: RecordedRequest) -> StubReply:
        call: Call = self._local.call
        text = request.system_instruction + " ".join(request.user_texts)
        match = VIDEO_ID.search(text)
        call.video_id = match.group(0) if match else None
        if self.mode == "refuse":
            reply = bad_key()
        elif self.mode == "429":
            reply = rate_limited(retry_delay=self.retry_delay)
        else:
            prompt, output = usage_for(call.video_id or "fxxx0000000")
            reply = ok(
                analysis_dict(summary=f"Fault-suite analysis of {call.video_id}."),
                prompt_tokens=prompt,
                output_tokens=output,
            )
            assert isinstance(reply.body, dict)
            reply.body["responseId"] = uuid.uuid4().hex  # unique per answer, as the API's
            reply.delay_s = random.uniform(*self.latency_s)
        call.status = reply.status
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base: Any = super()._handler_class()
        stub = self

        class Tracking(base):  # type: ignore[misc]
            def do_POST(self) -> None:
                call = Call(port=int(self.client_address[1]), started=time.monotonic())
                stub._local.call = call
                with stub._calls_lock:
                    stub.calls.append(call)
                try:
                    super().do_POST()
                finally:
                    call.finished = time.monotonic()

        return Tracking
