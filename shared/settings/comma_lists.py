"""Lists given as one comma-separated environment variable (``TUBEQ_API_KEYS=a,b``)."""

from __future__ import annotations

from typing import Annotated

from pydantic_settings import NoDecode

#: ``NoDecode``: pydantic-settings would parse a list variable as JSON; ``split_commas`` does it
CommaList = Annotated[list[str], NoDecode]


def split_commas(value: object) -> object:
    """``"a, b,,c"`` → ``["a", "b", "c"]``; anything else (a list already) as it is."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value
