"""What one billed call brought, and what to do when it was not a valid analysis.

``Attempt`` is one call's result (valid content, or the problem to send back in the one repair
call); ``model_turn`` is that reply as the model's turn of the repair conversation, and
``failure_message`` the permanent error's message when the repair failed too, saying whether
the reply was off-schema or cut off by the output-token cap (and what to change then).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from shared.gemini.validation import MAX_OUTPUT_SETTING, OUTPUT_CAP_CEILING, reply_text
from shared.models import AnalysisContent, CallOutcome, Usage


@dataclass
class Attempt:
    """What one billed call brought: a valid content, or why not."""

    usage: Usage
    raw: str
    content: AnalysisContent | None = None
    problem: str = ""
    truncated: bool = False
    #: the reply as the model's turn of a repair conversation
    model_turn: types.Content | None = None

    @property
    def outcome(self) -> CallOutcome:
        if self.content is not None:
            return CallOutcome.OK
        return CallOutcome.TRUNCATED if self.truncated else CallOutcome.INVALID


def model_turn(response: types.GenerateContentResponse) -> types.Content:
    """The reply as the model's turn (its thought signature kept, if any)."""
    candidate = response.candidates[0].content if response.candidates else None
    if candidate is not None and candidate.parts and reply_text(response):
        return types.Content(role="model", parts=candidate.parts)
    # Gemini rejects an empty turn (a truncated reply may be all thinking and no text)
    return types.Content(role="model", parts=[types.Part(text="(empty reply)")])


def failure_message(kind: str, first: Attempt, second: Attempt, cap: int, repair_cap: int) -> str:
    """The permanent error's message after a failed repair."""
    if not second.truncated:
        return (
            f"Gemini's reply did not match the analysis schema after one repair attempt "
            f"({kind}): {second.problem} (first reply: {first.problem})"
        )
    raised = (
        f"the repair call's cap was raised to {repair_cap}"
        if repair_cap > cap
        else f"the cap could not be raised above the model's limit of {OUTPUT_CAP_CEILING}"
    )
    return (
        f"Gemini's reply was still cut off by the output-token cap after one repair attempt "
        f"({kind}; {raised}): {second.problem}. Raise {MAX_OUTPUT_SETTING} (now {cap}) "
        f"or use a model that answers more briefly (first reply: {first.problem})"
    )
