"""Full-text search on the SQLite result store: FTS5 over transcript segments.

The index lives in the result store's own file (``sql/queries/sqlite_search_schema.sql``):
triggers index a transcript when ``record_success`` saves it, and a file made before search
existed is indexed the first time either the result store or this adapter opens it. The
query is one named block (``sql/queries/sqlite_search.sql``); the user's words reach it only
as an FTS5 expression built by ``shared.search`` from letters and digits, so no input is
FTS5 syntax. Opening is cheap (one connection, one catalogue lookup), so a caller may build
one per request, as the dashboard does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Self

from shared.adapter_settings import SqliteStoreSettings
from shared.adapters._sqlite_results_file import connect, results_file
from shared.adapters._sqlite_search_index import SEARCH, ensure_search_index
from shared.classify import classify
from shared.search import SearchHit, SearchQuery, marked_html

#: rows ranked and highlighted per hit asked for: a match found both as a row's next words
#: and as the next row's own words is one hit, so a few more rows than hits are read
SCAN_FACTOR = 3


class SqliteSearch:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = results_file(path, must_exist=True)
        try:
            self._db = connect(self.path)
            ensure_search_index(self._db)
        except sqlite3.Error as exc:
            raise classify(exc) from exc

    @classmethod
    def from_settings(cls, section: SqliteStoreSettings) -> Self:
        return cls(section.file)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        params = {
            "match": query.fts5(),
            "channel_id": query.channel_id,
            "since": query.since_text(),
            "language": query.language_code(),
            "limit": query.limit,
            "scan": query.limit * SCAN_FACTOR,
        }
        try:
            rows = self._db.execute(SEARCH["search"], params).fetchall()
        except sqlite3.Error as exc:
            raise classify(exc) from exc
        return [
            SearchHit(
                video_id=row["video_id"],
                title=row["title"],
                channel_id=row["channel_id"],
                channel_title=row["channel_title"],
                published_at=row["published_at"],
                language=row["language"],
                at_s=int(row["at_s"]),
                snippet=marked_html(row["snippet"]),
                text=row["text"],
                score=row["score"],
            )
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()
