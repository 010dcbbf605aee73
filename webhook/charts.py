"""Small server-side SVG charts: no JavaScript and no CDN, so report pages render offline."""

import math
from collections.abc import Callable, Sequence
from html import escape

CANARY = "#e8590c"
BASELINE = "#1c7ed6"
WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 46, 30

Format = Callable[[float], str]


def _frame(title: str, top: float, fmt: Format) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<text x="{LEFT - 50}" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]
    for i in range(5):
        y = TOP + plot_h * (1 - i / 4)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
            f"{escape(fmt(top * i / 4))}</text>"
        )
    parts.append(
        f'<rect x="{LEFT}" y="26" width="10" height="10" fill="{CANARY}"/>'
        f'<text x="{LEFT + 14}" y="35" font-size="11">canary</text>'
        f'<rect x="{LEFT + 70}" y="26" width="10" height="10" fill="{BASELINE}"/>'
        f'<text x="{LEFT + 84}" y="35" font-size="11">baseline</text>'
    )
    return parts


def _top(values: Sequence[float | None]) -> float:
    finite = [v for v in values if v is not None]
    return max(finite, default=0.0) * 1.1 or 1.0


def bars(
    title: str, labels: Sequence[str], canary: Sequence[float], baseline: Sequence[float], fmt: Format
) -> str:
    """Grouped bars per category, canary next to baseline."""
    top = _top([*canary, *baseline])
    parts = _frame(title, top, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = slot * 0.4
    step = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        x = LEFT + i * slot + slot * 0.1
        for offset, value, colour in ((0.0, canary[i], CANARY), (bar, baseline[i], BASELINE)):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
            )
        if i % step == 0:
            parts.append(
                f'<text x="{x + bar:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle" '
                f'fill="#555">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def lines(
    title: str,
    x_labels: Sequence[str],
    canary: Sequence[float | None],
    baseline: Sequence[float | None],
    fmt: Format,
    markers: Sequence[tuple[float, str, str]] = (),
) -> str:
    """Two lines over time; gaps where a bin had no requests; markers are (x index, label, colour)."""
    top = _top([*canary, *baseline])
    parts = _frame(title, top, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(x_labels) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{LEFT + plot_w * i / n:.1f},{TOP + plot_h * (1 - v / top):.1f}"

    for at, label, colour in markers:
        at_x = LEFT + plot_w * at / n
        parts.append(
            f'<line x1="{at_x:.1f}" x2="{at_x:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{colour}" '
            f'stroke-dasharray="3,3"><title>{escape(label)}</title></line>'
        )
    for values, colour in ((baseline, BASELINE), (canary, CANARY)):
        run: list[str] = []
        for i, value in enumerate([*values, None]):
            if value is not None:
                run.append(xy(i, value))
                continue
            if len(run) == 1:
                x, y = run[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
            elif run:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
                )
            run = []
    for i, anchor in ((0, "start"), (len(x_labels) // 2, "middle"), (len(x_labels) - 1, "end")):
        if 0 <= i < len(x_labels):
            parts.append(
                f'<text x="{LEFT + plot_w * i / n:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                f'text-anchor="{anchor}" fill="#555">{escape(x_labels[i])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
