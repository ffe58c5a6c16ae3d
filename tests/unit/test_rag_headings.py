"""Chunks under a heading the question names rank higher."""

from engine.rag.headings import heading_boosted, heading_words, named_groups, named_share


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


def test_another_name_of_the_section_counts_as_the_name_the_question_uses():
    rows = [row("flows", "Consolidated Statements of Cash Flows", 0.9),
            row("operations", "Consolidated Statements of Operations", 0.6)]
    out = heading_boosted(rows, "What restructuring costs does the income statement show?", 2.0)
    assert [r[0] for r in out] == ["operations", "flows"]
    assert out[0][2] == 0.6 * (1 + 2.0 * 2 / 3)   # statement and operations of its three words
    assert out[1][2] == 0.9 * (1 + 2.0 * 1 / 4)   # only "statement": no other name of an income statement


def test_russian_names_of_a_statement_meet_in_any_case_ending():
    assert named_share("Отчёт о прибылях и убытках", heading_words("Какая выручка в отчёте о финансовых результатах?"),
                       named_groups("Какая выручка в отчёте о финансовых результатах?")) == 1.0
    assert named_groups("бухгалтерского баланса") == named_groups("Statement of Financial Position") != set()


def test_a_heading_that_only_shares_a_word_with_another_name_gets_no_more_than_that_word():
    question = "Basing your judgments off of the balance sheet, what are accounts payable?"
    assert named_share("Report of Financial Position Risk", heading_words(question), named_groups(question)) == 0.0
    assert named_groups("P&L") == named_groups("Consolidated Statements of Earnings")
