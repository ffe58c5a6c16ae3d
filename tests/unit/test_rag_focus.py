"""The document step: a first search's pool points to the documents a question is about, or to none."""

from __future__ import annotations

from engine.rag.focus import document_scores, focus_documents


def rows(*pairs):
    return [(f"u{i}", {"document_id": doc}, score, []) for i, (doc, score) in enumerate(pairs)]


def test_documents_score_the_sum_of_their_best_three_chunks():
    pool = rows(("a", 0.9), ("a", 0.8), ("b", 1.0), ("a", 0.7), ("a", 0.6))
    assert document_scores(pool) == {"a": 0.9 + 0.8 + 0.7, "b": 1.0}


def test_a_pool_that_points_to_one_document_focuses_on_it():
    pool = rows(("a", 0.9), ("a", 0.8), ("a", 0.7), ("b", 0.5), ("c", 0.4))
    assert focus_documents(pool, most=2, share=0.6) == ["a"]


def test_two_strong_documents_are_both_kept():
    pool = rows(("a", 0.9), ("b", 0.85), ("a", 0.8), ("b", 0.8), ("c", 0.3))
    assert focus_documents(pool, most=2, share=0.6) == ["a", "b"]


def test_no_focus_when_many_documents_are_alike_or_there_is_one():
    spread = rows(("a", 0.9), ("b", 0.88), ("c", 0.87), ("d", 0.86))
    assert focus_documents(spread, most=2, share=0.6) is None
    assert focus_documents(rows(("a", 0.9), ("a", 0.5)), most=2, share=0.6) is None
    assert focus_documents(spread, most=0, share=0.6) is None
