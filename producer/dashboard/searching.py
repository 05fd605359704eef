"""The search page's backend: ``shared.search`` queries run by the engine the composition
root built (``shared.factory.build_search(settings)``: FTS5 on SQLite, tsvector on
Postgres), made lazily on the first search and closed with the app.

Until the factory offers ``build_search`` the page says search is unavailable and names
the missing function, instead of failing.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from producer.api.offload import Offload
from shared.errors import InvalidInput, TubeqError
from shared.search import SearchHit, SearchQuery
from shared.settings import Settings

MISSING = (
    "Search is unavailable: shared.factory.build_search(settings) does not exist yet in this "
    "build, so no search engine can be made."
)


class Searcher(Protocol):
    def search(self, query: SearchQuery) -> list[SearchHit]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit] | None = None
    error: str = ""
    unavailable: str = ""


def factory_builder(settings: Settings) -> Callable[[], Searcher] | None:
    """``build_search`` bound to the settings, or None where the factory lacks it."""
    factory = importlib.import_module("shared.factory")
    build = factory.__dict__.get("build_search")
    if build is None:
        return None

    def make() -> Searcher:
        searcher: Searcher = build(settings)
        return searcher

    return make


class SearchBox:
    def __init__(self, make: Callable[[], Searcher] | None) -> None:
        self._make = make
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._make is not None

    def _get(self) -> Searcher:
        assert self._make is not None
        with self._lock:
            if self._searcher is None:
                self._searcher = self._make()
            return self._searcher

    def _run(self, query: SearchQuery) -> list[SearchHit]:
        return self._get().search(query)

    async def run(self, call: Offload, text: str, channel_id: str | None) -> SearchResult:
        if self._make is None:
            return SearchResult(unavailable=MISSING)
        if not text.strip():
            return SearchResult()
        try:
            query = SearchQuery(text=text[:500], channel_id=channel_id, limit=50)
            query.terms()  # says what is wrong with a query that has no word in it
            hits: list[SearchHit] = await call(self._run, query)
        except InvalidInput as exc:
            return SearchResult(error=exc.message)
        except TubeqError as exc:
            return SearchResult(error=f"the search failed: {exc.message}")
        return SearchResult(hits=hits)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
