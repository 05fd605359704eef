"""Named SQL blocks from ``sql/queries/*.sql``: the only SQL the result stores run.

As in procrastinate's ``queries.sql``, a file is a list of blocks, each opened by a
``-- name: <name>`` line and followed by comment lines that say what the block is for::

    -- name: find_analysis
    -- rule: the paid-result cache: a saved model reply for (video, version), done or not
    SELECT * FROM analyses WHERE video_id = :video_id AND analysis_version = :analysis_version;

A name is ``rule`` or ``rule.step`` (a rule that takes several statements on one engine).
The ``-- rule:`` line states the rule; the same rule on the other engine carries the same
line (``tests/unit/test_sql_queries.py`` checks the pairs). A block that only one engine
needs says so with ``-- <engine> only: <why>`` instead.

Files are parsed once per process and looked up by name; a missing name is an error that
names the file and the block. The Python side never builds SQL from pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from shared.errors import ConfigError

#: in a checkout; an installed tubeq has the same files as package data of ``tubeq_sql``
REPO_QUERIES_DIR = Path(__file__).resolve().parent.parent / "sql" / "queries"
SQL_PACKAGE = "tubeq_sql"

_NAME = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)?)\s*$")
_RULE = re.compile(r"^--\s*rule:\s*(?P<rule>.+?)\s*$")
_ONLY = re.compile(r"^--\s*(?P<engine>[a-z]+) only:\s*(?P<why>.+?)\s*$")


class QueryNotFound(ConfigError):
    """A named SQL block is missing: the code and sql/queries/ do not match."""


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    #: the ``-- rule:`` line, shared with the same rule on the other engine
    rule: str | None
    #: ``(engine, why)`` from a ``-- <engine> only:`` line
    only: tuple[str, str] | None

    @property
    def group(self) -> str:
        """The rule's name: ``record_success`` for ``record_success.transcript``."""
        return self.name.partition(".")[0]


class Queries(Mapping[str, str]):
    """One file's blocks, in file order; ``queries[name]`` is the block's SQL."""

    def __init__(self, file_name: str, blocks: list[Query]) -> None:
        self.file_name = file_name
        self.blocks: dict[str, Query] = {}
        for query in blocks:
            if query.name in self.blocks:
                raise ConfigError(f"sql/queries/{file_name}: block {query.name!r} is defined twice")
            self.blocks[query.name] = query

    def __getitem__(self, name: str) -> str:
        return self.block(name).sql

    def block(self, name: str) -> Query:
        try:
            return self.blocks[name]
        except KeyError:
            raise QueryNotFound(
                f"sql/queries/{self.file_name} has no block '-- name: {name}' "
                "(the code and its SQL file do not match)"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.blocks

    def __iter__(self) -> Iterator[str]:
        return iter(self.blocks)

    def __len__(self) -> int:
        return len(self.blocks)


def parse(file_name: str, text: str) -> Queries:
    blocks: list[Query] = []
    name: str | None = None
    comments: list[str] = []
    body: list[str] = []

    def close() -> None:
        if name is None:
            return
        statement = "\n".join(body).strip().rstrip(";").strip()
        if not statement:
            raise ConfigError(f"sql/queries/{file_name}: block {name!r} has no SQL")
        rules = [m["rule"] for m in map(_RULE.match, comments) if m]
        onlies = [(m["engine"], m["why"]) for m in map(_ONLY.match, comments) if m]
        blocks.append(
            Query(name, statement, rules[0] if rules else None, onlies[0] if onlies else None)
        )

    for line in text.splitlines():
        stripped = line.strip()
        match = _NAME.match(stripped)
        if match:
            close()
            name, comments, body = match["name"], [], []
        elif name is None:
            continue  # the file's own header
        elif stripped.startswith("--") and not body:
            comments.append(stripped)
        elif stripped and not stripped.startswith("--"):
            body.append(line.rstrip())
    close()
    return Queries(file_name, blocks)


def _queries_dir() -> Path | Traversable:
    if REPO_QUERIES_DIR.is_dir():
        return REPO_QUERIES_DIR
    try:
        return resources.files(SQL_PACKAGE) / "queries"
    except ModuleNotFoundError:
        raise ConfigError(
            f"cannot find the SQL queries: no {REPO_QUERIES_DIR} and no installed "
            f"'{SQL_PACKAGE}' package; run from a tubeq checkout or reinstall tubeq"
        ) from None


@cache
def load(file_name: str) -> Queries:
    """The blocks of ``sql/queries/<file_name>``, parsed once."""
    entry = _queries_dir() / file_name
    try:
        text = entry.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sql/queries/{file_name}: {exc}") from None
    return parse(file_name, text)
