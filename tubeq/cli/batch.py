"""``tubeq batch list | show NAME | cancel NAME``: the Gemini batches of batch backfills
(issue 12), as the result store keeps them.

NAME is a batch's id, its display name at Gemini (``tubeq-batch-<id>``) or its Gemini name
(``batches/…``). Cancel asks Gemini to cancel the batch (``client.batches.cancel``) and sends
a poll at once: the consumer settles the videos when Gemini says the batch ended, failed with
``batch_cancelled`` or collected again by ``TUBEQ_GEMINI_BATCH_CANCELLED``. A batch that
finished before the cancel reached Gemini has its replies collected as usual (they were
paid). A batch not yet submitted is marked cancelled here and never reaches Gemini.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from producer.backfill import BATCH_PRICE_FACTOR
from shared import factory
from shared.errors import TubeqError
from shared.gemini.batch_jobs import BatchPollJob
from shared.gemini.batch_models import (
    DISPLAY_PREFIX,
    LIVE_STATES,
    BatchItem,
    BatchRecord,
    BatchState,
    display_name,
)
from shared.gemini.chunking import estimate_tokens
from shared.gemini.estimate import OUTPUT_TOKENS_PER_CALL, call_overhead_tokens
from shared.ports import BatchStore
from shared.settings import Settings
from tubeq.cli.context import JsonOption, console, fail, load_settings, print_json, shorten

batch_app = typer.Typer(
    help="Gemini batches of `tubeq backfill --batch`: list, show, cancel.", no_args_is_help=True
)

#: how many batches `list` reads to find one by name, and `status` to count those in flight
SCAN_LIMIT = 1000


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")


def _store(settings: Settings) -> BatchStore:
    try:
        return factory.build_batch_store(settings)
    except TubeqError as exc:
        fail(exc.message)


def age_text(seconds: float) -> str:
    """A short age: 42s, 7m, 3h 12m, 2d 5h."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _age_s(batch: BatchRecord, now: datetime) -> float:
    end = batch.ended_at or now
    return (end - batch.created_at).total_seconds()


def estimate_cost(items: Sequence[BatchItem], settings: Settings) -> float:
    """What the batch's pending requests should cost at batch prices: each prompt counted
    as the analyzer counts it, plus the system instruction and schema, and one call's
    output (``shared.gemini.estimate``, as the backfill's dry run does)."""
    input_tokens = output_tokens = 0
    for item in items:
        if item.pending:
            input_tokens += estimate_tokens(item.prompt) + call_overhead_tokens()
            output_tokens += OUTPUT_TOKENS_PER_CALL
    usd = (
        input_tokens * settings.gemini_price_input_per_m
        + output_tokens * settings.gemini_price_output_per_m
    ) / 1_000_000
    return usd * BATCH_PRICE_FACTOR


def _row(batch: BatchRecord, now: datetime, cost: float | None) -> dict[str, Any]:
    data = asdict(batch)
    data["age_s"] = round(_age_s(batch, now), 1)
    data["display_name"] = display_name(batch.batch_id)
    data["cost_estimate_usd"] = None if cost is None else round(cost, 6)
    return data


@batch_app.command("list")
def list_batches(
    limit: Annotated[int, typer.Option(min=1, max=SCAN_LIMIT)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Batches, newest first, with their state, videos, age and cost estimate."""
    settings = load_settings()
    store = _store(settings)
    now = datetime.now(UTC)
    try:
        batches = store.batch_list(limit)
        # the estimate reads each request: only for batches still waiting on Gemini
        costs = {
            b.batch_id: estimate_cost(store.batch_items(b.batch_id), settings)
            for b in batches
            if b.state in LIVE_STATES
        }
    except TubeqError as exc:
        fail(exc.message)
    finally:
        store.close()
    if as_json:
        print_json([_row(b, now, costs.get(b.batch_id)) for b in batches])
        return
    if not batches:
        console.print("no batches yet: `tubeq backfill REF --batch` makes them")
        return
    table = Table(title="Gemini batches")
    table.add_column("name", no_wrap=True)
    table.add_column("state")
    table.add_column("videos", justify="right")
    table.add_column("age", justify="right")
    table.add_column("submitted at", no_wrap=True)
    table.add_column("cost estimate", justify="right")
    for b in batches:
        cost = costs.get(b.batch_id)
        table.add_row(
            b.batch_id,
            b.state.value,
            str(b.items),
            age_text(_age_s(b, now)),
            b.submitted_at.strftime("%Y-%m-%d %H:%M:%S") if b.submitted_at else "-",
            f"${cost:.4f}" if cost is not None else "-",
        )
    console.print(table)


def _find(store: BatchStore, name: str) -> BatchRecord:
    wanted = name.strip()
    batch_id = wanted.removeprefix(DISPLAY_PREFIX)
    batch = store.batch_get(batch_id) if batch_id and "/" not in batch_id else None
    if batch is None and wanted.startswith("batches/"):
        batch = next((b for b in store.batch_list(SCAN_LIMIT) if b.remote_name == wanted), None)
    if batch is None:
        fail(
            f"no batch {name!r}: give a batch id, tubeq-batch-<id> or batches/… "
            "(`tubeq batch list` shows them)"
        )
    return batch


@batch_app.command("show")
def show_batch(
    name: Annotated[str, typer.Argument(help="A batch id, tubeq-batch-<id> or batches/….")],
    as_json: JsonOption = False,
) -> None:
    """One batch: its state, Gemini name, videos by state, cost estimate and failures."""
    settings = load_settings()
    store = _store(settings)
    now = datetime.now(UTC)
    try:
        batch = _find(store, name)
        items = store.batch_items(batch.batch_id)
    except TubeqError as exc:
        fail(exc.message)
    finally:
        store.close()
    cost = estimate_cost(items, settings)
    by_state = Counter(i.state.value for i in items)
    failed = [
        {"video_id": i.video_id, "state": i.state.value, "error": i.error} for i in items if i.error
    ]
    if as_json:
        videos = [
            {"video_id": i.video_id, "state": i.state.value, "tries": i.tries, "error": i.error}
            for i in items
        ]
        print_json(_row(batch, now, cost) | {"videos_by_state": by_state, "videos": videos})
        return
    table = Table(title=f"batch {batch.batch_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("state", batch.state.value),
        ("gemini name", batch.remote_name or "- (not submitted)"),
        ("display name", display_name(batch.batch_id)),
        ("analysis version", batch.analysis_version),
        ("videos", f"{batch.items} " + _counts(by_state)),
        ("age", age_text(_age_s(batch, now))),
        ("created at", batch.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("submitted at", _when(batch.submitted_at)),
        ("ended at", _when(batch.ended_at)),
        ("cost estimate", f"${cost:.4f} (pending requests at batch prices)"),
        ("error", batch.error or "-"),
    ]
    for field, value in rows:
        table.add_row(field, Text(value))
    console.print(table)
    if failed:
        ft = Table(title="videos with an error")
        ft.add_column("video", no_wrap=True)
        ft.add_column("state")
        ft.add_column("error")
        for f in failed[:20]:
            ft.add_row(f["video_id"], f["state"], Text(shorten(f["error"] or "", 100)))
        console.print(ft)


def _counts(by_state: Counter[str]) -> str:
    return "(" + ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) + ")"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@batch_app.command("cancel")
def cancel_batch(
    name: Annotated[str, typer.Argument(help="A batch id, tubeq-batch-<id> or batches/….")],
) -> None:
    """Cancel a batch at Gemini; its videos fail or are collected again
    (TUBEQ_GEMINI_BATCH_CANCELLED) once the consumer sees it ended."""
    settings = load_settings()
    store = _store(settings)
    try:
        batch = _find(store, name)
        if batch.state not in LIVE_STATES:
            fail(
                f"batch {batch.batch_id} has already ended ({batch.state.value}): nothing to cancel"
            )
        remote = batch.remote_name
        if remote is None and batch.state == BatchState.SEALED:
            remote = _created_unrecorded(settings, batch)
        if remote is not None:
            _cancel_remote(settings, remote)
        # a new poll chain, polled now: the consumer settles the videos without waiting
        # for the current chain's next (backed-off) poll
        chain = uuid.uuid4().hex[:16]
        if remote is not None:
            store.batch_update(
                batch.batch_id,
                BatchState.SUBMITTED,
                remote_name=remote,
                poll_chain=chain,
                error="cancel requested by the operator",
            )
        else:
            store.batch_update(
                batch.batch_id,
                BatchState.CANCELLED,
                poll_chain=chain,
                error="cancelled by the operator before it was submitted",
            )
        queue = factory.build_queue(settings)
        try:
            queue.send([BatchPollJob(batch_id=batch.batch_id, chain=chain)])
        finally:
            queue.close()
    except TubeqError as exc:
        fail(exc.message)
    finally:
        store.close()
    where = f"at Gemini ({remote})" if remote else "before it reached Gemini"
    console.print(
        f"batch {batch.batch_id} cancelled {where}; its {batch.items} videos will be "
        + ("collected again" if settings.gemini_batch_cancelled == "requeue" else "failed")
        + " when a consumer runs (a reply Gemini already finished is kept)"
    )


def _created_unrecorded(settings: Settings, batch: BatchRecord) -> str | None:
    """A sealed batch may exist at Gemini already (a submit killed after creating it)."""
    analyzer = factory.build_batch_analyzer(settings)
    try:
        wanted = display_name(batch.batch_id)
        return next((r.name for r in analyzer.list(100) if r.display_name == wanted), None)
    finally:
        analyzer.close()


def _cancel_remote(settings: Settings, remote: str) -> None:
    analyzer = factory.build_batch_analyzer(settings)
    try:
        analyzer.cancel(remote)
    finally:
        analyzer.close()


# ---- `tubeq status`: batches in flight -----------------------------------------------------


def in_flight(settings: Settings) -> dict[str, Any] | None:
    """Batches still waiting (open, sealed, submitted): how many, their videos and the
    oldest one's age. None when batches are not used (another analyzer, or no store)."""
    if settings.analyzer_backend != "gemini":
        return None
    try:
        store = factory.build_batch_store(settings)
    except TubeqError:
        return None
    try:
        live = [b for b in store.batch_list(SCAN_LIMIT) if b.state in LIVE_STATES]
    except TubeqError:
        return None  # e.g. a database without sql/010 yet: status shows the rest
    finally:
        store.close()
    now = datetime.now(UTC)
    return {
        "batches": len(live),
        "videos": sum(b.items for b in live),
        "oldest_age_s": round(max((_age_s(b, now) for b in live), default=0.0), 1),
        "by_state": dict(Counter(b.state.value for b in live)),
    }


def in_flight_line(summary: dict[str, Any] | None) -> str | None:
    """The line `tubeq status` prints, or None when there is nothing to say."""
    if not summary or not summary["batches"]:
        return None
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary["by_state"].items()))
    return (
        f"batches in flight: {summary['batches']} ({states}), {summary['videos']} videos, "
        f"oldest {age_text(summary['oldest_age_s'])}"
    )
