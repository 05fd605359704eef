"""Token counts and cost of Gemini calls, from ``usage_metadata`` and the price table.

Input is priced per million prompt tokens (tool-use prompt tokens included); output per
million candidate + thinking tokens, as Gemini bills thinking as output. Context-cache
discounts are not modelled (tubeq does not use explicit caching), so the cost is an upper
bound when implicit caching kicks in.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from shared.models import Usage


@dataclass(frozen=True)
class Prices:
    input_per_m: float
    output_per_m: float

    def cost(self, prompt_tokens: int, output_tokens: int, thinking_tokens: int) -> float:
        usd = (
            prompt_tokens * self.input_per_m + (output_tokens + thinking_tokens) * self.output_per_m
        ) / 1_000_000
        return round(usd, 8)


def usage_of(response: types.GenerateContentResponse, prices: Prices) -> Usage:
    """The usage of one call (``model_calls=1``), zeros where the API left a count out."""
    meta = response.usage_metadata
    prompt = output = thinking = 0
    if meta is not None:
        prompt = (meta.prompt_token_count or 0) + (meta.tool_use_prompt_token_count or 0)
        output = meta.candidates_token_count or 0
        thinking = meta.thoughts_token_count or 0
    return Usage(
        prompt_tokens=prompt,
        output_tokens=output,
        thinking_tokens=thinking,
        model_calls=1,
        cost_usd=prices.cost(prompt, output, thinking),
    )
