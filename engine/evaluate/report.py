"""A run's results: the table (cells x metrics), the per-question side-by-side view, CSV / JSON export, and the
comparison with an earlier run of the same set."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from engine.evaluate.config import Cell
from engine.evaluate.scores import HIT_KS

ANSWER_METRICS = ("exact", "contains", "f1", "numbers", "judge")
RETRIEVAL_METRICS = tuple(f"hit@{k}" for k in HIT_KS) + ("mrr",)
METRICS = ANSWER_METRICS + RETRIEVAL_METRICS


@dataclass
class CellRow:
    cell: Cell
    answered: int
    metrics: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.cell.label, "adapter": self.cell.adapter, "collection": self.cell.collection,
                "answered": self.answered, **self.metrics}


def _mean(values: list[Any]) -> float | None:
    values = [float(v) for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def table(cells: list[Cell], answers: list[dict[str, Any]]) -> list[CellRow]:
    rows = []
    for cell in cells:
        mine = [a["scores"] for a in answers if a["cell"] == cell.key]
        metrics = {m: _mean([s.get(m) for s in mine]) for m in METRICS}
        rows.append(CellRow(cell, len(mine), metrics))
    return rows


def compare(current: list[CellRow], earlier: list[CellRow]) -> dict[str, dict[str, float]]:
    """metric deltas (current - earlier) per cell label, for the cells and metrics both runs have."""
    before = {r.cell.key: r for r in earlier}
    out = {}
    for row in current:
        old = before.get(row.cell.key)
        if old is None:
            continue
        out[row.cell.label] = {m: round(v - old.metrics[m], 4) for m, v in row.metrics.items()
                               if v is not None and old.metrics.get(m) is not None}
    return out


def question_view(question: dict[str, Any], cells: list[Cell], answers: list[dict[str, Any]]) -> list[dict]:
    """One question across the cells: each cell's answer, pass/fail and sources, side by side."""
    by_cell = {a["cell"]: a for a in answers if a["question_id"] == question["id"]}
    out = []
    for cell in cells:
        row = by_cell.get(cell.key)
        sources = [f"{s.get('filename', '')} p.{','.join(str(p) for p in s.get('pages') or [])}"
                   for s in (row["meta"].get("sources") or [])] if row else []
        scores = row["scores"] if row else {}
        out.append({"cell": cell.label, "answer": row["answer"] if row else "(not answered yet)",
                    "passed": bool(scores.get("passed")), "f1": scores.get("f1"), "judge": scores.get("judge"),
                    "rank": scores.get("rank"), "sources": sources})
    return out


def to_csv(questions: dict[str, dict[str, Any]], answers: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["cell", "question_id", "question", "reference", "answer", *METRICS, "passed", "sources"])
    for a in answers:
        q = questions.get(a["question_id"], {})
        sources = "; ".join(f"{s.get('filename', '')} p.{','.join(str(p) for p in s.get('pages') or [])}"
                            for s in a["meta"].get("sources") or [])
        writer.writerow([Cell.of(a["cell"]).label, a["question_id"], q.get("question", ""), q.get("answer", ""),
                         a["answer"], *[a["scores"].get(m, "") for m in METRICS], a["scores"].get("passed"),
                         sources])
    return buffer.getvalue()


def to_dict(config: dict[str, Any], rows: list[CellRow], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The run as data: its config, the table (one row per cell) and every answer with its scores."""
    return {"config": config, "table": [r.to_dict() for r in rows],
            "answers": [{k: a[k] for k in ("cell", "question_id", "answer", "scores", "meta")} for a in answers]}


def to_json(config: dict[str, Any], rows: list[CellRow], answers: list[dict[str, Any]]) -> str:
    return json.dumps(to_dict(config, rows, answers), indent=2, ensure_ascii=False)


def format_table(rows: list[CellRow]) -> str:
    """A plain-text table for the command line."""
    headers = ["cell", "n", *METRICS]
    lines = [[r.cell.label, str(r.answered), *["-" if r.metrics[m] is None else f"{r.metrics[m]:.3f}"
                                               for m in METRICS]] for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]

    def render(cols: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))

    return "\n".join([render(headers), render(["-" * w for w in widths]), *map(render, lines)])
