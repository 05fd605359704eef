"""Failures of the youtube client libraries mapped to tubeq's errors (filled in by its adapter's issue)."""

from __future__ import annotations

from shared.errors import TubeqError


def map_exception(exc: BaseException) -> TubeqError | None:
    return None
