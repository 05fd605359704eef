"""One line of `tubeq doctor`'s checklist, shared by every check (and by the consumer's
pre-flight, which runs the same checks before it leases anything)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a check status, not a password)
    FAIL = "fail"
    #: the service is not configured (not selected by a setting): nothing to check
    SKIP = "skip"


class CheckResult(BaseModel):
    """What was checked, what was found, and — when it failed — how to fix it."""

    model_config = ConfigDict(frozen=True)

    #: the service, e.g. ``gemini``, ``r2``, ``cloudflare-queues``
    service: str
    #: the check, short, e.g. ``key valid``, ``probe object put/get/delete``
    name: str
    status: CheckStatus
    #: what was found (never a secret)
    detail: str = ""
    #: what to do about a failure: the setting to change, the command to run
    fix: str | None = None
    #: a failure that may go away by itself (the service is unreachable, overloaded, or
    #: slow), as opposed to a refused credential or a wrong setting; the consumer's
    #: pre-flight waits out the first kind and stops at once on the second
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not CheckStatus.FAIL
