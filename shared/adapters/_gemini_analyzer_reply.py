"""What the Gemini analyzer (``shared.adapters.gemini_analyzer``) makes of one reply: a
validated ``AnalysisContent`` (``shared.gemini.validation``), or the problem to send back in
its one repair call.

A reply with keys the schema does not know is used, the keys dropped (their names are logged).
A reply cut off by the output-token cap (finish reason ``MAX_TOKENS``) is called that, rather
than "Invalid JSON: EOF", so the repair call can be given a higher cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from shared.adapters._gemini_analyzer_call import Step
from shared.gemini.repair import Attempt, model_turn
from shared.gemini.validation import (
    InvalidReplyError,
    is_truncated,
    parse_reply,
    reply_text,
    truncation_problem,
)
from shared.logging import get_logger
from shared.models import AnalysisContent, Usage

log = get_logger(__name__)


@dataclass
class Reply:
    """A valid analysis content and what it cost, over every call that went into it."""

    content: AnalysisContent
    usage: Usage


def read_reply(
    response: types.GenerateContentResponse, step: Step, cap: int, usage: Usage
) -> Attempt:
    """One billed reply (sent with output cap ``cap``) as an ``Attempt``."""
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
