"""HTML pieces of the Training tab: the marked preview, the progress bar, the loss curve (inline SVG), job rows.

Pure functions of engine data (no gradio, no torch), so they are cheap to test and to re-render every poll.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

from ui.errors import job_message, said, status_word
from ui.i18n import say, table

TRAIN_COLOR, EVAL_COLOR = "#2563eb", "#ea580c"
MAX_LINE_POINTS, MAX_MARKERS = 600, 200
STATUS_COLORS = {"running": "#2563eb", "queued": "#6b7280", "cancelling": "#d97706", "completed": "#16a34a",
                 "failed": "#dc2626", "interrupted": "#d97706", "cancelled": "#6b7280"}


def _visible(text: str) -> str:
    """Escape, and show line breaks as ↵ so the template's whitespace is visible."""
    return html.escape(text).replace("\n", "<span style='opacity:.45'>↵</span>\n")


PRE = "<pre style='white-space:pre-wrap;font-size:.85em;border:1px solid #ddd;border-radius:6px;padding:.5em'>"
TRAINED = "<mark class='lorag-trained' style='background:#bbf7d0;padding:0'>{}</mark>"
REJECTED = "<mark class='lorag-rejected' style='background:#fecaca;padding:0'>{}</mark>"


def _marked(segments: list[Any], trained: str = TRAINED) -> str:
    parts = []
    for seg in segments:
        text = _visible(seg.text)
        if seg.cut:
            parts.append(f"<s style='opacity:.55'>{text}</s>")
        else:
            parts.append(trained.format(text) if seg.trained else f"<span>{text}</span>")
    return "".join(parts)


def place_label(line: int, row: int = 0) -> str:
    """Where a preview row is ('Line 7', 'Row 3 (line 12)', 'Row 3'), in the person's language."""
    if row and line:
        return say("training.preview.place_row_line", row=row, line=line)
    return say("training.preview.place_row", row=row) if row else say("training.preview.place_line", line=line)


def _preview_row(row: Any) -> str:
    roles = ", ".join(row.renamed)
    renamed = f" · {say('training.preview.roles', roles=html.escape(roles))}" if row.renamed else ""
    counts = say("training.preview.tokens", tokens=row.tokens, trained=row.trained_tokens)
    head = f"<b>{place_label(row.line, row.row)}</b> · {counts}{renamed}"
    body = f"{PRE}{_marked(row.segments)}</pre>"
    if row.rejected:
        body = (f"<div>{say('training.preview.chosen')}</div>{body}<div>{say('training.preview.rejected')}</div>"
                f"{PRE}<span class='lorag-rejected-box'>{_marked(row.rejected, REJECTED)}</span></pre>")
    return f"<div class='lorag-preview-row' data-line='{row.line}'>{head}{body}</div>"


def stats_text(stats: Any, max_length: int) -> str:
    """TokenStats.summary() in the person's language."""
    if not stats.rows:
        return say("training.stats.no_rows")
    text = say("training.stats.line", rows=stats.rows, min=stats.min, median=f"{stats.median:.0f}", p95=stats.p95,
               max=stats.max, tokens=stats.tokens, trained=stats.trained_tokens, max_length=max_length,
               over=stats.over_max_length)
    if stats.lose_all_trained:
        text += "; " + say("training.stats.lose_all", count=stats.lose_all_trained)
    if stats.sampled_from > stats.rows:
        text += " " + say("training.stats.sampled", rows=stats.rows, total=stats.sampled_from)
    return text + "."


def preview_html(analysis: Any) -> str:
    if analysis is None or not analysis.preview:
        return f"<p class='lorag-empty'>{say('training.no_preview')}</p>"
    rejected = any(row.rejected for row in analysis.preview)
    legend = (f"<p style='font-size:.9em'><mark style='background:#bbf7d0;padding:0 3px'>"
              f"{say('training.preview.legend_trained')}</mark> · "
              + (f"<mark style='background:#fecaca;padding:0 3px'>{say('training.preview.legend_rejected')}</mark>"
                 " · " if rejected else "")
              + f"{say('training.preview.legend_plain')} · "
              f"<s style='opacity:.6'>{say('training.preview.legend_cut')}</s></p>")
    note = f"<p style='font-size:.9em'>{html.escape(str(said(analysis.note)))}</p>"
    return f"<div id='lorag-training-preview'>{note}{legend}{''.join(_preview_row(r) for r in analysis.preview)}</div>"


def progress_html(view: Any) -> str:
    if view is None:
        return f"<p class='lorag-empty'>{say('training.no_job_yet')}</p>"
    job = view.job
    pct = 100.0 * (job.progress or 0)
    color = STATUS_COLORS.get(job.status, "#6b7280")
    speed = say("training.progress.speed", speed=f"{view.tokens_per_s:.0f}" if view.tokens_per_s else "—")
    state = view.state
    step = (say("training.progress.step", step=state.get("step", 0), max_steps=state.get("max_steps", "?"))
            if state else say("training.progress.not_started"))
    device = f" · {state['device']}" if state.get("device") else ""
    checkpoint = f" · {say('training.progress.checkpoint', checkpoint=view.checkpoint)}" if view.checkpoint else ""
    what = say("training.progress.on", adapter=f"<b>{html.escape(view.adapter_name)}</b>",
               base=html.escape(view.base))
    return (f"<div id='lorag-job-status' data-status='{job.status}'>{what} · "
            f"<span style='color:{color};font-weight:600'>{status_word(job.status)}</span> · {step} · {speed} · "
            f"{say('training.progress.eta', eta=view.eta)}{device}{checkpoint}"
            f"<div style='background:#e5e7eb;border-radius:6px;height:14px;margin:.4em 0'>"
            f"<div class='lorag-progress' style='width:{pct:.1f}%;background:{color};height:14px;"
            f"border-radius:6px'></div></div>"
            f"<div style='font-size:.9em'>{html.escape(job_message(job))}</div></div>")


def thin(series: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most about `limit` points, evenly spaced, always keeping the last one."""
    if len(series) <= limit:
        return series
    stride = math.ceil(len(series) / limit)
    return series[::stride] + ([series[-1]] if (len(series) - 1) % stride else [])


def _scale(value: float, lo: float, hi: float, size: float) -> float:
    return 0.0 if hi <= lo else (value - lo) / (hi - lo) * size


def loss_curve_svg(train: list[tuple[int, float]], evals: list[tuple[int, float]], width: int = 640,
                   height: int = 240, what: str | None = None, elem_id: str = "lorag-loss-curve") -> str:
    """Train (blue) and eval (orange) loss (or another measure: `what`) against the step, as inline SVG."""
    points = train + evals
    what = what or say("training.curve.loss")
    if not points:
        return ("<div id='lorag-loss-curve' data-train-points='0' data-eval-points='0' class='lorag-empty'>"
                f"{say('training.curve_appears')}</div>")
    left, right, top, bottom = 56, 12, 12, 30
    inner_w, inner_h = width - left - right, height - top - bottom
    steps = [p[0] for p in points]
    losses = [p[1] for p in points]
    x_lo, x_hi = min(steps), max(max(steps), min(steps) + 1)
    y_lo, y_hi = min(losses), max(losses)
    pad = (y_hi - y_lo) * 0.08 or abs(y_hi) * 0.05 or 1.0
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def xy(step: int, loss: float) -> tuple[float, float]:
        return left + _scale(step, x_lo, x_hi, inner_w), top + inner_h - _scale(loss, y_lo, y_hi, inner_h)

    parts = [f"<rect x='{left}' y='{top}' width='{inner_w}' height='{inner_h}' fill='none' stroke='#d1d5db'/>"]
    decimals = min(6, max(0, 1 - math.floor(math.log10((y_hi - y_lo) / 4))))  # enough to tell the ticks apart
    for i in range(5):
        value = y_lo + (y_hi - y_lo) * i / 4
        _, y = xy(x_lo, value)
        parts.append(f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' fill='#6b7280'>"
                     f"{value:.{decimals}f}</text>")
    for step in sorted({x_lo, (x_lo + x_hi) // 2, x_hi}):
        x, _ = xy(step, y_lo)
        parts.append(f"<text x='{x:.1f}' y='{height - 10}' font-size='11' text-anchor='middle' fill='#6b7280'>"
                     f"{step}</text>")
    for series, color, css in ((train, TRAIN_COLOR, "train-point"), (evals, EVAL_COLOR, "eval-point")):
        if not series:
            continue
        series = thin(series, MAX_LINE_POINTS)
        coords = [xy(s, v) for s, v in series]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f"<polyline points='{path}' fill='none' stroke='{color}' stroke-width='2'/>")
        if len(series) > MAX_MARKERS:
            continue  # a long run reads better as a line; the hover titles would be noise
        for (s, v), (x, y) in zip(series, coords, strict=True):
            parts.append(f"<circle class='{css}' cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{color}'>"
                         f"<title>{say('training.curve.point', step=s, value=f'{v:.4f}')}</title></circle>")
    aria = html.escape(say("training.curve.aria", what=what), quote=True)
    legend = (f"<span style='color:{TRAIN_COLOR}'>● {say('training.curve.train', what=what)}</span>"
              + (f" &nbsp; <span style='color:{EVAL_COLOR}'>● {say('training.curve.eval', what=what)}</span>"
                 if evals else ""))
    return (f"<div id='{elem_id}' data-train-points='{len(train)}' data-eval-points='{len(evals)}'>"
            f"<div style='font-size:.9em'>{legend} {say('training.curve.x_step')}</div>"
            f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='{aria}'>{''.join(parts)}</svg></div>")


def curves_html(view: Any) -> str:
    """The loss curve, and for preference runs (DPO / ORPO) the reward margin: chosen minus rejected."""
    html_text = loss_curve_svg(*view.loss_points())
    margins = view.margin_points()
    if any(margins):
        html_text += loss_curve_svg(*margins, what=say("training.curve.margin"), elem_id="lorag-margin-curve")
    return html_text


def job_rows(views: list[Any]) -> dict:
    rows = []
    for view in views:
        job = view.job
        started = time.strftime("%m-%d %H:%M", time.localtime(job.started_at or job.created_at))
        speed = f"{view.tokens_per_s:.0f}" if view.tokens_per_s else ""
        rows.append([job.id, view.adapter_name, status_word(job.status), f"{100 * (job.progress or 0):.0f}%", speed,
                     view.eta, started])
    return table(JOB_HEADERS, rows)


JOB_HEADERS = [f"table.job.{name}" for name in ("job", "adapter", "status", "progress", "speed", "eta", "started")]


def batch_note(batch_size: Any, processes: Any, grad_accum: Any, distributed: str) -> str:
    """The global batch and what each process holds, in the person's language (under the batch fields)."""
    batch, procs, accum = (max(1, int(v or 1)) for v in (batch_size, processes, grad_accum))
    total = say("training.global_batch", batch=batch, processes=procs, accum=accum, total=batch * procs * accum)
    if procs <= 1:
        held = say("training.processes_one")
    else:
        held = say("training.processes_fsdp" if distributed == "fsdp" else "training.processes_ddp",
                   processes=procs, batch=batch)
    return f"{total} {held}"
