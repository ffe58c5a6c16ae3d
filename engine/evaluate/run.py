"""One evaluation run as a job: every question in every cell of the matrix, each answer stored as it is made.

The prompt path is the Chat tab's: the question as a user message, through engine.rag.chat.prepare_turn when the
cell has a collection (retrieval, relevant sources, the same "nothing relevant" reply), then the models service's
stream_chat with the cell's adapter hot-swapped on the one base model. A run that stopped (cancel, crash, restart)
resumes on the same job: the (cell, question) pairs already in eval_answers are skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine.chat_turn import PreparedTurn
from engine.errors import LoragError
from engine.evaluate.config import Cell, EvalConfig
from engine.evaluate.scores import answer_scores, first_rank, retrieval_scores
from engine.evaluate.sets import EvalSet, Question
from engine.jobs import JobContext
from engine.store import now

# The engine.studio.Studio facade: an evaluation drives the models, adapters and collections together. Not
# imported, since the studio builds this service (no import cycle).
Studio = Any

log = logging.getLogger(__name__)


def done_pairs(studio: "Studio", run_id: str) -> set[tuple[str, str]]:
    rows = studio.store.all("SELECT cell, question_id FROM eval_answers WHERE run_id = ?", (run_id,))
    return {(r["cell"], r["question_id"]) for r in rows}


def ensure_model(studio: "Studio", base_model: str, ctx: JobContext) -> None:
    current = studio.models.current
    if not base_model:
        if current is None:
            raise LoragError("No model is loaded to answer the questions.",
                             hint="Load one in the Models tab, or name a base model for the run.",
                             key="evaluate.no_model", hint_key="evaluate.no_model_hint")
        return
    wanted = {base_model, str(Path(base_model).expanduser().resolve()) if Path(base_model).exists() else base_model}
    if current is not None and {current.name, current.source, current.folder} & wanted:
        return
    ctx.log(f"Loading {base_model} (it replaces {current.name if current else 'no model'} for the run).")
    studio.models.load(base_model)


def _turn(studio: "Studio", question: Question, cell: Cell, system: str) -> PreparedTurn:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": question.question}]
    if not cell.collection:
        return PreparedTurn(messages)
    return studio.rag.chat_turn(messages, cell.collection)


def _generate(studio: "Studio", turn: PreparedTurn, cell: Cell, config: EvalConfig, request_id: str
              ) -> tuple[str, dict[str, Any]]:
    from engine.models.generation import GenerationParams

    if turn.reply is not None:
        return turn.reply, {"finish_reason": "nothing_relevant"}
    params = GenerationParams(temperature=config.temperature, max_new_tokens=config.max_new_tokens)
    final = None
    for event in studio.models.stream_chat(turn.messages, params, adapter=cell.adapter or None,
                                           request_id=request_id):
        if event.kind == "done":
            final = event
    if final is None:
        raise LoragError("The model stopped before it answered.", key="evaluate.model_stopped")
    return final.answer, (final.stats.to_meta() if final.stats else {})


def _ranked(studio: "Studio", question: Question, cell: Cell, k: int) -> list[tuple[str, list[int]]] | None:
    if not cell.collection or not question.evidence:
        return None
    return [(h.filename, h.pages) for h in studio.rag.search(cell.collection, question.question, k=k)]


def answer_one(studio: "Studio", question: Question, cell: Cell, config: EvalConfig,
               request_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(answer, scores, meta) for one question in one cell."""
    turn = _turn(studio, question, cell, config.system)
    answer, stats = _generate(studio, turn, cell, config, request_id)
    scores = answer_scores(answer, question.answer)
    meta: dict[str, Any] = {"stats": stats, **turn.extra_meta(answer)}
    if config.judge:
        from engine.evaluate.judge import judge

        verdict = judge(studio, config.judge, config.judge_model, question.question, question.answer, answer)
        scores["judge"] = verdict.pop("verdict")
        meta["judge"] = verdict
    ranked = _ranked(studio, question, cell, config.retrieval_k)
    if ranked is not None:
        rank = first_rank(question.evidence, ranked)
        scores.update(rank=rank, **retrieval_scores(rank))
        meta["ranked"] = [{"file": f, "pages": p} for f, p in ranked]
    return answer, scores, meta


def run_matrix(studio: "Studio", run_id: str, config: EvalConfig, evalset: EvalSet, ctx: JobContext,
               note: str = "") -> dict[str, Any]:
    """Answer what is not answered yet; `note` (why the run goes on, e.g. after a restart) starts every
    message, so the person reads it while the run goes and after it ends."""
    prefix = f"{note} · " if note else ""
    cells = config.cells()
    total = len(cells) * len(evalset.questions)
    finished = done_pairs(studio, run_id)
    skipped = sum(1 for c in cells for q in evalset.questions if (c.key, q.id) in finished)
    if note:
        ctx.log(note + ".")
        ctx.progress(skipped / total, f"{prefix}{skipped} of {total} answers kept; the rest follow.")
    if skipped:
        ctx.log(f"Resuming: {skipped} of {total} answers are already stored and are not asked again.")
    ensure_model(studio, config.base_model, ctx)
    count = skipped
    for number, cell in enumerate(cells, 1):
        for position, question in enumerate(evalset.questions, 1):
            if (cell.key, question.id) in finished:
                continue
            ctx.check_cancel()
            ctx.progress(count / total, f"{prefix}Cell {number}/{len(cells)} ({cell.label}): question "
                                        f"{position}/{len(evalset.questions)}")
            answer, scores, meta = answer_one(studio, question, cell, config, f"eval-{run_id}")
            studio.store.insert("eval_answers", {"run_id": run_id, "cell": cell.key, "question_id": question.id,
                                                 "answer": answer, "scores": scores, "meta": meta,
                                                 "created_at": now()})
            count += 1
        ctx.log(f"Cell {cell.label}: done.")
    kept = f" ({skipped} kept from before)" if skipped else ""
    ctx.progress(1.0, f"{prefix}{total} answers in {len(cells)} cell(s){kept}.")
    return {"answers": total, "cells": [c.key for c in cells], "resumed_with": skipped, "note": note}
