"""Reading Gemini replies without paying twice for harmless extras, naming truncation, and the
spend ledger's call ids (``shared.gemini.validation``, ``shared.gemini.spend``)."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from shared.gemini.partials import InMemoryPartialStore
from shared.gemini.spend import MAX_CALL_ID, call_id, next_attempt, step_key
from shared.gemini.validation import (
    OUTPUT_CAP_CEILING,
    InvalidReplyError,
    is_truncated,
    parse_content,
    parse_reply,
    repair_output_cap,
    truncation_problem,
)

VALID = {
    "summary": "s",
    "key_points": ["k"],
    "topics": ["T  One", "t one"],
    "quotes": [{"text": "q", "start_s": 1.5}],
    "language": "en",
}


def test_unknown_keys_are_dropped_at_every_depth_and_named() -> None:
    reply = dict(VALID, extra=1, notes={"secret": "value"})
    reply["quotes"] = [
        {"text": "q", "start_s": 1.5, "confidence": 0.9},
        {"text": "r", "start_s": 2},
    ]
    parsed = parse_reply(json.dumps(reply))
    assert parsed.content.topics == ["t one"]
    assert [q.text for q in parsed.content.quotes] == ["q", "r"]
    assert sorted(parsed.ignored_keys) == ["extra", "notes", "quotes[0].confidence"]
    assert parse_content(json.dumps(reply)) == parsed.content


def test_a_valid_reply_drops_nothing() -> None:
    assert parse_reply(json.dumps(VALID)).ignored_keys == ()


def test_reported_key_names_are_bounded() -> None:
    reply = dict(VALID, **{f"k{i}": i for i in range(50)}, **{"x" * 500: 1})
    parsed = parse_reply(json.dumps(reply))
    assert len(parsed.ignored_keys) == 20
    long = dict(VALID, **{"x" * 500: 1})
    assert parse_reply(json.dumps(long)).ignored_keys == ("x" * 64,)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("{not json", "Invalid JSON"),
        ('{"summary": "cut off', "Invalid JSON: EOF"),
        ('{"summary": "s", "verdict": 1}', "key_points"),  # an extra key hides no missing one
        (json.dumps(dict(VALID, quotes="none")), "quotes"),
        (json.dumps(dict(VALID, quotes=[{"text": "q", "start_s": -3, "x": 1}])), "start_s"),
        ("[1, 2]", "valid dictionary"),
    ],
)
def test_invalid_replies_still_say_why(reply: str, reason: str) -> None:
    with pytest.raises(InvalidReplyError, match=reason):
        parse_reply(reply)


def _response(finish: str, thinking: int = 0) -> types.GenerateContentResponse:
    return types.GenerateContentResponse.model_validate(
        {
            "candidates": [{"finishReason": finish}],
            "usageMetadata": {"promptTokenCount": 5, "thoughtsTokenCount": thinking or None},
        }
    )


def test_truncation_is_read_from_the_finish_reason_and_named() -> None:
    assert is_truncated(_response("MAX_TOKENS"))
    assert not is_truncated(_response("STOP"))
    assert not is_truncated(types.GenerateContentResponse())
    problem = truncation_problem(_response("MAX_TOKENS", thinking=700), 1024)
    assert "1024" in problem and "MAX_TOKENS" in problem and "700 of them thinking" in problem
    assert "TUBEQ_GEMINI_MAX_OUTPUT_TOKENS" in problem


@pytest.mark.parametrize(
    ("cap", "raised"),
    [(256, 512), (8192, 16_384), (40_000, OUTPUT_CAP_CEILING), (65_536, 65_536), (90_000, 90_000)],
)
def test_the_repair_cap_doubles_up_to_the_models_limit(cap: int, raised: int) -> None:
    assert repair_output_cap(cap) == raised


def test_call_ids_are_readable_deterministic_and_bounded() -> None:
    assert call_id("dQw4w9WgXcQ", "gemini:m:p1", "merge", "2") == "dQw4w9WgXcQ:gemini:m:p1:merge#2"
    long = call_id("dQw4w9WgXcQ", "gemini:" + "m" * 300, "chunk-001-of-002-abc", "1")
    assert len(long) <= MAX_CALL_ID and long.startswith("dQw4w9WgXcQ:") and long.endswith("#1")
    assert long == call_id("dQw4w9WgXcQ", "gemini:" + "m" * 300, "chunk-001-of-002-abc", "1")
    assert long != call_id("dQw4w9WgXcQ", "gemini:" + "m" * 300, "chunk-002-of-002-abc", "1")


def test_attempt_numbers_count_up_per_step_and_survive_a_torn_counter() -> None:
    store = InMemoryPartialStore()
    merge = step_key("dQw4w9WgXcQ", "gemini:m:p1", "merge")
    repair = step_key("dQw4w9WgXcQ", "gemini:m:p1", "merge.repair")
    assert "/" not in merge.split("/calls/")[1] and ":" not in merge
    assert [next_attempt(store, merge) for _ in range(3)] == [1, 2, 3]
    assert next_attempt(store, repair) == 1
    store.put(merge, b"\xff torn")
    assert next_attempt(store, merge) == 1
