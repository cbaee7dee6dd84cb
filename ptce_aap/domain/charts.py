"""Geometry of server-drawn charts, shared by the pages that draw them (pure, no Flask): round graduations
(``round_step``, also the call dashboard's day chart) and a horizontal bar chart of labelled rows with one bar
per series (``hbar_chart``: the statistics pages, e.g. dossiers and laureates by region).

The horizontal chart writes each row's label on its own line above its bars (labels such as an activity
domain are long), and each bar's value at its end: the figure reads without colour; the page puts the data
table beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def round_step(top: int) -> int:
    """A round graduation step giving at most 5 graduations up to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            return step
    return max(1, math.ceil(top / 5))


@dataclass(frozen=True)
class HBar:
    series: int  # index of the series (its colour and legend entry)
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class HGroup:
    key: str
    label_y: float  # baseline of the row's label
    bars: list[HBar]


@dataclass(frozen=True)
class HBarChart:
    width: int
    height: int
    left: float  # x of the value 0
    right: float  # x of the highest graduation
    axis_y: float  # y of the value axis under the rows
    groups: list[HGroup]
    ticks: list[tuple[float, int]]  # (x, value) of the graduations
    series: int


LABEL_LINE = 18
BAR = 14
BAR_GAP = 3
GROUP_GAP = 10


def hbar_chart(rows: Sequence[tuple[str, Sequence[int]]], *, width: int = 640) -> HBarChart:
    """The geometry of ``rows`` — (key, one value per series) — as horizontal bars: every row its label line,
    then one bar per series; a value axis with round graduations under the last row."""
    series = max((len(values) for _key, values in rows), default=1)
    left, right_margin, top = 8, 56, 8
    plot_w = width - left - right_margin
    peak = max((v for _key, values in rows for v in values), default=0)
    step = round_step(max(peak, 1))
    ceiling = max(step, math.ceil(peak / step) * step)
    groups, y = [], top
    for key, values in rows:
        label_y = y + 12
        y += LABEL_LINE
        bars = []
        for i, value in enumerate(values):
            bars.append(HBar(series=i, value=value, x=left, y=y, width=round(plot_w * value / ceiling, 2),
                             height=BAR))
            y += BAR + BAR_GAP
        groups.append(HGroup(key=key, label_y=label_y, bars=bars))
        y += GROUP_GAP
    axis_y = y
    ticks = [(round(left + plot_w * v / ceiling, 2), v) for v in range(0, ceiling + 1, step)]
    return HBarChart(width=width, height=int(axis_y + 24), left=left, right=left + plot_w, axis_y=axis_y,
                     groups=groups, ticks=ticks, series=series)
