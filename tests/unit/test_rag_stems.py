"""Stems for BM25: inflected forms meet, in English and Russian, whatever the case."""

from __future__ import annotations

from engine.rag.stems import stem_text


def test_english_and_russian_forms_meet_on_their_stems():
    assert stem_text("Consolidated Statements of Cash Flows") == stem_text("consolidated statement of cash flow")
    assert stem_text("capital expenditures") == stem_text("Capital Expenditure")
    assert stem_text("Отчёты о движении денежных средств") == stem_text("отчет о движении денежного средства")


def test_mixed_scripts_and_numbers_are_kept_apart():
    assert stem_text("Выручка 3M за 2018 год: 1,577").split() == ["выручк", "3m", "за", "2018", "год", "1", "577"]
