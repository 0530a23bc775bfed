"""Terminal charts for the Reports screen, as Rich Text: pure functions of numbers and a size.

Columns are drawn with eighth blocks (▁…█), so a chart 6 rows high has 48 levels; a series
longer than the width is bucketed (backlog keeps each bucket's last value, volumes add up,
times average), so 365 days still fit in 80 columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

EIGHTHS = " ▁▂▃▄▅▆▇█"
Aggregate = Callable[[list[float]], float]


def last(values: list[float]) -> float:
    return values[-1]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def fit(
    values: Sequence[float | None], width: int, combine: Aggregate = last
) -> list[float | None]:
    """At most `width` values: consecutive buckets combined; a bucket of gaps stays a gap."""
    if width <= 0:
        return []
    if len(values) <= width:
        return list(values)
    out: list[float | None] = []
    for i in range(width):
        start = i * len(values) // width
        end = (i + 1) * len(values) // width
        known = [v for v in values[start:end] if v is not None]
        out.append(combine(known) if known else None)
    return out


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def columns(
    values: Sequence[float | None],
    *,
    height: int,
    width: int,
    combine: Aggregate = last,
    style: str = "",
    first: str = "",
    end: str = "",
) -> Text:
    """A column chart `height` rows high; the top value on the left axis, `first` and `end`
    under the first and last column. A gap (None) is a blank column."""
    height = max(1, height)
    axis = max(3, len(_number(max((v for v in values if v is not None), default=0))))
    room = max(1, width - axis - 1)
    points = fit(values, room, combine)
    if points and len(points) * 2 <= room:
        # A short series (24 hours, 7 days) gets wider columns rather than empty space.
        points = [v for v in points for _ in range(room // len(points))]
    top = max((v for v in points if v is not None), default=0.0)
    text = Text(no_wrap=True, overflow="crop")
    for row in range(height, 0, -1):
        label = _number(top) if row == height else ("0" if row == 1 else "")
        text.append(label.rjust(axis) + "│", style="dim")
        for v in points:
            # Eighths of this row the column fills: a non-zero value always shows a sliver.
            level = 0.0 if v is None or top <= 0 else v / top * height * 8
            if v and 0 < level < 1:
                level = 1
            filled = min(8, max(0, round(level) - (row - 1) * 8))
            text.append(EIGHTHS[filled], style=style)
        text.append("\n")
    under = " " * (axis + 1) + first
    if end:
        under += end.rjust(max(1, len(points) - len(first)))
    text.append(under, style="dim")
    return text


def bar(label: str, rate: float | None, *, width: int, label_width: int) -> Text:
    """One horizontal percentage bar: `label ██████░░░░ 75%` (`-` when unknown)."""
    text = Text(no_wrap=True, overflow="crop")
    text.append(label.ljust(label_width)[:label_width] + " ")
    size = max(1, width - label_width - 6)
    if rate is None:
        text.append("·" * size, style="dim")
        text.append("    -")
        return text
    full = round(max(0.0, min(1.0, rate)) * size)
    style = "green" if rate >= 0.9 else "yellow" if rate >= 0.7 else "red"
    text.append("█" * full, style=style)
    text.append("░" * (size - full), style="dim")
    text.append(f" {100 * rate:3.0f}%")
    return text
