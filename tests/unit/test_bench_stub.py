"""The benchmark's quota stub (bench/quota_stub.py) is itself checked: within the quota it
accepts, over it it refuses with Gemini's 429 and a retry delay that is right, and it
counts tokens by its own rule."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from bench.quota_stub import (
    REQUESTS_QUOTA_ID,
    TOKENS_QUOTA_ID,
    Latency,
    QuotaStub,
    SlidingWindowQuota,
    count_tokens,
)
from shared.classify import classify
from shared.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_within_the_window_are_accepted_and_one_more_is_refused() -> None:
    clock = Clock()
    quota = SlidingWindowQuota(requests=3, tokens=1_000_000, window_s=10, clock=clock)
    for _ in range(3):
        assert quota.admit(100).accepted
        clock.now += 1
    refused = quota.admit(100)
    assert not refused.accepted and refused.quota_id == REQUESTS_QUOTA_ID
    # the first call (t=1000) leaves the window at t=1010; now is 1003
    assert refused.retry_after_s == pytest.approx(7.0)
    clock.now = 1010.0  # the first call has left the sliding window
    assert quota.admit(100).accepted
    assert len(quota.accepted) == 4 and len(quota.refused) == 1


def test_tokens_over_the_window_are_refused_until_enough_leave() -> None:
    clock = Clock()
    quota = SlidingWindowQuota(requests=100, tokens=1000, window_s=10, clock=clock)
    assert quota.admit(600).accepted
    clock.now += 2
    assert quota.admit(300).accepted
    clock.now += 1
    refused = quota.admit(200)  # 600 + 300 + 200 > 1000: room when the 600 leave (t=1010)
    assert not refused.accepted and refused.quota_id == TOKENS_QUOTA_ID
    assert refused.retry_after_s == pytest.approx(7.0)
    assert quota.admit(100).accepted  # exactly at the limit is within it
    too_big = quota.admit(5000)
    assert not too_big.accepted and too_big.retry_after_s == 10


def test_tokens_are_four_characters_each_of_the_whole_request_text() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a" * 400}, {"text": "b" * 40}]}],
        "systemInstruction": {"parts": [{"text": "c" * 36}]},
        "generationConfig": {"responseJsonSchema": {"type": "object"}},
    }
    schema_chars = len('{"type": "object"}')
    assert count_tokens(body) == -(-(400 + 40 + 36 + schema_chars) // 4)


def test_the_real_client_gets_a_429_with_retry_info_over_the_quota() -> None:
    with QuotaStub(2, 1_000_000, 60.0, latency=Latency(base_s=0.0)) as stub:
        client = genai.Client(
            api_key=stub.api_key,
            http_options=types.HttpOptions(
                base_url=stub.base_url, retry_options=types.HttpRetryOptions(attempts=1)
            ),
        )
        try:
            for _ in range(2):
                reply = client.models.generate_content(model="m", contents="hello " * 100)
                assert reply.usage_metadata is not None
                assert reply.usage_metadata.prompt_token_count == count_tokens(
                    {"contents": [{"parts": [{"text": "hello " * 100}]}]}
                )
            with pytest.raises(errors.ClientError) as refused:
                client.models.generate_content(model="m", contents="hello")
        finally:
            client.close()
    assert refused.value.code == 429
    error = classify(refused.value)
    assert isinstance(error, RateLimited)
    # the window (60 s) is nearly whole ahead: the delay is most of it, in whole seconds
    assert error.retry_after is not None and 55 <= error.retry_after <= 60
    assert len(stub.quota.accepted) == 2 and len(stub.quota.refused) == 1
    assert len(stub.billed) == 2  # a refused call is not billed
