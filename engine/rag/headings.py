"""Chunks under a heading the question names rank higher: "the cash flow statement" is the page headed
"Consolidated Statement of Cash Flows", not the three pages of management's discussion that say "cash flows" more
often. Embeddings of a statement's rows of figures match a question poorly, and a keyword index weighs a heading's
few words like any others; the heading is what a person names.

A chunk's score is multiplied by 1 + boost x the share of its section's words (stems of 4 letters or more, so
"of", "and", "the" do not count) that the question contains. On reports-dev (27 filings, 58 questions, with the
named-documents step) a boost of 2 over a pool of 8 candidates per result raised page hit@5 from 0.379 to 0.448.

Other names of the same section (presets/rag/section-names.yaml) count as the same words: a question about "the
income statement" matches "Consolidated Statements of Operations" as well as it matches "Statements of Income".
"""

from __future__ import annotations

import functools

from engine.presets import load_presets
from engine.rag.stems import WORD, stem

MIN_LETTERS = 4
POOL_PER_RESULT = 8  # Weaviate candidates per page asked for, so that a statement page is in the pool to be raised


def heading_words(text: str) -> set[str]:
    return {stem(w) for w in WORD.findall(text or "") if len(w) >= MIN_LETTERS}


def heading_boosted(rows: list, question: str, boost: float) -> list:
    """Weaviate rows (uuid, properties, score, vector), each raised by the share of its section's words that the
    question has, best first."""
    if boost <= 0:
        return rows
    asked, asked_groups = heading_words(question), named_groups(question)
    raised = []
    for uid, props, score, vector in rows:
        share = named_share(props.get("section") or "", asked, asked_groups)
        raised.append((uid, props, score * (1 + boost * share), vector))
    return sorted(raised, key=lambda row: -row[2])


def named_share(heading: str, asked: set[str], asked_groups: set[int]) -> float:
    """The share of the heading's words the question has, a section name the question calls otherwise included."""
    words = heading_words(heading)
    if not words:
        return 0.0
    matched = asked & words
    for group in (named_groups(heading) & asked_groups) if asked_groups else ():
        matched |= words & _group_words()[group]
    return len(matched) / len(words)


def named_groups(text: str) -> set[int]:
    """The section-name groups (their index) that `text` names with one of their names."""
    stems = " " + " ".join(stem(w) for w in WORD.findall(text or "")) + " "
    return {index for index, names in enumerate(_group_names()) if any(f" {name} " in stems for name in names)}


@functools.lru_cache(maxsize=1)
def _group_names() -> list[list[str]]:
    """Each group's names as their space-separated stems."""
    groups = [data.get("groups") or [] for data in load_presets("rag").values() if data.get("kind") == "section-names"]
    return [[" ".join(stem(w) for w in WORD.findall(str(name))) for name in group] for part in groups for group in part]


@functools.lru_cache(maxsize=1)
def _group_words() -> list[set[str]]:
    return [{w for name in names for w in name.split() if len(w) >= MIN_LETTERS} for names in _group_names()]
