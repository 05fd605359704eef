"""The sliding window the provider enforces, kept exactly enough to never exceed it.

Gemini counts requests and input tokens per sliding window: a call is refused when, counting
it, the calls of the last ``W`` seconds hold more than the limit. Pacing alone (GCRA, see
``gcra.py``) is exact for equal-sized calls only: with calls of very different sizes a
window can hold its limit plus the last call. So the budget keeps what each window holds:

- **slots**: a grant is a slot ``(first, last, tokens, requests)``: it counts in every window
  that ends at ``u`` with ``first <= u < last + W``. Grants whose times fall in one *cell*
  (``W / CELLS`` seconds) share a slot: its amounts add up and its span covers them all, so
  it counts at least wherever each grant would (never less: merging is conservative, and it
  bounds the state to a few slots per cell whatever the call rate). Calls a few per window,
  like the long transcripts that make tokens bind, almost never share a cell: exact there.
- **the rule**: a call of ``c`` tokens may go at ``t`` when every window it will be in — those
  ending in ``[t, t + W)`` — stays within both limits counting it. The content of the window
  ending at ``u`` only rises at a slot's ``first``, so checking ``u = t`` and each ``first``
  in ``(t, t + W)`` is enough. The earliest such ``t`` is the earliest allowed time itself or
  the moment a slot leaves (``last + W``): those are the only times a window shrinks.
- **backfill**: slots are not first come, first served: a call that fits now, in front of a
  bigger one that waits for room later, goes now when no window (the later one's included)
  overflows. That packs windows to ~0.98 of the tokens where strict order left ~0.95.
- ``W`` here is the window plus the safety margin (requests reach the server late by a
  varying few ms; see ``gcra.py``).
- **move**: a call sent noticeably later than its grant's time (its process woke late from
  the wait: CPU contention, a GC pause) is counted where the server will see it: the grant
  leaves the slot of its time and joins the slot of its real time (``move``), so calls
  decided after that keep a window away from the real time, not from the planned one.

Everything is plain numbers so that the SQL functions (``sql/012_rate_budget_tokens.sql``,
``sql/017_rate_budget_late_calls.sql``) can do exactly the same on the fleet's row;
``tests/unit/test_rate_window.py`` checks both against the benchmark stub's own sliding
window.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

#: cells per window: grants closer than ``W / CELLS`` may share a slot (counted up to one
#: cell longer than they are); bounds the slots to ~CELLS per window of grants
CELLS = 120

#: (first, last, tokens, requests)
Slot = tuple[float, float, float, float]


@dataclass(frozen=True)
class Window:
    """The limits of one sliding window of ``length_s`` seconds."""

    length_s: float
    tokens: float
    requests: float

    @property
    def cell_s(self) -> float:
        return self.length_s / CELLS


def live(slots: Sequence[Slot], now: float, window: Window) -> list[Slot]:
    """The slots that still count in some window ending at ``now`` or later."""
    return [s for s in slots if s[1] + window.length_s > now]


def earliest(
    slots: Sequence[Slot], tokens: float, start: float, window: Window
) -> tuple[float, str]:
    """The earliest ``t >= start`` at which a call of ``tokens`` keeps every window within
    both limits, and which limit held it back ("" when ``start`` itself fits). ``slots``
    sorted by ``first``, one per cell; ``tokens`` at most the limit (else it never fits)."""
    if (
        sum(s[2] for s in slots) + tokens <= window.tokens
        and sum(s[3] for s in slots) + 1 <= window.requests
    ):
        return start, ""  # every slot in one window still leaves room: the common case
    length = window.length_s
    firsts = [s[0] for s in slots]
    ends = [s[1] + length for s in slots]  # sorted too: slots are disjoint cells in order
    tok_sum, req_sum = [0.0], [0.0]
    for s in slots:
        tok_sum.append(tok_sum[-1] + s[2])
        req_sum.append(req_sum[-1] + s[3])

    def held(u: float) -> tuple[float, float]:
        """What the window ending at ``u`` holds: slots begun by ``u`` and not yet left."""
        i, j = bisect.bisect_right(firsts, u), bisect.bisect_right(ends, u)
        return tok_sum[i] - tok_sum[j], req_sum[i] - req_sum[j]

    peaks = [held(f) for f in firsts]
    binding = ""
    for t in [start] + [e for e in ends if e > start]:
        lo, hi = bisect.bisect_right(firsts, t), bisect.bisect_left(firsts, t + length)
        worst_tok, worst_req = held(t)
        for k in range(lo, hi):
            worst_tok = max(worst_tok, peaks[k][0])
            worst_req = max(worst_req, peaks[k][1])
        if worst_tok + tokens <= window.tokens and worst_req + 1 <= window.requests:
            return t, binding
        if not binding:
            binding = "tokens" if worst_tok + tokens > window.tokens else "requests"
    raise AssertionError("unreachable: once every slot has left, any call fits")


def _cell(at: float, window: Window) -> int:
    return math.floor(at / window.cell_s)


def record(slots: Sequence[Slot], at: float, tokens: float, window: Window) -> list[Slot]:
    """``slots`` with a grant of ``tokens`` at ``at``: merged into the slot of its cell, or a
    new slot in order."""
    out = list(slots)
    cell = _cell(at, window)
    for i, (first, last, tok, req) in enumerate(out):
        if _cell(first, window) == cell:
            out[i] = (min(first, at), max(last, at), tok + tokens, req + 1)
            return out
    bisect.insort(out, (at, at, tokens, 1.0))
    return out


def refund(slots: Sequence[Slot], at: float, tokens: float, window: Window) -> list[Slot]:
    """``slots`` without the grant of ``tokens`` at ``at`` (the server refused the call, so
    it does not count). A slot gone already (out of every window) needs nothing."""
    out = list(slots)
    cell = _cell(at, window)
    for i, (first, last, tok, req) in enumerate(out):
        if _cell(first, window) == cell:
            tok, req = max(0.0, tok - tokens), max(0.0, req - 1)
            if req == 0:
                del out[i]
            else:
                out[i] = (first, last, tok, req)
            break
    return out


def move(slots: Sequence[Slot], at: float, to: float, tokens: float, window: Window) -> list[Slot]:
    """``slots`` with the grant of ``tokens`` made for ``at`` counted at ``to`` instead (its
    call left late, at ``to``): ``refund`` at ``at``, then ``record`` at ``to``. A slot the
    grant shared keeps its span (never counted less than before), and a grant whose slot has
    already left every window is simply counted at ``to``."""
    return record(refund(slots, at, tokens, window), to, tokens, window)
