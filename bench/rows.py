"""The table's rows, built from what ``bench/run.py`` measured. A figure that could not be
measured (``Failed``) gives a row that says so and why, instead of ending the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.quota_figures import QuotaResult
from bench.table import Row, at_least, at_most, both


@dataclass(frozen=True)
class Failed:
    """A figure that could not be measured, and why."""

    reason: str


def _quota_row(figure: str, r: QuotaResult, goal_use: float, goal_refused: float) -> Row:
    goal = f"≥ {goal_use:.2f} of the limit, ≤ {goal_refused:.1%} refused"
    unit = "calls" if r.bound == "requests" else "input tokens"
    per_window = sum(r.windows) / len(r.windows)
    measured = (
        f"{per_window:,.1f} of {r.limit:,} {unit} per {r.window_s:g} s window "
        f"(windows {', '.join(f'{w:,}' for w in r.windows)}); "
        f"{r.refused} of {r.accepted + r.refused} calls refused"
        + (f"; backlog ran out ({r.left} left)" if r.left == 0 else "")
    )
    if r.bound == "tokens":
        measured += (
            f"; largest call {r.extra['largest_call_tokens']:,} tokens "
            f"({r.extra['largest_call_tokens'] / r.limit:.0%} of the limit); tubeq's estimate ÷ "
            f"the stub's count = {r.extra['estimate_over_stub_count']}"
        )
    verdict = both(at_least(r.use, goal_use), at_most(r.refused_share, goal_refused))
    return Row(figure, measured, f"use {r.use:.3f}; refused {r.refused_share:.2%}", goal, verdict)


def _over_row(over: QuotaResult) -> Row:
    return Row(
        "quota set 20% above the real limit (TUBEQ_GEMINI_RPM = 1.2 × limit), K = 2",
        f"{sum(over.windows) / len(over.windows):.1f} of {over.limit} calls per window; "
        f"{over.refused} of {over.accepted + over.refused} calls refused; "
        f"{over.extra['messages_failed_retry']} retries (a message refused at most "
        f"{over.extra['max_failed_attempt']} times in a row; the 4th dead-letters it); "
        f"{over.dead} dead-lettered",
        f"use {over.use:.3f}; refused {over.refused_share:.1%}; dead-lettered {over.dead}",
        "≥ 0.95, no video dead-lettered",
        both(at_least(over.use, 0.95), "met" if over.dead == 0 else f"{over.dead} dead"),
    )


def _sequential_row(seq: dict[str, Any], k1: QuotaResult) -> Row:
    return Row(
        "tubeq (K = 1) vs a sequential one-video-at-a-time loop, same stub",
        f"loop: {sum(seq['measured_windows']) / len(seq['measured_windows']):.1f} calls per "
        f"window (use {seq['use']:.3f}); tubeq K = 1: use {k1.use:.3f}",
        f"{k1.use / seq['use']:.2f}× the loop's throughput" if seq["use"] else "—",
        "ratio printed",
    )


def _duplicates_row(dup: dict[str, Any]) -> Row:
    side, after = dup["side_by_side"], dup["after_done"]
    pending = dup["videos"] - side["both_copies_settled"]
    paid_ok = dup["paid_calls_per_video"] == 1.0
    if pending:
        timing = (
            f"{pending} of {dup['videos']} second copies not settled after waiting "
            f"{side['waited_s']:g} s: retried after up to {side['retry_delay_s_max']:g} s "
            f"(retries by error: {side['retries_by_error']})"
        )
    else:
        timing = (
            f"second copy settled {side['second_after_first_s_median']} s (median), "
            f"{side['second_after_first_s_max']} s (max) after the first"
        )
    slowest = max(side["second_after_first_s_max"] or 0, side["retry_delay_s_max"] or 0)
    return Row(
        "every message delivered twice, K = 2: (a) both copies queued side by side, "
        "(b) again after the video is done",
        f"{dup['videos']} videos, {dup['paid_calls']} paid calls "
        f"({dup['paid_calls_side_by_side']} in a); a: {timing}; b: {after['settled']} "
        f"redeliveries settled ({after['outcomes']}) within "
        f"{after['all_settled_after_spawn_s']} s of the consumers' spawn",
        f"{dup['paid_calls_per_video']:.2f} paid calls per video",
        "1.00; duplicates done within seconds of the original",
        both(
            "met" if paid_ok else f"{dup['paid_calls_per_video']:.2f} calls per video",
            "met"
            if not pending and slowest <= 10
            else f"side-by-side duplicates missed by ~{slowest:g} s (the retry delay)",
        ),
    )


def _enqueue_row(enq: dict[str, Any]) -> Row:
    return Row(
        f"enqueue {enq['ids']:,} ids (`tubeq enqueue --file`)",
        f"SQLite: {enq['sqlite_enqueue_s']} s (the CLI with one id: "
        f"{enq['sqlite_enqueue_one_id_s']} s); Cloudflare: {enq['cloudflare_enqueue_s']} s, "
        f"calls {enq['cloudflare_calls_by_op']}, {enq['cloudflare_queued']:,} queued",
        f"{enq['cloudflare_calls']} Cloudflare calls",
        f"calls = ⌈N/100⌉ = {enq['cloudflare_calls_goal']}",
        "met"
        if enq["cloudflare_calls"] == enq["cloudflare_calls_goal"]
        and enq["cloudflare_queued"] == enq["ids"]
        else f"missed by {enq['cloudflare_calls'] - enq['cloudflare_calls_goal']} calls",
    )


def _startup_row(st: dict[str, Any], k1: QuotaResult | Failed) -> Row:
    first = (
        f"; spawn → first model call (K = 1): {k1.first_call_s:.2f} s"
        if isinstance(k1, QuotaResult)
        else ""
    )
    return Row(
        "consumer start-up",
        f"idle `consume --burst`, spawn → exit (pre-flight included): {st['empty_queue_exit_s']} s",
        f"{st['median_s']:.2f} s{first}",
        "printed",
    )


_REQ_GOAL = "≥ 0.98 of the limit, ≤ 0.5% refused"


def rows_of(out: dict[str, Any]) -> list[Row]:
    specs: list[tuple[str, str, list[str], Callable[..., Row]]] = []
    for k in (1, 2, 4):
        figure = f"requests-bound, K = {k} consumer process{'es' if k > 1 else ''}"
        specs.append(
            (
                figure,
                _REQ_GOAL,
                [f"requests_k{k}"],
                lambda r, f=figure: _quota_row(f, r, 0.98, 0.005),
            )
        )
    fleet = (
        "requests-bound, 2 machines on the fleet budget (Postgres, "
        "TUBEQ_RATE_BUDGET_BACKEND=results)"
    )
    tokens = "tokens-bound (1-9 h transcripts), K = 2"
    specs += [
        (fleet, _REQ_GOAL, ["requests_fleet"], lambda r: _quota_row(fleet, r, 0.98, 0.005)),
        (
            tokens,
            "≥ 0.95 of the limit, ≤ 1.0% refused",
            ["tokens_k2"],
            lambda r: _quota_row(tokens, r, 0.95, 0.01),
        ),
        (
            "quota set 20% above the real limit",
            "≥ 0.95, no video dead-lettered",
            ["over_quota_k2"],
            _over_row,
        ),
        (
            "tubeq vs a sequential loop",
            "ratio printed",
            ["sequential", "requests_k1"],
            _sequential_row,
        ),
        (
            "every message delivered twice",
            "1.00; duplicates done within seconds",
            ["duplicates"],
            _duplicates_row,
        ),
        ("enqueue 10,000 ids", "calls = ⌈N/100⌉", ["enqueue"], _enqueue_row),
        (
            "consumer start-up",
            "printed",
            ["startup"],
            lambda st: _startup_row(st, out.get("requests_k1", Failed("not run"))),
        ),
    ]
    rows = []
    for figure, goal, keys, build in specs:
        values = [out.get(k, Failed("not run")) for k in keys]
        failed = [v for v in values if isinstance(v, Failed)]
        if failed:
            rows.append(Row(figure, "—", "—", goal, f"not measured: {failed[0].reason}"))
            continue
        try:
            rows.append(build(*values))
        except Exception as exc:  # a figure with an unexpected shape: say so, keep the rest
            rows.append(Row(figure, "—", "—", goal, f"not measured: {type(exc).__name__}: {exc}"))
    return rows


def why_notes(out: dict[str, Any]) -> list[str]:
    """What the run's own data says about each miss."""
    notes = []
    tok = out.get("tokens_k2")
    if isinstance(tok, QuotaResult) and tok.refused_share > 0.01:
        notes.append(
            f"Tokens-bound: refusals by quota {tok.extra['refused_by_quota']}; tubeq's token "
            f"estimate ÷ the stub's count = {tok.extra['estimate_over_stub_count']}: the budget "
            "let more tokens into some sliding window than the stub's limit. Each 429 pauses "
            "the shared budget for the retry delay and sends the video back to the queue."
        )
    elif isinstance(tok, QuotaResult) and tok.use < 0.95:
        largest = tok.extra["largest_call_tokens"] / tok.limit
        windows = ", ".join(f"{w:,.0f}" for w in tok.windows)
        notes.append(
            f"Tokens-bound: no call refused; the windows took {windows} of {tok.limit:,} "
            f"tokens. A call is never split and these reach {largest:.0%} of the limit, so a "
            "window ends with room the next call does not fit; and a call that left late is "
            "counted where it left (shared/rate_budget/gcra.py), so what follows it waits "
            "that much longer. Run to run this figure varies by a few points."
        )
    dup = out.get("duplicates")
    side = dup["side_by_side"] if isinstance(dup, dict) else {}
    slowest = max(side.get("second_after_first_s_max") or 0, side.get("retry_delay_s_max") or 0)
    pending = isinstance(dup, dict) and side["both_copies_settled"] < dup["videos"]
    if isinstance(dup, dict) and (pending or slowest > 10):
        ttl = " (the claim's time-to-live, TUBEQ_VISIBILITY_TIMEOUT_S)" if slowest >= 600 else ""
        notes.append(
            "Duplicates: a copy that arrives while the first is being analysed is retried "
            f"(errors {side['retries_by_error']}) after up to {slowest:g} s{ttl}, not when the "
            "first copy is done."
        )
    return notes
