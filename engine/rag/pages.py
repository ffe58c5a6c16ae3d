"""Results by page, not by chunk: a person is shown (and the model is given) distinct pages.

A long report's page is several chunks; left alone, the three chunks of one balance sheet take three of the five
places and push the page that answers the question out. Each page keeps its best-ranked chunk's place, and the
page's other retrieved chunks join its text in reading order, so the answer's context loses nothing.
"""

from __future__ import annotations

from typing import Any

Row = tuple[str, dict[str, Any], float, list[float]]  # Weaviate's (uuid, properties, score, vector), best first


def page_key(uid: str, props: dict[str, Any]) -> tuple:
    """The page a chunk shows; a chunk without pages (plain text) or over several is a result of its own."""
    pages = props.get("pages") or []
    return (props.get("document_id", ""), int(pages[0])) if len(pages) == 1 else (uid,)


def by_page(rows: list[Row], k: int) -> list[Row]:
    """The best `k` distinct pages, in the order of each page's best chunk."""
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(page_key(row[0], row[1]), []).append(row)
    return [_joined(group) for group in list(groups.values())[:k]]


def _joined(group: list[Row]) -> Row:
    best = group[0]
    if len(group) == 1:
        return best
    ordered = sorted(group, key=lambda row: int(row[1].get("chunk_index") or 0))
    text = ""
    for row in ordered:
        text = _joined_text(text, row[1].get("text") or "")
    return best[0], {**best[1], "text": text, "page_starts": [0]}, best[2], best[3]


def _joined_text(before: str, after: str, longest_overlap: int = 400) -> str:
    """`before` then `after`, the text a split chunk repeats from its neighbour (the overlap) written once."""
    if not before:
        return after
    for size in range(min(longest_overlap, len(before), len(after)), 20, -1):
        if before.endswith(after[:size]):
            return before + after[size:]
    return f"{before}\n{after}"
