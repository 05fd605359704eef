"""Error classification, in one place: any exception → a ``TubeqError`` subclass.

Adapters call ``classify`` at their boundary (``raise classify(exc) from exc``) and the
consumer calls it once more on whatever reaches it, so the core only ever decides on
tubeq's own classes. Each outside library has a small mapper module here; a mapper returns
``None`` for exceptions it does not know. Unknown exceptions are transient
(``UnexpectedError``): retried, then dead-lettered, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.classify import gemini, http, oserror, sqlite, storage, youtube
from shared.errors import TubeqError, UnexpectedError

Mapper = Callable[[BaseException], TubeqError | None]

# Order matters: library-specific mappers first, then the generic HTTP/network one, then
# local files (permission denied, disk full).
MAPPERS: tuple[Mapper, ...] = (
    youtube.map_exception,
    gemini.map_exception,
    storage.map_exception,
    sqlite.map_exception,
    http.map_exception,
    oserror.map_exception,  # after http: a ConnectionError/TimeoutError is the network's
)


def classify(exc: BaseException) -> TubeqError:
    if isinstance(exc, TubeqError):
        return exc
    for mapper in MAPPERS:
        mapped = mapper(exc)
        if mapped is not None:
            return mapped
    return UnexpectedError(f"{type(exc).__name__}: {exc}")
