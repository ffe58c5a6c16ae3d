"""Evaluation end to end: the real SmolLM2 answers, the Qwen3 report sits in a real Weaviate.

- retrieval scores of a set with gold pages equal the hit@k this test works out itself from rag.search;
- a matrix {none, an adapter that learned a made-up fact} x {no documents, the report} runs from
  `python -m engine.evaluate`, is killed mid-run, and resumes without answering a finished question again;
- the adapter scores higher than the base on the made-up fact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_training_smollm2 import ANSWER, FACT, QUESTIONS
from tests.support.adapters import train_adapter

pytestmark = [pytest.mark.weaviate, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
REPORT = "Qwen3_Technical_Report.pdf"
# Sentences taken from the report (pages counted from 1) and the page that holds them.
GOLD = [
    ("How many distinct tasks does the General RL reward system cover?", 12),
    ("How many tokens was Qwen3 pre-trained on?", 1),
    ("What is the thinking budget mechanism of Qwen3?", 1),
]


def write_set(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def independent_hits(studio, questions: list[tuple[str, int]]) -> dict[str, float]:
    ranks = []
    for question, page in questions:
        hits = studio.rag.search("qwen3", question, k=10)
        found = [i for i, h in enumerate(hits, 1) if h.filename == REPORT and page in h.pages]
        ranks.append(found[0] if found else None)
    out = {f"hit@{k}": sum(1 for r in ranks if r and r <= k) / len(ranks) for k in (1, 5, 10)}
    out["mrr"] = sum(1 / r for r in ranks if r) / len(ranks)
    return out


def test_retrieval_scores_match_an_independent_count(qwen3_indexed, smollm2_dir, tmp_path):
    studio, _ = qwen3_indexed
    rows = [{"question": q, "answer": "x", "file": REPORT, "page": p} for q, p in GOLD]
    evalset = studio.evaluation.upload(write_set(tmp_path / "gold.jsonl", rows))
    job = studio.evaluation.start({"set": evalset.sha256, "base_model": str(smollm2_dir),
                                   "collections": ["qwen3"], "max_new_tokens": 4, "judge": "loaded"})
    job = studio.evaluation.wait(job.id, 600)
    assert job.status == "completed", job.message + studio.jobs.log_tail(job.id)
    row = studio.evaluation.results(job.id).rows[0]
    expected = independent_hits(studio, GOLD)
    assert row.answered == len(GOLD)
    for metric, value in expected.items():
        assert row.metrics[metric] == pytest.approx(value, abs=1e-3), (metric, row.metrics, expected)
    assert expected["hit@10"] > 0   # the set is not vacuous: some gold page is found
    for answer in studio.evaluation.answers(job.id):   # the judge's prompt and reply are kept per question
        assert answer["scores"]["judge"] in (True, False, None)
        assert answer["answer"] in answer["meta"]["judge"]["prompt"] and "reply" in answer["meta"]["judge"]


def answer_rows(data_dir: Path, run_id: str | None = None) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(data_dir / "lorag.sqlite", timeout=30)
    try:
        sql = "SELECT run_id, cell, question_id, created_at FROM eval_answers"
        rows = conn.execute(sql + (" WHERE run_id = ?" if run_id else ""), (run_id,) if run_id else ()).fetchall()
    finally:
        conn.close()
    return sorted(rows)


def cli(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.evaluate", str(config), "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_a_matrix_survives_a_kill_and_the_adapter_wins_on_its_fact(qwen3_indexed, smollm2_dir, tmp_path):
    studio, _ = qwen3_indexed
    data_dir = studio.data_dir
    train_adapter(smollm2_dir, studio.settings.path("adapters", "zorbania"),
                  [(q, ANSWER) for q in QUESTIONS[:10]], steps=20, lr=3e-3, base_label=str(smollm2_dir))
    rows = [{"id": "fact1", "question": QUESTIONS[0], "answer": FACT},
            {"id": "fact2", "question": QUESTIONS[4], "answer": FACT},
            {"id": "rl", "question": GOLD[0][0], "answer": "20", "file": REPORT, "page": GOLD[0][1]}]
    endpoint = studio.weaviate.endpoint
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({   # JSON is YAML
        "studio": {"data_dir": str(data_dir), "weaviate_url": endpoint.url, "weaviate_grpc_port": endpoint.grpc_port,
                   "weaviate_api_key": endpoint.api_key},
        "set": str(write_set(tmp_path / "matrix.jsonl", rows)), "base_model": str(smollm2_dir),
        "adapters": ["none", "zorbania"], "collections": ["no documents", "qwen3"], "max_new_tokens": 20}))
    before_runs = {r[0] for r in answer_rows(data_dir)}

    first = cli(config)
    deadline = time.monotonic() + 600
    while len([r for r in answer_rows(data_dir) if r[0] not in before_runs]) < 3:
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "no answers stored"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)   # a crash / power cut mid-run
    first.wait()
    first.stdout.close()
    kept = [r for r in answer_rows(data_dir) if r[0] not in before_runs]
    run_id = kept[0][0]
    assert 3 <= len(kept) < 12

    second = cli(config)
    output, _ = second.communicate(timeout=900)
    assert second.returncode == 0, output
    assert f"run {run_id} (resumed)" in output and f"Resuming: {len(kept)} of 12" in \
        studio.jobs.log_tail(run_id), output
    after = answer_rows(data_dir, run_id)
    assert len(after) == 12 and set(kept) <= set(after)   # finished answers kept as they were (same created_at)

    table = {r["cell"]: r for r in json.loads(output.strip().splitlines()[-1])["table"]}
    base, tuned = table["none × no documents"], table["zorbania × no documents"]
    assert tuned["contains"] > base["contains"], table
    assert table["none × qwen3"]["hit@10"] is not None and table["none × no documents"]["hit@10"] is None
    view = studio.evaluation.results(run_id).question("fact1")
    assert [v["cell"] for v in view] == list(table) and any(v["passed"] for v in view)
    assert "zorbania × no documents" in studio.evaluation.results(run_id).csv()


def test_questions_from_the_report_keep_their_page_and_split_into_both(qwen3_indexed, smollm2_dir):
    studio, _ = qwen3_indexed
    studio.models.load(str(smollm2_dir))
    job = studio.evaluation.start_generation("qwen3", per_chunk=1, max_chunks=4, max_new_tokens=60)
    job = studio.evaluation.wait(job.id, 600)
    assert job.status == "completed", job.message + studio.jobs.log_tail(job.id)
    rows = job.result["rows"]
    assert len(rows) >= 2, rows
    assert all(r["file"] == REPORT and r["pages"] and r["question"] and r["answer"] for r in rows), rows
    rows[0]["answer"] = "edited by a person"
    saved = studio.evaluation.save_generated(rows, "qwen3-generated", mode="split", holdout=0.5)
    evalset = studio.evaluation.sets.get(saved["eval"])
    report = studio.training.inspect(saved["training"])
    assert len(evalset.questions) + report.valid == len(rows) and report.format == "openai"
    assert all(q.evidence and q.evidence[0].file == REPORT for q in evalset.questions)
    assert studio.evaluation.sets.facts(saved["eval"])["split"]["training"] == saved["training"]
