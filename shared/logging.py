"""structlog, configured once at the entry point: JSON for machines, readable for people.

Secrets never reach a log line: values of keys that look secret are masked, and any
``SecretStr`` is rendered as ``**********`` by pydantic. The processors below also mask
things that look like credentials inside free text (proxy URLs with passwords, bearer
tokens, ``key=`` query parameters).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
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
# Every pattern runs in time linear in the text, whatever the text (a 10 MB line from
# `tubeq enqueue --file` included): each can start only at a boundary (a lookbehind), and
# its repeats are possessive (`++`, `*+`), so a failed match never backtracks through a long
# run. tests/unit/test_logging.py feeds them adversarial megabytes.
_SECRET_PATTERNS = [
    # scheme://user:password@host → scheme://user:***@host
    (
        re.compile(
            r"(?<![a-z0-9+.-])(?P<pre>[a-z][a-z0-9+.-]*+://[^/\s:@]++:)[^@\s/]++(?=@)", re.I
        ),
        r"\g<pre>***",
    ),
    (re.compile(r"(?<![a-z0-9])(?P<pre>bearer\s++)[A-Za-z0-9._~+/=-]++", re.I), r"\g<pre>***"),
    # keyword DSNs and config dumps: password=… / secret: …
    (
        re.compile(
            r"(?P<pre>\b(?:password|passwd|secret|api_?key)\s*+[=:]\s*+)[^\s&;,'\"]++", re.I
        ),
        r"\g<pre>***",
    ),
    (
        re.compile(r"(?P<pre>[?&](?:key|api_key|token|signature|X-Amz-Signature)=)[^&\s]++", re.I),
        r"\g<pre>***",
    ),
]
#: longest text a log field echoes; the rest is cut (after redaction, so a cut never
#: splits a secret out of its pattern). Tracebacks get more room.
MAX_FIELD_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
_SAFE_KEYS = {"lease_key", "key", "artifact_key", "idempotency_key"}


# Every pattern above needs a ":" (a URL's scheme, `secret: …`), an "=" (`password=…`, a
# query parameter) or the word bearer; most values logged (ids, event names, codes) have
# none, and skip the four substitutions (they were most of a log line's cost).
_MAY_HOLD_SECRET = re.compile(r"[:=]|bearer", re.I)
#: set by our own processors (``add_log_level``, ``TimeStamper``), never by a caller
_OWN_FIELDS = frozenset({"level", "timestamp"})


def redact_text(text: str) -> str:
    if _MAY_HOLD_SECRET.search(text) is None:
        return text
    for pattern, repl in _SECRET_PATTERNS:
        text = pattern.sub(repl, text)
    return text


def shorten(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _redact(value: Any, limit: int = MAX_FIELD_CHARS) -> Any:
    if isinstance(value, str):
        return shorten(redact_text(value), limit)
    if isinstance(value, dict):
        return {k: ("***" if _is_secret_key(k) else _redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and _is_secret_name(key)


@functools.lru_cache(maxsize=4096)  # field names repeat: the same few hundred, line after line
def _is_secret_name(key: str) -> bool:
    return key not in _SAFE_KEYS and bool(_SECRET_KEYS.search(key))


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for k in list(event_dict):
        if k in _OWN_FIELDS:
            continue
        if _is_secret_key(k):
            event_dict[k] = "***"
        else:
            limit = MAX_TRACEBACK_CHARS if k == "exception" else MAX_FIELD_CHARS
            event_dict[k] = _redact(event_dict[k], limit)
    return event_dict


#: one line at a time across threads: `print` writes the text and the newline separately,
#: so two threads could otherwise leave `{…}{…}` on one line
_WRITE_LOCK = threading.Lock()


class _LineLogger:
    """Writes each line whole, in one call, to a stream (``sys.stderr`` as it is at that
    moment when none is given: tests swap it)."""

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        out = self._stream or sys.stderr
        with _WRITE_LOCK:
            out.write(message + "\n")
            out.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger_factory(*_args: Any) -> _LineLogger:
    return _LineLogger()


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
        logger_factory=(lambda *_: _LineLogger(out)) if stream else _stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    # Libraries (httpx, botocore, google-genai) log through the stdlib; keep them quiet
    # and never let them print request headers.
    logging.basicConfig(level=logging.WARNING, stream=stream, force=True)
    for noisy in ("httpx", "httpcore", "botocore", "urllib3", "google_genai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
