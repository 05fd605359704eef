"""The Gemini analyzer's (``shared.adapters.gemini_analyzer``) entries in the spend ledger:
every call Gemini bills is recorded the moment its reply arrives, whatever became of it
(valid, invalid, truncated, refused; first call or repair; chunk, merge or video), under a
deterministic ``call_id`` (``shared.gemini.spend``) whose attempt number is counted in the
analyzer's ``PartialStore``.
"""

from __future__ import annotations

import uuid

from google.genai import types

from shared.adapters._gemini_analyzer_call import Step
from shared.classify import classify
from shared.gemini.spend import call_id, next_attempt, step_key
from shared.logging import get_logger
from shared.models import BilledCall, CallOutcome, Usage
from shared.ports import PartialStore, SpendLedger

log = get_logger(__name__)


def record_billed_call(
    ledger: SpendLedger,
    partials: PartialStore,
    step: Step,
    response: types.GenerateContentResponse,
    usage: Usage,
    outcome: CallOutcome,
    *,
    analysis_version: str,
    model: str,
) -> None:
    """Put one billed call in the spend ledger.

    A ledger that cannot record does not fail the analysis: the reply in hand is what was
    paid for, and raising here would make the queue buy it again. The cost: that call is
    missing from the ledger for good (the analysis's own ``usage`` still counts it, but a
    video that ends failed has no other record of its spend), since no retry repeats a
    call whose reply arrived.
    """
    try:
        key = step_key(step.video_id, analysis_version, step.name)
        attempt = str(next_attempt(partials, key))
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
        call_id=call_id(step.video_id, analysis_version, step.name, attempt),
        video_id=step.video_id,
        analysis_version=analysis_version,
        model=model,
        purpose=step.purpose,
        usage=usage,
        outcome=outcome,
    )
    try:
        ledger.record_call(call)
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
