"""Reading a Gemini reply: refusals, the JSON text, and its validation against the schema.

``GenerateContentResponse.parsed`` is silently ``None`` when the reply is invalid JSON or off
the schema, which is easy to mistake for "nothing to say". tubeq never reads ``.parsed``: it
takes the reply text, salvages a Markdown-fenced object (```json … ```), and validates it with
``AnalysisContent`` itself, so every failure has a message that can go back to the model in
the one repair attempt, and then into the failure record.
"""

from __future__ import annotations

import re

from google.genai import types
from pydantic import ValidationError

from shared.errors import ModelRefused
from shared.models import AnalysisContent

_FENCED = re.compile(r"^\s*```[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?```\s*$", re.S)

# The reply's text is usable on these; every other finish reason means the model stopped for
# a policy reason (safety, recitation, blocklist, ...) and asking again will not help.
# MAX_TOKENS is usable: the truncated JSON then fails validation and goes to the repair step.
_USABLE_FINISH = {
    None,
    types.FinishReason.STOP,
    types.FinishReason.MAX_TOKENS,
    types.FinishReason.FINISH_REASON_UNSPECIFIED,
}


class InvalidReplyError(ValueError):
    """The reply text is not a valid ``AnalysisContent``; the message says why."""


def check_refusal(response: types.GenerateContentResponse) -> None:
    """Raise ``ModelRefused`` when the prompt was blocked or no usable candidate came back."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise ModelRefused(f"Gemini blocked the prompt ({feedback.block_reason.value}){detail}")
    if not response.candidates:
        raise ModelRefused("Gemini returned no candidates (the reply was withheld)")
    reason = response.candidates[0].finish_reason
    if reason not in _USABLE_FINISH:
        name = reason.value if reason is not None else "unknown"
        message = response.candidates[0].finish_message
        raise ModelRefused(
            f"Gemini stopped with finish reason {name}" + (f": {message}" if message else "")
        )


def reply_text(response: types.GenerateContentResponse) -> str:
    """The candidate's text parts, thoughts left out."""
    if not response.candidates or response.candidates[0].content is None:
        return ""
    parts = response.candidates[0].content.parts or []
    return "".join(p.text for p in parts if p.text and not p.thought)


def unfence(text: str) -> str:
    match = _FENCED.match(text)
    return match.group("body") if match else text


def parse_content(text: str) -> AnalysisContent:
    """Validate a reply; raise ``InvalidReplyError`` with a short, model-readable reason."""
    body = unfence(text).strip()
    if not body:
        raise InvalidReplyError("the reply was empty")
    try:
        return AnalysisContent.model_validate_json(body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:10]:
            where = ".".join(str(p) for p in err["loc"]) or "(the whole reply)"
            problems.append(f"{where}: {err['msg']}")
        raise InvalidReplyError("; ".join(problems)) from None
