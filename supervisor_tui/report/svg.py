"""Static SVG charts for the HTML report, drawn here: a few rectangles, lines and
labels need no library, and drawing them ourselves keeps the file self-contained (no
script, no font or stylesheet fetched: some chart libraries link their tooltip script
from a CDN by default) and every label goes through one escape.

Each chart carries a <title> and a <desc> naming its figures (screen readers), and the
same figures are in the tables beside it: the chart is a picture of them, not the only
place they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from supervisor_tui.domain.fmt import pct
from supervisor_tui.domain.report import ScopeKpis, SeriesPoint

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40
ANSWERED, ABANDONED, OTHER = "#3b6fb6", "#d9822b", "#9aa5b1"
SL_LINE, TARGET_LINE = "#2f855a", "#c53030"


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"'
            f'{extra}>{escape(text)}</text>')


def _frame(key: str, title: str, desc: str, body: list[str], height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(key)}" class="chart" '
            f'role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
            f'aria-labelledby="{escape(key)}-title {escape(key)}-desc">'
            f'<title id="{escape(key)}-title">{escape(title)}</title>'
            f'<desc id="{escape(key)}-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _x_labels(points: Sequence[SeriesPoint], x_of: float, step: float) -> list[str]:
    # At most ~12 labels: a 48-interval day would be unreadable with every one.
    every = max(1, -(-len(points) // 12))
    return [_text(x_of + i * step + step / 2, HEIGHT - BOTTOM + 14,
                  p.local_label.split("-")[0], size=10)
            for i, p in enumerate(points) if i % every == 0]


def volume(key: str, title: str, points: Sequence[SeriesPoint]) -> str:
    """Stacked bars per interval: answered, abandoned, the rest (flowed out)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max((p.offered for p in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    bar = max(step * 0.8, 1.0)
    body = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" '
            f'y2="{TOP + plot_h}" stroke="#555"/>',
            _text(LEFT - 6, TOP + 4, f"{top:,}", "end", 10),
            _text(LEFT - 6, TOP + plot_h, "0", "end", 10)]
    for i, p in enumerate(points):
        x = LEFT + i * step + (step - bar) / 2
        y = float(TOP + plot_h)
        other = max(p.offered - p.answered - p.abandoned, 0)
        for count, colour, what in ((p.answered, ANSWERED, "answered"),
                                    (p.abandoned, ABANDONED, "abandoned"),
                                    (other, OTHER, "flowed out")):
            if not count:
                continue
            h = count / top * plot_h
            y -= h
            body.append(f'<rect class="bar {what.replace(" ", "-")}" x="{x:.1f}" '
                        f'y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                        f'<title>{escape(p.local_label)}: {count} {what}</title></rect>')
    body += _x_labels(points, LEFT, step)
    body += _legend([(ANSWERED, "answered"), (ABANDONED, "abandoned"),
                     (OTHER, "flowed out")])
    desc = "; ".join(f"{p.local_label} offered {p.offered}" for p in points)
    return _frame(key, title, desc or "no intervals", body)


def service_level(key: str, title: str, points: Sequence[SeriesPoint]) -> str:
    """SL per interval (a line, gaps where there was no sample) and the target (dashed)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)

    def y_of(value: float) -> float:
        return TOP + plot_h - min(max(value, 0.0), 1.0) * plot_h

    body = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" '
            f'y2="{TOP + plot_h}" stroke="#555"/>',
            _text(LEFT - 6, TOP + 4, "100%", "end", 10),
            _text(LEFT - 6, TOP + plot_h / 2 + 4, "50%", "end", 10),
            _text(LEFT - 6, TOP + plot_h, "0%", "end", 10)]
    # The target as steps across each interval (it may change during the day, and a
    # one-interval day still shows it).
    target = [f"{LEFT + (i + edge) * step:.1f},{y_of(p.target):.1f}"
              for i, p in enumerate(points) for edge in (0.1, 0.9)]
    if target:
        body.append(f'<polyline class="target" points="{" ".join(target)}" fill="none" '
                    f'stroke="{TARGET_LINE}" stroke-dasharray="5 4" stroke-width="1.5"/>')
    run: list[str] = []
    ended: list[SeriesPoint | None] = [*points, None]  # (None: the last run's end)
    for i, p in enumerate(ended):
        if p is None or p.service_level is None:
            if len(run) > 1:
                body.append(f'<polyline class="sl" points="{" ".join(run)}" fill="none" '
                            f'stroke="{SL_LINE}" stroke-width="2"/>')
            run = []
            continue
        x, y = LEFT + i * step + step / 2, y_of(p.service_level)
        run.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle class="sl-point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" '
                    f'fill="{SL_LINE}"><title>{escape(p.local_label)}: SL '
                    f'{pct(p.service_level, 1)} (n = {p.n}), target {pct(p.target, 1)}'
                    '</title></circle>')
    body += _x_labels(points, LEFT, step)
    body += _legend([(SL_LINE, "service level"), (TARGET_LINE, "target")])
    desc = "; ".join(f"{p.local_label} SL {pct(p.service_level, 1)} target "
                     f"{pct(p.target, 1)}" for p in points)
    return _frame(key, title, desc or "no intervals", body)


def queues(key: str, title: str, scopes: Sequence[ScopeKpis]) -> str:
    """One horizontal bar per queue (its day SL) with its target as a tick."""
    row_h, name_w = 18, 180
    height = TOP + BOTTOM + row_h * max(len(scopes), 1)
    plot_w = WIDTH - name_w - RIGHT - 50
    body = [_text(name_w, TOP - 4, "0%", "start", 10),
            _text(name_w + plot_w, TOP - 4, "100%", "end", 10)]
    for i, s in enumerate(scopes):
        sl = s.kpi("service_level")
        y = TOP + i * row_h
        name = s.scope if len(s.scope) <= 28 else s.scope[:27] + "…"
        body.append(_text(name_w - 6, y + 12, name, "end", 10))
        if sl.value is not None:
            body.append(f'<rect class="bar sl" x="{name_w}" y="{y + 3}" '
                        f'width="{min(sl.value, 1.0) * plot_w:.1f}" height="{row_h - 6}" '
                        f'fill="{SL_LINE}"><title>{escape(s.scope)}: SL {pct(sl.value, 1)} '
                        f'(n = {sl.n})</title></rect>')
        if sl.target is not None:
            tx = name_w + min(sl.target, 1.0) * plot_w
            body.append(f'<line class="target" x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" '
                        f'y2="{y + row_h - 1}" stroke="{TARGET_LINE}" stroke-width="2"/>')
        body.append(_text(name_w + plot_w + 6, y + 12, pct(sl.value, 1), "start", 10))
    desc = "; ".join(f"{s.scope} SL {pct(s.kpi('service_level').value, 1)} target "
                     f"{pct(s.kpi('service_level').target, 1)}" for s in scopes)
    return _frame(key, title, desc or "no queues", body, height)


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], float(LEFT)
    for colour, label in items:
        out.append(f'<rect x="{x:.0f}" y="{HEIGHT - 14}" width="10" height="10" '
                   f'fill="{colour}"/>')
        out.append(_text(x + 14, HEIGHT - 5, label, "start", 10))
        x += 24 + 7 * len(label)
    return out
