"""The channel and video pages' data, read through the ports (sync: the routes offload it,
the static export calls it directly). Charts are drawn here, as SVG text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from producer.dashboard import charts
from producer.dashboard.template_views import TemplateView, template_views
from shared.artifacts import display_time, parse_transcript_json, transcript_keys, watch_url
from shared.errors import ArtifactNotFound, TubeqError
from shared.models import ChannelSummary, VideoState, VideoStatus
from shared.ports import AnalystReader, ArtifactStore, ChannelDirectory, TemplateResultReader

#: said where a read fails for want of a newer migration's function (sql/019 and later)
MIGRATE_HINT = "if the result database predates this tubeq, run `tubeq db migrate`"
TOP_TOPICS = 12
TOP_PER_MONTH = 3
SORTS = {
    "published": lambda r: r.published,
    "title": lambda r: r.title.lower(),
    "duration": lambda r: r.duration_s or 0,
    "state": lambda r: r.state,
    "cost": lambda r: r.cost_usd,
}


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    title: str
    published: str
    duration_s: int | None
    state: str
    topics: list[str]
    cost_usd: float
    error: str

    @property
    def duration(self) -> str:
        return display_time(self.duration_s) if self.duration_s is not None else "-"


def video_row(status: VideoStatus) -> VideoRow:
    meta = status.meta
    analysis = status.analysis
    return VideoRow(
        video_id=status.video_id,
        title=(meta.title if meta else None) or status.video_id,
        published=meta.published_at.date().isoformat() if meta and meta.published_at else "",
        duration_s=meta.duration_s if meta else None,
        state=status.state.value,
        topics=analysis.topics[:5] if analysis else [],
        cost_usd=analysis.usage.cost_usd if analysis else 0.0,
        error=f"{status.error_code}: {status.error}" if status.error_code else "",
    )


def list_channels(reader: AnalystReader) -> list[ChannelSummary] | None:
    """Every channel with counts, or None where the store cannot list them."""
    return reader.channels() if isinstance(reader, ChannelDirectory) else None


def channels_or_why(reader: AnalystReader) -> tuple[list[ChannelSummary] | None, str]:
    """``list_channels``, or None and why the read failed: the page still opens a channel
    by its id (a database not yet migrated to sql/019 has no ``tubeq_channels``)."""
    try:
        return list_channels(reader), ""
    except TubeqError as exc:
        return None, f"{exc.message} ({MIGRATE_HINT})"


@dataclass
class ChannelPage:
    channel_id: str
    title: str
    rows: list[VideoRow]
    shown: list[VideoRow]
    counts: dict[str, int]
    spend_usd: float
    charts: list[str] = field(default_factory=list)


def _month(row: VideoRow) -> str:
    return row.published[:7] or "unknown"


def channel_charts(rows: list[VideoRow], topics_of: dict[str, list[str]]) -> list[str]:
    months = sorted({_month(r) for r in rows})
    if not months:
        return []
    done = Counter(_month(r) for r in rows if r.state == VideoState.DONE.value)
    given_up = Counter(
        _month(r) for r in rows if r.state in (VideoState.FAILED.value, VideoState.DEAD.value)
    )
    out = [
        charts.bars(
            "Videos analysed, by month published",
            months,
            [("analysed", [done[m] for m in months]), ("failed", [given_up[m] for m in months])],
            ylabel="videos",
            integer=True,
        )
    ]
    per_month: dict[str, Counter[str]] = {m: Counter() for m in months}
    for r in rows:
        per_month[_month(r)].update(topics_of.get(r.video_id, []))
    total: Counter[str] = Counter()
    for c in per_month.values():
        total.update(c)
    # each month's own leaders, so a busy month does not hide the others' topics
    leaders = {t for c in per_month.values() for t, _ in c.most_common(TOP_PER_MONTH)}
    top = sorted(leaders, key=lambda t: (-total[t], t))[:TOP_TOPICS]
    if top:
        grid = [[per_month[m][t] for m in months] for t in top]
        out.append(charts.heatmap("Top topics per month", top, months, grid))
    durations = [r.duration_s / 60 for r in rows if r.duration_s is not None]
    if durations:
        out.append(charts.histogram("Durations", durations, xlabel="minutes"))
    spend: dict[str, float] = dict.fromkeys(months, 0.0)
    for r in rows:
        spend[_month(r)] += r.cost_usd
    out.append(
        charts.bars(
            "Spend, by month published",
            months,
            [("USD", [round(spend[m], 6) for m in months])],
            ylabel="USD",
            empty="no spend: nothing billed (an offline analyzer costs nothing)",
        )
    )
    return out


def channel_page(
    reader: AnalystReader,
    channel_id: str,
    *,
    sort: str = "published",
    descending: bool = True,
    find: str = "",
    state: str = "",
) -> ChannelPage | None:
    statuses = list(reader.channel_results(channel_id))
    if not statuses:
        return None
    rows = [video_row(s) for s in statuses]
    topics_of = {s.video_id: s.analysis.topics for s in statuses if s.analysis}
    title = next((s.meta.channel_title for s in statuses if s.meta and s.meta.channel_title), "")
    needle = find.strip().lower()
    shown = [
        r
        for r in rows
        if (not needle or needle in r.title.lower() or any(needle in t for t in r.topics))
        and (not state or r.state == state)
    ]
    shown.sort(key=SORTS.get(sort, SORTS["published"]), reverse=descending)
    return ChannelPage(
        channel_id=channel_id,
        title=title or channel_id,
        rows=rows,
        shown=shown,
        counts=dict(Counter(r.state for r in rows)),
        spend_usd=round(sum(r.cost_usd for r in rows), 6),
        charts=channel_charts(rows, topics_of),
    )


@dataclass(frozen=True)
class Line:
    at_s: int
    clock: str
    url: str
    text: str


@dataclass(frozen=True)
class ArtifactLinkRow:
    kind: str
    size: int
    content_type: str
    #: set by the static export (a link it can write down); the server links to its route
    url: str = ""


@dataclass
class VideoPage:
    status: VideoStatus
    row: VideoRow
    watch: str
    channel_id: str | None
    channel_title: str
    quotes: list[Line]
    artifacts: list[ArtifactLinkRow]
    transcript: list[Line] | None
    transcript_note: str = ""
    #: the analysis templates' newest results: the chapters, then every other template
    chapters: TemplateView | None = None
    templates: list[TemplateView] = field(default_factory=list)
    templates_note: str = ""


def _transcript(artifacts: ArtifactStore, video_id: str) -> tuple[list[Line] | None, str]:
    key = transcript_keys(video_id)["transcript_json"]
    try:
        transcript = parse_transcript_json(artifacts.get(key))
    except ArtifactNotFound:
        return None, "no transcript was stored for this video"
    except (TubeqError, ValueError) as exc:
        return None, f"the stored transcript could not be read: {exc}"
    lines = [
        Line(int(s.start), display_time(s.start), watch_url(video_id, s.start), s.text)
        for s in transcript.segments
        if s.text.strip()
    ]
    return lines, ""


def _templates(
    reader: AnalystReader, video_id: str, link_of: Callable[[str], str] | None
) -> tuple[TemplateView | None, list[TemplateView], str]:
    if not isinstance(reader, TemplateResultReader):
        return None, [], ""
    try:
        results = reader.template_results(video_id)
    except (TubeqError, ValueError) as exc:
        # the rest of the page is still worth showing
        why = exc.message if isinstance(exc, TubeqError) else "a stored result is malformed"
        return None, [], f"the analysis templates' results could not be read: {why}"
    chapters, others = template_views(results, link_of)
    return chapters, others, ""


def video_page(
    reader: AnalystReader,
    artifacts: ArtifactStore,
    video_id: str,
    *,
    link_of: Callable[[str], str] | None = None,
) -> VideoPage | None:
    """The video's page; ``link_of(key)`` gives each artifact a link (the static export's
    presigned or file links; the server links to its own route instead)."""
    status = reader.get_video(video_id)
    if status is None:
        return None
    analysis = status.analysis
    quotes = [
        Line(int(q.start_s), display_time(q.start_s), watch_url(video_id, q.start_s), q.text)
        for q in (analysis.quotes if analysis else [])
    ]
    transcript, note = _transcript(artifacts, video_id)
    chapters, templates, templates_note = _templates(reader, video_id, link_of)
    return VideoPage(
        status=status,
        row=video_row(status),
        watch=watch_url(video_id),
        channel_id=status.meta.channel_id if status.meta else None,
        channel_title=(status.meta.channel_title if status.meta else None) or "",
        quotes=quotes,
        artifacts=[
            ArtifactLinkRow(a.kind, a.size, a.content_type, link_of(a.key) if link_of else "")
            for a in status.artifacts
        ],
        transcript=transcript,
        transcript_note=note,
        chapters=chapters,
        templates=templates,
        templates_note=templates_note,
    )


def presigned(artifacts: ArtifactStore, lifetime: timedelta) -> Callable[[str], str]:
    """``link_of`` for the static export: the store's own link (presigned on R2, a file
    link locally), or nothing for an object gone from the store."""

    def link_of(key: str) -> str:
        try:
            return artifacts.url(key, lifetime)
        except ArtifactNotFound:
            return ""

    return link_of
