"""Scores a person can check by hand: normalized exact match, contains-reference, token F1, numbers compared
as numbers, and retrieval page hit@k / MRR against gold evidence.

Normalization follows SQuAD's: lower case, no punctuation, no articles, single spaces. Numbers: "1,577",
"1577.0" and "$1,577" are one value; a scale word (thousand, million, billion, %) is the unit, and two numbers
that both name a unit must name the same one ("$1,577 million" = "1,577" but != "1,577 billion").
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

ARTICLES = re.compile(r"\b(a|an|the)\b")
NUMBER = re.compile(r"(?<![\w.])[-−]?\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|percent|thousand|million|"
                    r"billion|trillion|[kmb]n?\b)?", re.IGNORECASE)
UNITS = {"%": "%", "percent": "%", "thousand": "k", "k": "k", "million": "m", "m": "m", "mn": "m",
         "billion": "b", "b": "b", "bn": "b", "trillion": "t"}
HIT_KS = (1, 5, 10)


def normalize(text: str) -> str:
    text = (text or "").lower()
    text = "".join(" " if ch in string.punctuation else ch for ch in text)
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(answer: str, reference: str) -> bool:
    return normalize(answer) == normalize(reference)


def contains(answer: str, reference: str) -> bool:
    ref = normalize(reference)
    return bool(ref) and f" {ref} " in f" {normalize(answer)} "


def token_f1(answer: str, reference: str) -> float:
    got, want = normalize(answer).split(), normalize(reference).split()
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str   # "" when the text names none

    def same_as(self, other: "Quantity") -> bool:
        if self.unit and other.unit and self.unit != other.unit:
            return False
        return abs(self.value - other.value) <= 1e-6 * max(1.0, abs(self.value))


def numbers_in(text: str) -> list[Quantity]:
    out = []
    for match in NUMBER.finditer(text or ""):
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3) or ""
        sign = -1.0 if match.group(0).lstrip()[:1] in "-−" else 1.0
        out.append(Quantity(sign * float(whole.replace(",", "") + fraction), UNITS.get(unit.lower(), "")))
    return out


def numbers_match(answer: str, reference: str) -> bool | None:
    """None when the reference holds no number; else whether every number of the reference is in the answer
    (a sign is ignored: "(1,577)" in a statement and "-1577" are one amount)."""
    wanted = numbers_in(reference)
    if not wanted:
        return None
    got = [Quantity(abs(q.value), q.unit) for q in numbers_in(answer)]
    return all(any(Quantity(abs(w.value), w.unit).same_as(g) for g in got) for w in wanted)


def answer_scores(answer: str, reference: str) -> dict[str, Any]:
    numbers = numbers_match(answer, reference)
    found = contains(answer, reference) or bool(numbers)
    return {"exact": exact_match(answer, reference), "contains": found, "f1": round(token_f1(answer, reference), 4),
            "numbers": numbers, "passed": found}


# --- retrieval ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    file: str    # "" when only pages are given
    pages: tuple[int, ...]

    def matches(self, filename: str, pages: Sequence[int]) -> bool:
        if self.file and _base(self.file) != _base(filename):
            return False
        return not self.pages or bool(set(self.pages) & set(int(p) for p in pages))


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].lower()


def first_rank(evidence: Sequence[Evidence], ranked: Sequence[tuple[str, Sequence[int]]]) -> int:
    """1-based rank of the first retrieved (filename, pages) that matches any evidence; 0 when none does."""
    for rank, (filename, pages) in enumerate(ranked, 1):
        if any(e.matches(filename, pages) for e in evidence):
            return rank
    return 0


def retrieval_scores(rank: int) -> dict[str, float]:
    scores = {f"hit@{k}": float(0 < rank <= k) for k in HIT_KS}
    scores["mrr"] = 1.0 / rank if rank else 0.0
    return scores
