"""Chunks under a heading the question names rank higher."""

from engine.rag.headings import heading_boosted, heading_words


def row(uid, section, score):
    return uid, {"section": section}, score, []


def test_heading_words_are_stems_of_four_letters_or_more():
    assert heading_words("Consolidated Statement of Cash Flows") == {"consolid", "statement", "cash", "flow"}
    assert heading_words("") == set()


def test_the_page_headed_by_what_the_question_names_overtakes_a_better_scored_discussion():
    rows = [row("mdna", "Financial Condition and Liquidity", 0.9),
            row("statement", "Consolidated Statement of Cash Flows", 0.6),
            row("bare", "", 0.5)]
    out = heading_boosted(rows, "What capital expenditure does the cash flow statement show?", 2.0)
    assert [r[0] for r in out] == ["statement", "mdna", "bare"]
    assert out[0][2] == 0.6 * (1 + 2.0 * 3 / 4)  # statement, cash, flow of its four words
    assert out[1][2] == 0.9 and out[2][2] == 0.5


def test_no_boost_changes_nothing():
    rows = [row("a", "Cash Flows", 0.2), row("b", "Other", 0.9)]
    assert heading_boosted(rows, "cash flows", 0.0) == rows
