"""Charts as inline SVG, drawn server-side by matplotlib (Agg, no pyplot state).

Server-side so a chart shows with JavaScript off, in a static export and in an e-mail.
Each chart is its own ``Figure`` (no global figure registry, so threads cannot trip over
each other), written as SVG text with the font left to the browser (``svg.fonttype:
none``: smaller, and it follows the page's font) and ids salted by the chart's title, so
two charts on one page never share a clip-path id.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything draws: no display here, ever

from matplotlib.figure import Figure  # after choosing the backend
from matplotlib.ticker import MaxNLocator

_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_DRAWING = threading.Lock()
_IDS = re.compile(r'(\bid="|url\(#|href="#)')
INK = "#1f2937"
ACCENT = "#2563eb"
WARN = "#dc2626"
_STYLE: Any = {  # matplotlib types rc keys as literals; these are checked by it at run time
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    # One chart at a time: matplotlib's font cache and the warnings filter are process-wide.
    # A label in a script the bundled font lacks (Japanese topics) is measured with a
    # stand-in glyph and warned about; the SVG keeps it as text and the browser draws it.
    with _DRAWING, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        with matplotlib.rc_context({"svg.hashsalt": salt, **_STYLE}):
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    # the XML declaration and DOCTYPE are for a file, not for inline SVG in HTML
    text = _PROLOGUE.sub("", buf.getvalue(), count=1)
    # matplotlib names its groups figure_1, axes_1, … in every chart: prefix every id (and
    # every reference to one) so several charts on one page have unique ids
    prefix = "c" + hashlib.sha1(salt.encode(), usedforsecurity=False).hexdigest()[:8] + "-"
    text = _IDS.sub(lambda m: m.group(1) + prefix, text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_attr(salt)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _figure(width: float = 6.0, height: float = 2.4) -> Figure:
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    ylabel: str = "",
    integer: bool = False,
    empty: str = "nothing yet",
) -> str:
    """Stacked bars, one per label; ``series`` is (name, values) each, bottom first;
    ``integer`` for counts (no 0.5 ticks), ``empty`` written when every value is 0."""
    fig = _figure()
    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        bottom = [0.0] * len(labels)
        colours = [ACCENT, WARN, "#9ca3af", "#16a34a"]
        for i, (name, values) in enumerate(series):
            ax.bar(labels, values, bottom=bottom, label=name, color=colours[i % len(colours)])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        if integer:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if not any(bottom):
            # all zero: a flat axis around 0 says nothing; say so in words
            ax.set_ylim(0, 1)
            ax.set_yticks([])
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", color="#6b7280")
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        ax.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    return _svg(fig, title)


def histogram(title: str, values: Sequence[float], *, xlabel: str, bins: int = 12) -> str:
    fig = _figure()
    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        ax.hist(list(values), bins=bins, color=ACCENT, edgecolor="white")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("videos")
    return _svg(fig, title)


def heatmap(
    title: str, rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]]
) -> str:
    """Counts in a grid (topics × months), each cell labelled with its count."""
    fig = _figure(6.0, 0.45 * max(3, len(rows)) + 0.8)
    with matplotlib.rc_context(_STYLE):
        ax = fig.add_subplot()
        top = max((n for line in counts for n in line), default=0)
        # a single count is light, not the darkest blue, so one video does not shout
        ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0, vmax=max(top, 3))
        ax.set_xticks(range(len(columns)), labels=list(columns))
        ax.set_yticks(range(len(rows)), labels=list(rows))
        for r, line in enumerate(counts):
            for c, n in enumerate(line):
                if n:
                    ink = "white" if n > max(top, 3) / 2 else INK
                    ax.text(c, r, str(n), ha="center", va="center", fontsize=8, color=ink)
        ax.set_title(title, loc="left")
        ax.tick_params(axis="x", labelrotation=45 if len(columns) > 6 else 0)
    return _svg(fig, title)
