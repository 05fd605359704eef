"""How much of the quota a budget's state says is in use: the window ending now, what is
granted for moments still ahead, and the pause. One rule for every backend (the SQLite
file's row, the fleet's rows), on plain numbers, changing nothing.

A slot (``window.py``) counts in every window ending in ``[first, last + W)``; the window the
provider counts now is ``(now - window_s, now]``, so a slot is in it when ``first <= now``
and ``last > now - window_s``. Slots merge grants of one cell (``W / 120``), so a slot at
the window's edge may count a few grants of a second earlier: the budget errs the same way.
Grants whose slot begins after ``now`` are calls paced into the coming seconds: "ahead".
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.fleet import BudgetUsage
from shared.rate_budget.gcra import Limits
from shared.rate_budget.window import Slot


def usage_of(
    slots: Sequence[Slot], paused_until: float, now: float, limits: Limits, where: str
) -> BudgetUsage:
    """The quota in use at ``now`` (on the clock the state was written with)."""
    start = now - limits.window_s
    in_window = [s for s in slots if s[0] <= now and s[1] > start]
    ahead = [s for s in slots if s[0] > now]
    # the latest grant that has gone out: a slot's last, or its first when last is ahead
    gone_out = [s[1] if s[1] <= now else s[0] for s in slots if s[0] <= now]
    return BudgetUsage(
        where=where,
        exists=True,
        requests_limit=limits.requests,
        tokens_limit=limits.tokens,
        window_s=limits.window_s,
        requests_in_window=round(sum(s[3] for s in in_window)),
        tokens_in_window=round(sum(s[2] for s in in_window)),
        requests_ahead=round(sum(s[3] for s in ahead)),
        tokens_ahead=round(sum(s[2] for s in ahead)),
        paused_for_s=round(max(0.0, paused_until - now), 1),
        last_grant_s_ago=round(now - max(gone_out), 1) if gone_out else None,
    )


def no_budget(limits: Limits, where: str) -> BudgetUsage:
    """Nothing to read yet: no consumer has asked this budget for a call."""
    return BudgetUsage(
        where=where,
        exists=False,
        requests_limit=limits.requests,
        tokens_limit=limits.tokens,
        window_s=limits.window_s,
    )
