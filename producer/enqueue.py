"""Turning operator input into queued jobs: the one path the CLI, the API and the Worker share.

A mixed batch enqueues the good ids and reports each bad input with its reason; nothing is
dropped silently. Duplicates inside one request are collapsed; duplicates across requests
are harmless because the consumer skips videos already analysed with the same version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from shared.errors import InvalidInput, TubeqError
from shared.logging import get_logger
from shared.models import VideoJob, VideoMeta
from shared.ports import Queue, ResultReader
from shared.video_ids import parse_video_ref

_COMMENT = re.compile(r"\s#")
#: how much of a rejected input a report echoes back (the reason gives its length)
_ECHO_CHARS = 200
log = get_logger("tubeq.enqueue")


class Rejected(BaseModel):
    #: the input as given, cut when long (the reason says how long it was)
    input: str
    reason: str
    #: its position in the list given (0-based: the API's ``videos[index]``)
    index: int
    #: its line in the file it came from (1-based), when it came from a file
    line: int | None = None

    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"input {self.index + 1}"


class ParsedRefs(BaseModel):
    video_ids: list[str]
    rejected: list[Rejected]


class EnqueueReport(BaseModel):
    accepted: list[str]
    rejected: list[Rejected]

    @property
    def ok(self) -> bool:
        return bool(self.accepted)


def read_lines(text: str) -> list[str]:
    """Lines of an ids file: blank lines and ``#`` comments ignored, also inline ones."""
    return [ref for _, ref in read_numbered_lines(text)]


def read_numbered_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, ref)`` for each id or URL in a file (1-based, as editors count)."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        # A comment starts a line or follows white space; a URL's #fragment stays.
        ref = _COMMENT.split(line, maxsplit=1)[0].strip()
        if ref and not ref.startswith("#"):
            out.append((number, ref))
    return out


def parse_refs(refs: Iterable[str], lines: Sequence[int | None] | None = None) -> ParsedRefs:
    """Normalise every ref to a video id; collect the bad ones with the reason and where
    they were (``lines``: the file line of each ref, None for one not from a file)."""
    ids: dict[str, None] = {}
    rejected: list[Rejected] = []
    for index, raw in enumerate(refs):
        try:
            ids.setdefault(parse_video_ref(raw), None)
        except InvalidInput as exc:
            line = lines[index] if lines is not None and index < len(lines) else None
            echoed = raw if len(raw) <= _ECHO_CHARS else raw[:_ECHO_CHARS] + "…"
            rejected.append(Rejected(input=echoed, reason=exc.message, index=index, line=line))
    return ParsedRefs(video_ids=list(ids), rejected=rejected)


def enqueue_refs(
    queue: Queue,
    reader: ResultReader | None,
    refs: Sequence[str],
    *,
    source: str,
    force: bool = False,
    meta: dict[str, VideoMeta] | None = None,
    lines: Sequence[int | None] | None = None,
    template: str = "summary",
) -> EnqueueReport:
    """Parse, send the valid ones, note them as queued; raise InvalidInput if none is valid.
    ``template``: the analysis template the jobs run (checked by the caller)."""
    if not refs:
        raise InvalidInput("nothing to enqueue: give video ids or URLs (or a file of them)")
    parsed = parse_refs(refs, lines)
    if not parsed.video_ids:
        reasons = "; ".join(f"{r.where()}: {r.reason}" for r in parsed.rejected[:5])
        raise InvalidInput(f"no valid video id in the input ({reasons})")
    jobs = [
        VideoJob(
            video_id=v, force=force, source=source, meta=(meta or {}).get(v), template=template
        )
        for v in parsed.video_ids
    ]
    queue.send(jobs)
    # A video's state follows its summary analysis; a template job leaves it as it is.
    if template != "summary":
        return EnqueueReport(accepted=parsed.video_ids, rejected=parsed.rejected)
    # Sent first: a backfill skips videos marked queued, so a mark without a send could
    # lose them. Once sent, a failure to mark is only a stale state, not a failed enqueue.
    if reader is not None:
        try:
            reader.mark_queued(jobs)
        except TubeqError as exc:
            log.warning("enqueue.not_marked", videos=len(jobs), error=exc.message)
    return EnqueueReport(accepted=parsed.video_ids, rejected=parsed.rejected)
