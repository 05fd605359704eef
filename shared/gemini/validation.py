"""Reading a Gemini reply: refusals, the JSON text, and its validation against the schema.

``GenerateContentResponse.parsed`` is silently ``None`` when the reply is invalid JSON or off
the schema, which is easy to mistake for "nothing to say". tubeq never reads ``.parsed``: it
takes the reply text, salvages a Markdown-fenced object (```json … ```), and validates it with
``AnalysisContent`` itself, so every failure has a message that can go back to the model in
the one repair attempt, and then into the failure record.

Keys the schema does not know are dropped, not failed: the request's schema forbids them, but a
model that adds a ``confidence`` to a quote has still answered, and failing it would buy the
same analysis twice and then give up. The dropped keys' names (never their values: they are
model output) come back with the content, for a log line.

A reply cut off by the output-token cap (finish reason ``MAX_TOKENS``) is named as such, with
the setting that sets the cap; its repair call gets a higher cap (``repair_output_cap``) instead
of the same one, which would cut the reply off again at the same place.
"""

from __future__ import annotations

import re
import types as pytypes
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import pydantic_core
from google.genai import types
from pydantic import BaseModel, ValidationError

from shared.errors import ModelRefused
from shared.models import AnalysisContent

#: the setting behind ``max_output_tokens``, named in truncation messages
MAX_OUTPUT_SETTING = "TUBEQ_GEMINI_MAX_OUTPUT_TOKENS"
#: the highest output cap a repair asks for: the documented output limit of the Gemini 2.5 and
#: 3 Flash, Flash-Lite and Pro models (``Model.outputTokenLimit``: 65,536)
OUTPUT_CAP_CEILING = 65_536
#: at most this many dropped key names are reported, each cut to ``_KEY_NAME_CHARS``
_MAX_KEYS_REPORTED = 20
_KEY_NAME_CHARS = 64

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


@dataclass(frozen=True)
class ParsedReply:
    content: AnalysisContent
    #: where unknown keys were dropped, as paths ("verdict", "quotes[0].confidence")
    ignored_keys: tuple[str, ...] = ()


def parse_reply(text: str) -> ParsedReply:
    """Validate a reply, unknown keys dropped; raise ``InvalidReplyError`` with a short,
    model-readable reason."""
    body = unfence(text).strip()
    if not body:
        raise InvalidReplyError("the reply was empty")
    try:
        data = pydantic_core.from_json(body)
    except ValueError as exc:
        raise InvalidReplyError(f"Invalid JSON: {exc}") from None
    ignored: list[str] = []
    data = _known_only(data, AnalysisContent, "", ignored)
    try:
        content = AnalysisContent.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:10]:
            where = ".".join(str(p) for p in err["loc"]) or "(the whole reply)"
            problems.append(f"{where}: {err['msg']}")
        raise InvalidReplyError("; ".join(problems)) from None
    return ParsedReply(content, tuple(ignored[:_MAX_KEYS_REPORTED]))


def parse_content(text: str) -> AnalysisContent:
    """``parse_reply`` without the names of the dropped keys."""
    return parse_reply(text).content


def _known_only(value: Any, model: type[BaseModel], path: str, ignored: list[str]) -> Any:
    """``value`` with the keys ``model`` does not declare removed, at every depth; anything
    that is not an object is left for validation to judge."""
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        field = model.model_fields.get(key)
        if field is None:
            ignored.append(path + key[:_KEY_NAME_CHARS])
        else:
            kept[key] = _known_within(item, field.annotation, path + key[:_KEY_NAME_CHARS], ignored)
    return kept


def _known_within(value: Any, annotation: Any, path: str, ignored: list[str]) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _known_only(value, annotation, path + ".", ignored)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple) and args and isinstance(value, list):
        return [_known_within(v, args[0], f"{path}[{i}]", ignored) for i, v in enumerate(value)]
    if origin in (Union, pytypes.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            return _known_within(value, models[0], path, ignored)
    return value


# ---- replies cut off by the output-token cap ----------------------------------------------------


def is_truncated(response: types.GenerateContentResponse) -> bool:
    """Whether the model stopped because it reached ``max_output_tokens``."""
    if not response.candidates:
        return False
    return response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def repair_output_cap(cap: int) -> int:
    """The cap for the repair of a truncated reply: twice ``cap``, at most the model's limit
    (never lower than ``cap``: a setting above the ceiling is the operator's to keep)."""
    return max(cap, min(cap * 2, OUTPUT_CAP_CEILING))


def truncation_problem(response: types.GenerateContentResponse, cap: int) -> str:
    """What to say about a reply cut off at ``cap`` output tokens (to the model and in logs)."""
    meta = response.usage_metadata
    thinking = meta.thoughts_token_count if meta is not None else None
    spent = f", {thinking} of them thinking" if thinking else ""
    return (
        f"the reply was cut off at the output-token cap of {cap} tokens "
        f"(finish reason MAX_TOKENS{spent}; the cap is {MAX_OUTPUT_SETTING})"
    )
