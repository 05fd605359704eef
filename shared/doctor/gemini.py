"""Gemini: is the key accepted, and is the configured model there for it?

One ``models.get`` (``GET /v1beta/models/{model}``): free, no tokens, no quota of the
generation calls. A bad key answers 400 ``INVALID_ARGUMENT`` with an ``ErrorInfo`` whose
reason is ``API_KEY_INVALID`` ("API key not valid. Please pass a valid API key."); an
unknown model answers 404 ``NOT_FOUND`` ("models/… is not found for API version v1beta,
…"); a key of a project without the API, 403 ``PERMISSION_DENIED``.
"""

from __future__ import annotations

from typing import Any

from shared.doctor.common import capped, failed, passed, skipped
from shared.doctor.result import CheckResult
from shared.settings import Settings

SERVICE = "gemini"
_KEY_FIX = (
    "set TUBEQ_GEMINI_API_KEY to a valid Gemini API key (https://aistudio.google.com/apikey); "
    "a Google Cloud key needs the Generative Language API enabled in its project"
)
_MODEL_FIX = (
    "set TUBEQ_GEMINI_MODEL to a model this key can use (the ids are listed at "
    "https://ai.google.dev/gemini-api/docs/models); retired models disappear from the API"
)
_REACH_FIX = (
    "check the network path to the Gemini API (or TUBEQ_GEMINI_BASE_URL if set) and "
    "https://aistatus.google.com/; then run `tubeq doctor` again"
)


def check_gemini(settings: Settings, timeout_s: float) -> list[CheckResult]:
    model = settings.gemini_model
    if settings.analyzer_backend != "gemini":
        return [skipped(SERVICE, "key and model", "not configured (TUBEQ_ANALYZER_BACKEND)")]
    key = settings.gemini_api_key
    if key is None or not key.get_secret_value():
        return [failed(SERVICE, "key valid", "TUBEQ_GEMINI_API_KEY is not set", _KEY_FIX)]

    from google import genai
    from google.genai import errors, types

    http_options = types.HttpOptions(
        base_url=settings.gemini_base_url,
        timeout=int(capped(settings.gemini_timeout_s, timeout_s) * 1000),  # milliseconds
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    client = genai.Client(api_key=key.get_secret_value(), http_options=http_options)
    try:
        info = client.models.get(model=model)
    except errors.APIError as exc:
        return _verdict(exc.code, str(exc.status or ""), exc.message or "", exc.details, model)
    except Exception as exc:  # no HTTP answer at all: DNS, refused, timeout
        detail = f"no answer from the Gemini API ({type(exc).__name__}: {exc})"
        return [
            failed(SERVICE, "key valid", detail, _REACH_FIX, transient=True),
            failed(SERVICE, "model available", "not checked", _REACH_FIX, transient=True),
        ]
    finally:
        client.close()
    actions = info.supported_actions or []
    key_line = passed(SERVICE, "key valid", "the API accepted the key")
    if actions and "generateContent" not in actions:
        return [
            key_line,
            failed(
                SERVICE,
                "model available",
                f"{model} exists but does not support generateContent",
                _MODEL_FIX,
            ),
        ]
    limit = f", input limit {info.input_token_limit:,} tokens" if info.input_token_limit else ""
    return [key_line, passed(SERVICE, "model available", f"{model}{limit}")]


def _verdict(code: int, status: str, message: str, details: Any, model: str) -> list[CheckResult]:
    bad_key = "API_KEY_INVALID" in str(details) or "api key not valid" in message.lower()
    if bad_key or code == 401:
        return [
            failed(SERVICE, "key valid", f"the API refused the key: {message}", _KEY_FIX),
            failed(SERVICE, "model available", "not checked: the key was refused", _KEY_FIX),
        ]
    if code == 403:
        return [
            failed(
                SERVICE, "key valid", f"the key may not use the API ({status}): {message}", _KEY_FIX
            ),
            failed(SERVICE, "model available", "not checked: the key was refused", _KEY_FIX),
        ]
    if code >= 500:
        detail = f"HTTP {code} {status}: {message}"
        return [
            failed(SERVICE, "key valid", detail, _REACH_FIX, transient=True),
            failed(SERVICE, "model available", "not checked", _REACH_FIX, transient=True),
        ]
    key_line = passed(SERVICE, "key valid", "the API accepted the key")
    if code == 404:
        return [key_line, failed(SERVICE, "model available", f"{model}: {message}", _MODEL_FIX)]
    if code == 429:
        return [
            key_line,
            failed(
                SERVICE,
                "model available",
                f"not checked: HTTP {code} {status}: {message}",
                _REACH_FIX,
                transient=True,
            ),
        ]
    return [
        key_line,
        failed(SERVICE, "model available", f"HTTP {code} {status}: {message}", _MODEL_FIX),
    ]
