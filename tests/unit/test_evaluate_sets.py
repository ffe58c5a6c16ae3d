"""Evaluation sets: parsed with line-numbered errors, stored by content hash, listed and deleted."""

from __future__ import annotations

import json

import pytest

from engine.errors import LoragError
from engine.evaluate.config import Cell, EvalConfig
from engine.evaluate.sets import EvalSets


def write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_rows_errors_name_their_line(tmp_path):
    upload = write(tmp_path / "qa.jsonl", [
        {"question": "Capital of Zorbania?", "answer": "Quexalot"},
        {"question": "No answer here"},
        "{not json",
        {"id": "q9", "question": "Capex?", "answer": "$1577.00", "file": "3M.pdf", "page": 60},
        {"question": "Where?", "answer": "x", "evidence": [{"file": "a.pdf", "page": 2}, {"file": "a.pdf",
                                                                                          "page": 3}]},
        {"question": "Bad page", "answer": "x", "page": "two"},
    ])
    parsed = EvalSets(tmp_path / "sets", 1 << 20).add(upload)
    assert [q.id for q in parsed.questions] == ["q1", "q9", "q5"]
    assert parsed.questions[1].evidence[0].file == "3M.pdf" and parsed.questions[1].evidence[0].pages == (60,)
    assert [e.pages for e in parsed.questions[2].evidence] == [(2,), (3,)]
    assert any(e.startswith("line 2:") and "answer" in e for e in parsed.errors), parsed.errors
    assert any(e.startswith("line 3:") for e in parsed.errors), parsed.errors
    assert any(e.startswith("line 6:") and "page" in e for e in parsed.errors), parsed.errors


def test_stored_by_hash_listed_and_deleted(tmp_path):
    sets = EvalSets(tmp_path / "sets", 1 << 20)
    first = sets.add(write(tmp_path / "a.jsonl", [{"question": "q?", "answer": "a"}]))
    again = sets.add(write(tmp_path / "copy.jsonl", [{"question": "q?", "answer": "a"}]))
    assert first.sha256 == again.sha256 and len(sets.list()) == 1
    sets.delete(first.sha256)
    assert sets.list() == []
    with pytest.raises(LoragError):
        sets.get(first.sha256)


def test_a_file_without_questions_is_refused(tmp_path):
    with pytest.raises(LoragError, match="no usable question"):
        EvalSets(tmp_path / "sets", 1 << 20).add(write(tmp_path / "x.jsonl", [{"text": "hello"}]))


def test_matrix_cells():
    config = EvalConfig.from_dict({"set": "abc", "adapters": ["", "zorb"], "collections": ["", "docs"]})
    assert [c.key for c in config.cells()] == ["|", "|docs", "zorb|", "zorb|docs"]
    assert Cell.of("zorb|").label == "zorb × no documents"
    with pytest.raises(LoragError, match="Unknown"):
        EvalConfig.from_dict({"set": "abc", "modle": "x"})


def test_the_labels_a_person_writes_mean_the_base_model_and_no_documents():
    config = EvalConfig.from_labels({"set": 1234, "adapters": ["none", None, "zorb"],
                                     "collections": ["no documents", "docs"]})
    assert config.set == "1234" and config.adapters == ["", "", "zorb"] and config.collections == ["", "docs"]
    assert [c.label for c in config.cells()] == ["none × no documents", "none × docs", "zorb × no documents",
                                                 "zorb × docs"]


def test_generated_pairs_are_read_from_the_models_reply():
    from engine.evaluate.generate import parse_pairs

    reply = ("Question: What is the purpose of the General RL stage?\n\nAnswer: To enhance the models' stability.\n"
             "Question: How many tasks?\nAnswer: 20\nQuestion: no answer given")
    assert parse_pairs(reply) == [("What is the purpose of the General RL stage?",
                                   "To enhance the models' stability."), ("How many tasks?", "20")]
