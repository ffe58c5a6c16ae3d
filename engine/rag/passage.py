"""Which page of a chunk holds the passage that matters, for a chunk that runs over a page break.

A chunk keeps the character offset where each of its pages begins (`page_starts`, parallel to `pages`). The page
that matters is the one whose part of the chunk shares the most words with the text in focus: the question for a
search hit, the answer for a citation. A citation then opens that page, not merely the chunk's first one.
"""

from __future__ import annotations

import re
from typing import Sequence

WORD = re.compile(r"\w{3,}")


def segments(text: str, pages: Sequence[int], page_starts: Sequence[int]) -> list[tuple[int, str]]:
    """(page, that page's part of the text); the whole text on the first page when offsets are missing."""
    if not pages:
        return []
    if len(page_starts) != len(pages) or len(pages) == 1:
        return [(pages[0], text)]
    bounds = [*page_starts[1:], len(text)]
    return [(page, text[start:end]) for page, start, end in zip(pages, page_starts, bounds, strict=True)]


def passage_page(text: str, pages: Sequence[int], page_starts: Sequence[int], focus: str) -> int | None:
    """The page of the chunk whose part shares the most words with `focus` (the first page on a tie)."""
    parts = segments(text, pages, page_starts)
    if not parts:
        return None
    wanted = {w.lower() for w in WORD.findall(focus or "")}
    best = max(parts, key=lambda part: len(wanted & {w.lower() for w in WORD.findall(part[1])}))
    shared = len(wanted & {w.lower() for w in WORD.findall(best[1])})
    return best[0] if shared else parts[0][0]


def page_starts_of(chunk_text: str, originals: Sequence[tuple[int | None, str]]) -> list[int]:
    """Where each page begins in a chunk's text, from its original elements (page, text) in order."""
    starts: dict[int, int] = {}
    cursor = 0
    for page, piece in originals:
        found = chunk_text.find(piece.strip()[:80], cursor) if piece.strip() else -1
        if found < 0:
            continue
        cursor = found
        if page and page not in starts:
            starts[page] = found
    return [starts[p] for p in sorted(starts)] if starts else []
