"""What the Gemini analyzer (``shared.adapters.gemini_analyzer``) is built from: its options,
the start-time check of ``TUBEQ_GEMINI_*``, and the google-genai client those settings make.

The client never retries on its own (``HttpRetryOptions(attempts=1)``): a failure becomes a
tubeq error and the queue retries the message, honouring the server's retry delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google import genai

from shared.adapter_settings import GeminiSettings
from shared.adapters._gemini_client import gemini_client
from shared.errors import ConfigError
from shared.gemini.pricing import Prices


@dataclass(frozen=True)
class GeminiOptions:
    model: str
    prompt_version: str
    temperature: float = 0.2
    chunk_tokens: int = 200_000
    max_output_tokens: int = 8192
    prices: Prices = field(default_factory=lambda: Prices(0.25, 1.50))
    budget_wait_s: float = 120.0


def options_from(section: GeminiSettings) -> GeminiOptions:
    return GeminiOptions(
        model=section.model,
        prompt_version=section.prompt_version,
        temperature=section.temperature,
        chunk_tokens=section.chunk_tokens,
        max_output_tokens=section.max_output_tokens,
        prices=Prices(section.price_input_per_m, section.price_output_per_m),
        budget_wait_s=section.budget_wait_s,
    )


def client_from(section: GeminiSettings) -> genai.Client:
    """The SDK client for ``section``, whose settings ``check_gemini_settings`` accepted."""
    return gemini_client(section)


def check_gemini_settings(section: GeminiSettings) -> None:
    """Refuse, at start, a missing key and settings under which a chunked analysis could
    never finish."""
    if section.api_key is None or not section.api_key.get_secret_value():
        raise ConfigError(
            "TUBEQ_GEMINI_API_KEY is not set: create a key in Google AI Studio "
            "(https://aistudio.google.com/apikey) and put it in the environment or .env"
        )
    if section.chunk_tokens * 2 > section.tpm:
        raise ConfigError(
            f"TUBEQ_GEMINI_CHUNK_TOKENS ({section.chunk_tokens}) is more than half of "
            f"TUBEQ_GEMINI_TPM ({section.tpm}): a chunk plus its prompt must fit the "
            "per-minute token budget with room to spare; lower TUBEQ_GEMINI_CHUNK_TOKENS to "
            f"at most {section.tpm // 2} (TUBEQ_GEMINI_TPM is this machine's share "
            "of your quota)"
        )
    # a call holds its message's lease while it waits for budget and then for Gemini
    held = section.budget_wait_s + section.timeout_s
    if held >= section.lease_s:
        raise ConfigError(
            f"TUBEQ_GEMINI_BUDGET_WAIT_S ({section.budget_wait_s:g}) plus "
            f"TUBEQ_GEMINI_TIMEOUT_S ({section.timeout_s:g}) must stay under "
            f"TUBEQ_VISIBILITY_TIMEOUT_S ({section.lease_s:g}), or a message's "
            "lease runs out while its model call is still waiting; lower the first two or "
            "raise the visibility timeout"
        )
