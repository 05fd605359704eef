from __future__ import annotations

import io
import json

from pydantic import SecretStr

from shared.logging import configure_logging, get_logger, redact_text


def _log_line(**fields: object) -> dict[str, object]:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    get_logger("t").info("event", **fields)
    line: dict[str, object] = json.loads(out.getvalue().splitlines()[-1])
    return line


def test_secret_keys_are_masked() -> None:
    line = _log_line(api_key="AIzaSECRET", password="hunter2", video_id="dQw4w9WgXcQ")
    assert line["api_key"] == "***" and line["password"] == "***"
    assert line["video_id"] == "dQw4w9WgXcQ"


def test_secrets_inside_text_are_masked() -> None:
    text = (
        "proxy http://user:pa55word@proxy.example:80 failed; "
        "Authorization: Bearer abc.def.ghi; url https://x.test/v1?key=AIzaXYZ&alt=json"
    )
    masked = redact_text(text)
    for secret in ("pa55word", "abc.def.ghi", "AIzaXYZ"):
        assert secret not in masked
    assert "alt=json" in masked and "user:***@proxy.example" in masked


def test_nested_values_and_secretstr() -> None:
    line = _log_line(request={"headers": {"authorization": "Bearer zzz"}}, token=SecretStr("t0k"))
    assert "zzz" not in json.dumps(line) and "t0k" not in json.dumps(line)


def test_console_format_is_readable() -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", stream=out)
    get_logger("t").info("video.done", video_id="dQw4w9WgXcQ")
    assert "video.done" in out.getvalue() and "{" not in out.getvalue()


def test_counts_named_tokens_are_not_secrets() -> None:
    line = _log_line(prompt_tokens=1200, output_tokens=300, cf_api_token="cf-secret")
    assert line["prompt_tokens"] == 1200 and line["output_tokens"] == 300
    assert line["cf_api_token"] == "***"


def test_secrets_inside_exceptions_are_masked() -> None:
    for fmt in ("json", "console"):
        out = io.StringIO()
        configure_logging("INFO", fmt, stream=out)
        try:
            raise ConnectionError("cannot reach https://user:S3CRET@db.example/x?key=AIzaLEAK")
        except ConnectionError:
            get_logger("t").exception("call.failed")
        text = out.getvalue()
        assert "S3CRET" not in text and "AIzaLEAK" not in text, fmt
        assert "ConnectionError" in text


def test_header_spellings_and_keyword_dsns_are_masked() -> None:
    line = _log_line(
        headers={"apikey": "sb-1", "x-goog-api-key": "g-2", "X-Api-Key": "x-3"},
        dsn_text="host=db port=5432 password=hunter2 user=app",
    )
    text = json.dumps(line)
    for secret in ("sb-1", "g-2", "x-3", "hunter2"):
        assert secret not in text
    assert "user=app" in text
