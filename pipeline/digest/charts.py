"""The digest's charts as inline SVG strings (matplotlib, text kept as text): the night's
slant scores per source, and each source's figures over the nights."""

from __future__ import annotations

import gc
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from pipeline.digest.queries import TREND_MIN_NIGHTS, Distribution, SourceTrend

INK = "#283593"
MUTED = "#5f6368"
RULE = "#d0d0d0"
# the slant bands (pipeline.signals.slant.BANDS) in the report's label colours
BAND_COLOURS = [(0.0, 0.25, "#eaf5ea"), (0.25, 0.55, "#fff1b3"), (0.55, 1.0, "#ffd6d3")]
MAX_SOURCES = 30  # rows of the distribution chart
MAX_TREND_SOURCES = 16  # rows of the trend chart
STYLE: Any = {  # rc_context wants its own key type
    "svg.fonttype": "none",  # text as <text>, not paths: smaller and selectable
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.edgecolor": RULE,
    "axes.labelcolor": "#1d1d1f",
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "xtick.color": MUTED,
    "ytick.color": MUTED,
}
TREND_PANELS = (
    ("slant", "mean slant score", "{:.2f}"),
    ("strong_share", "strong unsupported, % of sentences", "{:.1f}%"),
    ("framing", "framing phrases per 100 words", "{:.2f}"),
)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Draw without the cyclic garbage collector: a chart makes thousands of small objects,
    and each collection would walk every object of the process (the whole CLI's imports) to
    free none of them; about a third of the trend chart's time. Collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _svg(fig: Figure, salt: str, label: str) -> str:
    """The figure as an <svg> element for inlining (no XML prolog, ids unique per chart)."""
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)


def distribution_svg(rows: Sequence[Distribution]) -> str | None:
    """One row per source: slant scores on the slant bands; the box spans the quartiles with
    the median inside, the whiskers the lowest and highest score, the diamond the mean. Below
    5 articles every score is a dot and there is no box. None when there is nothing to draw."""
    rows = sorted(rows, key=lambda d: (-d.articles, d.source))[:MAX_SOURCES]
    if not rows:
        return None
    rows = sorted(rows, key=lambda d: d.source, reverse=True)  # top to bottom: A to Z
    labels = [f"{d.source}  (n={d.articles})" for d in rows]
    width, height = 10.0, 0.9 + 0.32 * len(rows)
    left = min(0.45, (0.3 + 0.062 * max(len(x) for x in labels)) / width)
    with rc_context(STYLE), _no_gc():
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=left, right=0.98, top=1 - 0.1 / height, bottom=0.55 / height)
        ax = fig.add_subplot()
        for lo, hi, colour in BAND_COLOURS:
            ax.axvspan(lo, hi, color=colour, zorder=0, lw=0)
        for y, d in enumerate(rows):
            if d.scores is not None:
                ax.plot(d.scores, [y] * len(d.scores), "o", color=INK, ms=4, zorder=3)
                continue
            assert d.q1 is not None and d.q3 is not None
            ax.plot([d.minimum, d.q1], [y, y], color=INK, lw=1, zorder=2)
            ax.plot([d.q3, d.maximum], [y, y], color=INK, lw=1, zorder=2)
            ax.add_patch(
                Rectangle((d.q1, y - 0.3), d.q3 - d.q1, 0.6, fc="white", ec=INK, lw=1, zorder=3)
            )
            ax.plot([d.median, d.median], [y - 0.3, y + 0.3], color=INK, lw=2, zorder=4)
            ax.plot([d.mean], [y], "D", color="#c62828", ms=3.5, zorder=5)
        ax.set_yticks(range(len(rows)), labels)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlim(0, 1)
        ax.set_xlabel(
            "slant score (bands: neutral < 0.25 <= slightly slanted < 0.55 <= strongly slanted)"
        )
        ax.tick_params(axis="y", length=0)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        label = "Slant scores per source tonight"
        return _svg(fig, "distribution", label)


def _trend_panel(
    ax: Axes, trend: SourceTrend, nights: Sequence[date], what: str, label: str
) -> None:
    by_night = {p.night: p for p in trend.points}
    xs = list(range(len(nights)))
    scale = 100.0 if what == "strong_share" else 1.0
    ys = []
    for night in nights:
        point = by_night.get(night)
        value = getattr(point, what) if point is not None else None
        ys.append(math.nan if value is None else value * scale)
    ax.plot(xs, ys, "-o", color=INK, lw=1.3, ms=3)
    finite = [y for y in ys if not math.isnan(y)]
    top = max(finite, default=0.0)
    top = top or 1.0
    ax.set_ylim(-0.22 * top, top * 1.15)  # room under the line for n
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= top * 1.15])
    under = blended_transform_factory(ax.transData, ax.transAxes)
    many = len(nights) > 12
    for x, night in zip(xs, nights, strict=True):
        point = by_night.get(night)
        if point is not None:
            ax.text(
                x,
                0.03,
                str(point.articles),
                transform=under,
                ha="center",
                va="bottom",
                fontsize=5.5 if many else 6.5,
                color=MUTED,
                rotation=90 if many else 0,
            )
    # a plain text, not set_title: a title is placed by measuring the axes at every draw
    ax.text(0, 1.04, label, transform=ax.transAxes, fontsize=8, color=MUTED, va="bottom")
    ax.tick_params(labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def trend_svg(trends: Sequence[SourceTrend], nights: Sequence[date]) -> str | None:
    """One row per source with points on two or more nights (the most articles first, at most
    16): mean slant score, strong unsupported assertions as a share of sentences and framing
    phrases per 100 words, night by night, the number of articles under each point. None when
    no source has two nights."""
    drawn = [t for t in trends if len(t.points) >= TREND_MIN_NIGHTS]
    drawn = sorted(drawn, key=lambda t: (-t.articles, t.source))[:MAX_TREND_SOURCES]
    if len(nights) < TREND_MIN_NIGHTS or not drawn:
        return None
    drawn.sort(key=lambda t: t.source)
    row_in, top_in, bottom_in = 1.75, 0.15, 0.45
    height = top_in + bottom_in + row_in * len(drawn)
    with rc_context(STYLE), _no_gc():
        fig = Figure(figsize=(10, height))
        fig.subplots_adjust(
            left=0.08,
            right=0.99,
            top=1 - top_in / height,
            bottom=bottom_in / height,
            wspace=0.22,
            hspace=0.45 / row_in * 1.6,
        )
        axes = fig.subplots(len(drawn), len(TREND_PANELS), squeeze=False, sharex=True)
        step = max(1, math.ceil(len(nights) / 6))
        ticks = list(range(len(nights) - 1, -1, -step))[::-1]
        axes[0][0].set_xticks(ticks, [nights[i].strftime("%m-%d") for i in ticks])
        axes[0][0].set_xlim(-0.5, len(nights) - 0.5)
        for row, trend in zip(axes, drawn, strict=True):
            for ax, (what, label, _fmt) in zip(row, TREND_PANELS, strict=True):
                _trend_panel(ax, trend, nights, what, label)
            row[0].set_ylabel(trend.source, fontsize=9, fontweight="bold", color="#1d1d1f")
        return _svg(fig, "trend", "Per-source figures over the nights")
