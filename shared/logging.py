"""structlog, configured once at the entry point: JSON for machines, readable for people.

Secrets never reach a log line: values of keys that look secret are masked, and any
``SecretStr`` is rendered as ``**********`` by pydantic. The processors below also mask
things that look like credentials inside free text (proxy URLs with passwords, bearer
tokens, ``key=`` query parameters).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# A key is secret when its last word says so: `api_key`, `cf_api_token`, `password`, but not
# `prompt_tokens` (a count) or `artifact_key` (a path, listed as safe below).
# Header spellings too: `apikey` (Supabase), `x-goog-api-key`, `X-Api-Key`.
_SECRET_KEYS = re.compile(
    r"(?:^|[_-])(?:key|apikey|token|secret|password|passwd|authorization|dsn|cookie"
    r"|credentials?)$",
    re.I,
)
_SECRET_PATTERNS = [
    # scheme://user:password@host → scheme://user:***@host
    (re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?=@)", re.I), r"\g<pre>***"),
    (re.compile(r"(?P<pre>bearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\g<pre>***"),
    # keyword DSNs and config dumps: password=… / secret: …
    (
        re.compile(r"(?P<pre>\b(?:password|passwd|secret|api_?key)\s*[=:]\s*)[^\s&;,'\"]+", re.I),
        r"\g<pre>***",
    ),
    (
        re.compile(r"(?P<pre>[?&](?:key|api_key|token|signature|X-Amz-Signature)=)[^&\s]+", re.I),
        r"\g<pre>***",
    ),
]
_SAFE_KEYS = {"lease_key", "key", "artifact_key", "idempotency_key"}


def redact_text(text: str) -> str:
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: ("***" if _is_secret_key(k) else _redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key not in _SAFE_KEYS and bool(_SECRET_KEYS.search(key))


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for k in list(event_dict):
        if _is_secret_key(k):
            event_dict[k] = "***"
        else:
            event_dict[k] = _redact(event_dict[k])
    return event_dict


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at that moment (tests swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger_factory(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    """Set up structlog (and the stdlib root logger, for libraries) once per process."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    pre: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    post: list[Any] = [redact_processor]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        # Tracebacks become text before redaction, so a secret inside an exception's
        # message (a DSN, a URL with ?key=) is masked like any other field.
        processors=[*pre, structlog.processors.format_exc_info, *post, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(out) if stream else _stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    # Libraries (httpx, botocore, google-genai) log through the stdlib; keep them quiet
    # and never let them print request headers.
    logging.basicConfig(level=logging.WARNING, stream=stream, force=True)
    for noisy in ("httpx", "httpcore", "botocore", "urllib3", "google_genai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
