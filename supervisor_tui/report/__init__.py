"""The end-of-day report (``supervisor-tui report``, docs/report.md): one local day of
the shared store as Markdown, a self-contained HTML page (inline CSS and SVG, nothing
fetched), or long/tidy CSV and JSON rows for BI tools (Tableau, Looker, Power BI).

The model is ``domain.report`` (pure); ``collect`` reads the store into it; ``layout``
lays it out once for Markdown and HTML; ``svg`` draws the charts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from supervisor_tui.domain.fmt import utc_stamp
from supervisor_tui.domain.report import (
    SCHEMA,
    TIDY_COLUMNS,
    DayReport,
    ScopeKpis,
    tidy_rows,
)
from supervisor_tui.domain.text import clean, markdown
from supervisor_tui.export import to_csv
from supervisor_tui.report import svg
from supervisor_tui.report.layout import Block, Bullets, Chart, Heading, Para, Table, blocks

FORMATS = ("md", "html", "csv", "json")


def render(report: DayReport, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    if fmt == "csv":
        return to_csv(_clean_rows(tidy_rows(report)), TIDY_COLUMNS)
    if fmt == "json":
        return to_json(report)
    raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")


def _clean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Source text (queue ids, group names) without control or escape characters; the CSV
    # cell rule (export.csv_cell) then defuses formula starts.
    # (only "scope" holds source text: the rest is ours)
    for row in rows:
        row["scope"] = clean(row["scope"], 256)
    return rows


# -- Markdown --------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return markdown(text, 600, block=False) or " "


def to_markdown(report: DayReport) -> str:
    lines: list[str] = []
    for block in blocks(report):
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + markdown(block.text, 300), ""]
        elif isinstance(block, Para):
            lines += [markdown(block.text, 2000), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {markdown(item, 2000, block=False)}" for item in block.items]
            lines.append("")
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(c) for c in block.columns) + " |")
            lines.append("|" + "|".join("---:" if i in block.numeric else "---"
                                        for i in range(len(block.columns))) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        # Charts: HTML only; their figures are in the tables.
    return "\n".join(lines).rstrip() + "\n"


# -- HTML ------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;
max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.3em}h2{margin-top:1.8em;border-bottom:1px solid #cbd5e0}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:13px}
th,td{border:1px solid #cbd5e0;padding:3px 8px;text-align:left;vertical-align:top}
td{max-width:28em;overflow-wrap:anywhere}
th{background:#edf2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;
overflow-wrap:normal}
tr.missed td{background:#fff5f5}tr.at-risk td{background:#fffff0}
figure{margin:.8em 0}figcaption{font-size:12px;color:#4a5568}
svg.chart{display:block;max-width:100%;height:auto}
svg text{fill:#2d3748;font-family:inherit}
@media print{body{margin:0}h2{break-after:avoid}table,svg{break-inside:avoid}}
"""


def _h(text: str) -> str:
    return escape(clean(text, 2000))


def _row_class(block: Table, row: tuple[str, ...]) -> str:
    if "Status" not in block.columns:
        return ""
    status = row[block.columns.index("Status")]
    return {"missed": ' class="missed"', "at risk (within 5 pts)": ' class="at-risk"'}.get(
        status, "")


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{escape(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{_h(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{_h(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_h(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f'<th scope="col">{_h(c)}</th>' for c in block.columns)
        body = "".join(
            f"<tr{_row_class(block, row)}>" + "".join(
                f'<td class="num">{_h(c)}</td>' if i in block.numeric else f"<td>{_h(c)}</td>"
                for i, c in enumerate(row)) + "</tr>" for row in block.rows)
        return (f'<table id="{escape(block.key)}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")
    assert isinstance(block, Chart)
    title = clean(block.title)
    if block.kind == "volume":  # (series labels are times we made: no source text)
        chart = svg.volume(block.key, title, block.series)
    elif block.kind == "sl":
        chart = svg.service_level(block.key, title, block.series)
    else:
        chart = svg.queues(block.key, title, _cleaned_scopes(block.scopes))
    return f"<figure>{chart}<figcaption>{escape(title)}</figcaption></figure>"


def _cleaned_scopes(scopes: Sequence[ScopeKpis]) -> list[ScopeKpis]:
    from dataclasses import replace

    return [replace(s, scope=clean(s.scope, 256)) for s in scopes]


def to_html(report: DayReport) -> str:
    """One self-contained page: inline CSS, inline SVG, no script, nothing fetched (the
    Content-Security-Policy says so to the browser too)."""
    title = f"End-of-day report {report.day.isoformat()} ({report.zone})"
    body = "\n".join(_html_block(b) for b in blocks(report))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"supervisor-tui report ({SCHEMA})\">"
            f"<title>{_h(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n"
            "</body></html>\n")


# -- JSON ------------------------------------------------------------------------------


def _scope_doc(s: ScopeKpis) -> dict[str, Any]:
    return {"scope_type": s.scope_type, "scope": clean(s.scope, 256),
            "intervals": s.intervals, "incomplete_intervals": s.incomplete,
            "thresholds_s": list(s.thresholds), "status": s.status.value,
            "queues": [clean(q, 256) for q in s.queues],
            "missing_queues": [clean(q, 256) for q in s.missing],
            "kpis": {k.metric: {"value": None if k.value is None else round(k.value, 4),
                                "unit": k.unit,
                                "target": None if k.target is None else round(k.target, 4),
                                "n": k.n} for k in s.kpis}}


def _utc(moment: Any) -> str:
    return utc_stamp(moment)


def to_json(report: DayReport) -> str:
    """The whole report as one document: ``rows`` are the tidy rows of the CSV form
    (``columns``), the rest the same figures nested by section."""
    e = report.escalations
    doc = {
        "schema": SCHEMA, "report": "end_of_day", "date": report.day.isoformat(),
        "zone": report.zone, "window_start_utc": _utc(report.window.start),
        "window_end_utc": _utc(report.window.end),
        "generated_at_utc": _utc(report.generated_at), "partial": report.partial,
        "sl_formula": report.sl_formula.value, "interval_minutes": report.interval_minutes,
        "min_sample": report.min_sample,
        "formulas": {name: text for name, text in report.formulas()},
        "channel_groups": [_scope_doc(s) for s in report.channel_groups],
        "groups": [_scope_doc(s) for s in report.groups],
        "groups_without_figures": [clean(g, 256) for g in report.idle_groups],
        "queues": [_scope_doc(s) for s in report.queues],
        "missed_intervals": [
            {"queue": clean(m.queue_id, 256), "interval_start_utc": _utc(m.window.start),
             "interval_end_utc": _utc(m.window.end), "local": m.local_label,
             "service_level": round(m.service_level, 4), "target": round(m.target, 4),
             "n": m.n, "status": m.status.value, "small_sample": m.small_sample}
            for m in report.missed],
        "escalations": {
            "count": e.count, "by_kind": dict(e.by_kind), "by_severity": dict(e.by_severity),
            "taken": e.taken, "resolved": e.resolved,
            "minutes_to_take_median": e.median_take_min,
            "minutes_to_take_p90": e.p90_take_min, "first_sight_only": e.first_sight,
            "unowned_at_end": [
                {"first_seen_utc": _utc(i.first_seen), "kind": i.kind,
                 "severity": i.severity,
                 "queue": None if i.queue_id is None else clean(i.queue_id, 256),
                 "label": clean(i.label)} for i in e.unowned_at_end]},
        "incidents": [
            {"id": i.id, "title": i.title, "severity": i.severity, "state": i.state,
             "queues": list(i.queues), "declared_at_utc": _utc(i.declared_at),
             "declared_by": i.declared_by,
             "resolved_at_utc": _utc(i.resolved_at) if i.resolved_at else None,
             "minutes_in_window": round(i.minutes_in_window, 1),
             "timeline": [{"ts_utc": _utc(t.ts), "kind": t.kind, "user": t.user,
                           "text": t.text} for t in i.timeline],
             "timeline_more": i.timeline_more} for i in report.incidents],
        "sections": [{"key": s.key, "title": s.title, "loaded": s.loaded, "note": s.note,
                      "columns": list(s.columns), "rows": [list(r) for r in s.rows]}
                     for s in report.sections],
        "columns": list(TIDY_COLUMNS),
        "rows": _clean_rows(tidy_rows(report)),
    }
    # Compact: a large centre's day is hundreds of thousands of rows (indenting them
    # doubled the file); any JSON viewer or `jq .` lays it out.
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
