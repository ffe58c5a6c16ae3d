"""What the Evaluate tab shows, as plain data: the results table, the chart's rows, the side-by-side view."""

from __future__ import annotations

import html
from typing import Any

from engine.evaluate.report import METRICS
from engine.evaluate.sets import ERRORS_SHOWN
from ui.errors import job_message, status_word
from ui.i18n import say

TABLE_HEADERS = ["cell", "answered", *METRICS]
CHART_METRICS = ("contains", "f1", "hit@5")
COLORS = ("#4f46e5", "#0891b2", "#16a34a")


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def table_rows(rows: list[Any]) -> list[list[str]]:
    return [[r.cell.label, str(r.answered), *(_cell(r.metrics[m]) for m in METRICS)] for r in rows]


def chart_html(rows: list[Any]) -> str:
    """Horizontal bars, one group per cell, one bar per metric in CHART_METRICS (scores are 0..1)."""
    groups = []
    empty = " " + say("evaluate.no_scores_yet")
    for row in rows:
        bars = "".join(
            f"<div class='eval-bar' data-metric='{m}'><span style='display:inline-block;width:5em'>{m}</span>"
            f"<span style='display:inline-block;height:0.9em;width:{row.metrics[m] * 20:.2f}em;"
            f"background:{COLORS[i]}'></span> {row.metrics[m]:.2f}</div>"
            for i, m in enumerate(CHART_METRICS) if row.metrics.get(m) is not None)
        groups.append(f"<div class='eval-bars'><b>{html.escape(row.cell.label)}</b>{bars or empty}</div>")
    return "<div id='eval-chart-bars' style='display:grid;gap:0.6em'>" + "".join(groups) + "</div>"


def side_by_side_html(question: dict[str, Any], view: list[dict[str, Any]]) -> str:
    """One question, every cell's answer next to the others, each with pass/fail and its sources."""
    cards = []
    for item in view:
        verdict = "pass" if item["passed"] else "fail"
        sources = ("".join(f"<li>{html.escape(s)}</li>" for s in item["sources"])
                   or f"<li>{say('evaluate.no_sources')}</li>")
        rank = f" · {say('evaluate.gold_rank', rank=item['rank'])}" if item.get("rank") else ""
        if item.get("judge") is not None:
            rank += f" · {say('evaluate.judge_yes' if item['judge'] else 'evaluate.judge_no')}"
        cards.append(f"<div class='eval-card {verdict}'><h4>{html.escape(item['cell'])}</h4>"
                     f"<p class='eval-verdict'>{say('evaluate.verdict_' + verdict)} · F1 {_cell(item['f1'])}{rank}</p>"
                     f"<p class='eval-answer'>{html.escape(item['answer'])}</p><ul>{sources}</ul></div>")
    head = "<p>" + say("evaluate.question_head", question=html.escape(question["question"]),
                       answer=html.escape(question["answer"])) + "</p>"
    return (f"<div id='eval-question-view'>{head}<div style='display:flex;gap:1em;flex-wrap:wrap'>"
            + "".join(cards) + "</div></div>")


def set_summary(evalset: Any) -> str:
    """EvalSet.summary() in the person's language."""
    lines = [say("evaluate.set_summary", filename=evalset.filename, count=len(evalset.questions),
                 gold=evalset.with_evidence)]
    if evalset.errors:
        lines.append(say("evaluate.set_skipped", count=len(evalset.errors)) + "\n"
                     + "\n".join(f"- {e}" for e in evalset.errors[:ERRORS_SHOWN]))
    return "\n\n".join(lines)


def status_html(job: Any | None) -> str:
    if job is None:
        return f"<p>{say('evaluate.no_run')}</p>"
    return (f"<p id='eval-run-status'><b>{html.escape(job.title)}</b><br>{html.escape(status_word(job.status))} · "
            f"{job.progress:.0%} · {html.escape(job_message(job))}</p>")


def delta_text(compared_with: str, deltas: dict[str, dict[str, float]] | None) -> str:
    if not deltas:
        return ""
    lines = [say("evaluate.compared_with", run=compared_with)]
    for cell, metrics in deltas.items():
        changes = ", ".join(f"{m} {v:+.3f}" for m, v in metrics.items())
        lines.append(f"- {cell}: {changes}")
    return "\n".join(lines)
