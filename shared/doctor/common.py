"""What every check shares: building checklist lines, and keeping secrets out of them."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import SecretStr

from shared.doctor.result import CheckResult, CheckStatus
from shared.errors import TransientError, TubeqError
from shared.logging import redact_text
from shared.settings import Settings


def passed(service: str, name: str, detail: str = "") -> CheckResult:
    return CheckResult(service=service, name=name, status=CheckStatus.PASS, detail=detail)


def failed(
    service: str, name: str, detail: str, fix: str, *, transient: bool = False
) -> CheckResult:
    return CheckResult(
        service=service,
        name=name,
        status=CheckStatus.FAIL,
        detail=detail,
        fix=fix,
        transient=transient,
    )


def skipped(service: str, name: str, detail: str) -> CheckResult:
    return CheckResult(service=service, name=name, status=CheckStatus.SKIP, detail=detail)


def from_error(service: str, name: str, err: TubeqError, fix: str) -> CheckResult:
    """A failed line from a classified error; an outage (transient class) may pass later."""
    return failed(service, name, err.message, fix, transient=isinstance(err, TransientError))


def capped(seconds: float, limit: float) -> float:
    """A client timeout that lets the check finish inside the doctor's own time limit."""
    return max(0.5, min(seconds, limit))


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, and the password inside a database URL."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        items = value if isinstance(value, list) else [value]
        values.extend(v.get_secret_value() for v in items if isinstance(v, SecretStr))
    if settings.database_url is not None:
        values.extend(_dsn_password(settings.database_url.get_secret_value()))
    # short values would blank out ordinary words; real secrets are longer
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _dsn_password(dsn: str) -> list[str]:
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # an unparsable DSN is reported by the check itself
        return []
    return [str(password)] if password else []


def scrub(results: Iterable[CheckResult], secrets: list[str]) -> list[CheckResult]:
    """The lines with any secret value (and anything that looks like one) masked.

    Checks never put a secret in a line on purpose, but a library's error message may
    quote a URL, a DSN or a header; this is the last guard before anything is printed.
    """
    out = []
    for r in results:
        detail = _mask(r.detail, secrets)
        fix = _mask(r.fix, secrets) if r.fix is not None else None
        if (detail, fix) != (r.detail, r.fix):
            r = r.model_copy(update={"detail": detail, "fix": fix})
        out.append(r)
    return out


def _mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact_text(text)
