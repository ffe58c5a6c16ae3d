"""Data from documents: question/answer rows written by the loaded model from a collection's chunks, with each
chunk's file and pages kept as the gold evidence; saved as an evaluation set, a training dataset (OpenAI messages
JSONL, a format the Training tab reads), or split into both (the split is recorded in the set's meta)."""

from __future__ import annotations

import json
import random
import re
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.jobs import JobContext

# The engine.studio.Studio facade: an evaluation drives the models, adapters and collections together. Not
# imported, since the studio builds this service (no import cycle).
Studio = Any

# The passage first and the format last: SmolLM2-135M loops on "What is the answer to the question" otherwise.
PROMPT = ("Passage:\n{text}\n\nWrite {n} quiz question(s) about this passage, each followed by its answer. Use this "
          "format:\nQuestion: <the question>\nAnswer: <the answer>")
PAIR = re.compile(r"Question:\s*(.+?)\s*\n\s*Answer:\s*(.+?)\s*(?=\n\s*Question:|\Z)", re.S | re.I)
CHUNK_CHARS = 2000


def parse_pairs(text: str) -> list[tuple[str, str]]:
    return [(q.strip(), a.strip()) for q, a in PAIR.findall(text or "") if q.strip() and a.strip()]


def generate_rows(studio: "Studio", collection: str, per_chunk: int, max_chunks: int, max_new_tokens: int,
                  ctx: JobContext | None = None) -> list[dict[str, Any]]:
    """Rows {id, question, answer, file, pages, chunk} from up to max_chunks chunks (greedy, the loaded model)."""
    from engine.models.generation import GenerationParams

    current = studio.rag.collection(collection)
    chunks = studio.rag.index_of(current).chunks(max_chunks)
    if not chunks:
        raise LoragError(f"The collection {current.name!r} has no chunks to write questions from.",
                         key="evaluate.no_chunks", params={"name": current.name})
    params = GenerationParams(temperature=0.0, max_new_tokens=max_new_tokens)
    rows: list[dict[str, Any]] = []
    for number, chunk in enumerate(chunks, 1):
        if ctx is not None:
            ctx.check_cancel()
            ctx.progress((number - 1) / len(chunks), f"Chunk {number}/{len(chunks)}: {len(rows)} rows so far")
        prompt = PROMPT.format(n=per_chunk, text=str(chunk.get("text", ""))[:CHUNK_CHARS])
        final = [e for e in studio.models.stream_chat([{"role": "user", "content": prompt}], params)
                 if e.kind == "done"]
        for question, answer in parse_pairs(final[0].answer if final else "")[:per_chunk]:
            rows.append({"id": f"gen{len(rows) + 1}", "question": question, "answer": answer,
                         "file": chunk.get("filename", ""), "pages": [int(p) for p in chunk.get("pages") or []],
                         "chunk": int(chunk.get("chunk_index") or 0)})
    return rows


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _training_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "user", "content": r["question"]}, {"role": "assistant", "content": r["answer"]}]}
            for r in rows]


def save_rows(studio: "Studio", rows: list[dict[str, Any]], name: str, mode: str = "eval",
              holdout: float = 0.2, seed: int = 0) -> dict[str, str]:
    """mode "eval", "training" or "split" (holdout fraction goes to the evaluation set). Returns the stored hashes."""
    rows = [r for r in rows if str(r.get("question", "")).strip() and str(r.get("answer", "")).strip()]
    if not rows:
        raise LoragError("There are no rows with both a question and an answer to save.",
                         key="evaluate.nothing_to_save")
    if mode not in ("eval", "training", "split"):
        raise LoragError(f"Save as eval, training or split, not {mode!r}.",
                         key="evaluate.bad_save_mode", params={"mode": mode})
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "generated"
    held, train = _split(rows, holdout, seed) if mode == "split" else (rows, rows)
    with tempfile.TemporaryDirectory(dir=studio.data_dir) as staging:
        return _store(studio, Path(staging), stem, mode, held, train, {"seed": seed, "holdout": holdout,
                                                                       "rows": len(rows)})


def _split(rows: list[dict[str, Any]], holdout: float, seed: int) -> tuple[list[dict], list[dict]]:
    shuffled = random.Random(seed).sample(rows, len(rows))
    cut = max(1, round(len(rows) * holdout))
    if cut >= len(rows):
        raise LoragError("The held-out part would take every row; lower the fraction or make more rows.",
                         key="evaluate.held_out_all")
    return shuffled[:cut], shuffled[cut:]


def _store(studio: "Studio", folder: Path, stem: str, mode: str, held: list[dict], train: list[dict],
           split: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    if mode in ("training", "split"):
        stored, _ = studio.training.upload(_jsonl(folder / f"{stem}-train.jsonl", _training_rows(train)))
        out["training"] = stored.sha256
    if mode in ("eval", "split"):
        out["eval"] = studio.evaluation.upload(_jsonl(folder / f"{stem}-eval.jsonl", held)).sha256
        if mode == "split":
            studio.evaluation.sets.record(out["eval"], {"split": {"training": out["training"], **split}})
    return out
