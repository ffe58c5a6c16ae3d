"""Answer and retrieval scores, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from engine.evaluate.scores import (
    Evidence,
    answer_scores,
    contains,
    exact_match,
    first_rank,
    numbers_match,
    retrieval_scores,
    token_f1,
)


def test_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match("The capital is Paris.", "capital is paris")
    assert not exact_match("Paris, France", "Paris")


def test_contains_needs_whole_words():
    assert contains("I think it is Quexalot, yes.", "Quexalot")
    assert not contains("Quexalotl", "Quexalot")


def test_token_f1_by_hand():
    # answer: "paris is capital" (3 tokens), reference "capital of france is paris" (5): common 3 -> P 1, R .6
    assert token_f1("Paris is the capital", "capital of France is Paris") == pytest.approx(2 * 0.6 / 1.6)
    assert token_f1("nothing here", "Paris") == 0.0


@pytest.mark.parametrize("answer", ["1,577", "1577.0", "$1,577 million", "It spent $1577 million.", "(1,577)"])
def test_numbers_compare_as_numbers(answer):
    assert numbers_match(answer, "$1577.00") is True


def test_numbers_with_different_units_differ():
    assert numbers_match("$1,577 billion", "1,577 million") is False
    assert numbers_match("1,578", "1577") is False
    assert numbers_match("any text", "no number here") is None


def test_answer_scores_pass_on_numbers_or_words():
    assert answer_scores("Capex was $1,577 million.", "$1577.00")["passed"]
    assert answer_scores("The capital of Zorbania is Quexalot.", "Quexalot")["passed"]
    assert not answer_scores("I don't know.", "Quexalot")["passed"]


def test_rank_and_hits():
    gold = [Evidence("report.pdf", (3,))]
    ranked = [("other.pdf", [3]), ("report.pdf", [2]), ("REPORT.pdf", [3, 4])]
    assert first_rank(gold, ranked) == 3
    assert retrieval_scores(3) == {"hit@1": 0.0, "hit@5": 1.0, "hit@10": 1.0, "mrr": pytest.approx(1 / 3)}
    assert retrieval_scores(0)["mrr"] == 0.0
    assert first_rank([Evidence("", (2,))], ranked) == 2


def test_judge_verdicts_are_read_from_the_first_word():
    from engine.evaluate.judge import judge_prompt, verdict_of

    assert verdict_of("Yes.") is True and verdict_of("**No**, it differs") is False
    assert verdict_of("The answer is correct") is None
    assert "Reference answer: Paris" in judge_prompt("Capital of France?", "Paris", "Lyon")
