"""A document-level step before the chunk ranking: in a collection of many look-alike documents, find the documents
the question is about, then rank chunks inside them.

A first hybrid search over the whole collection returns a pool of candidate chunks; each document scores the sum of
its best `BEST_PER_DOCUMENT` chunk scores in the pool (one stray chunk does not make a document relevant, several
good ones do). When the leading documents stand out (a score of at least `share` of the best), the final search
runs inside them; else the pool's own order stands. A question that names no document spreads its pool over many
documents, none stands out, and nothing is filtered.
"""

from __future__ import annotations

from collections import defaultdict

BEST_PER_DOCUMENT = 3


def document_scores(rows: list[tuple]) -> dict[str, float]:
    """Weaviate rows (uuid, properties, score, vector) -> document id -> sum of its best chunk scores."""
    per_doc: dict[str, list[float]] = defaultdict(list)
    for _uid, props, score, _vector in rows:
        per_doc[props.get("document_id", "")].append(float(score))
    return {doc: sum(sorted(scores, reverse=True)[:BEST_PER_DOCUMENT]) for doc, scores in per_doc.items()}


def focus_documents(rows: list[tuple], most: int, share: float) -> list[str] | None:
    """The ids of the (at most `most`) documents the pool points to, or None when no document stands out."""
    scores = document_scores(rows)
    if len(scores) <= 1 or most <= 0:
        return None
    ranked = sorted(scores, key=lambda d: -scores[d])
    best = scores[ranked[0]]
    chosen = [d for d in ranked[:most] if scores[d] >= share * best]
    others = ranked[len(chosen):]
    if not others or scores[others[0]] >= share * best:
        return None  # the next document is as strong as the chosen ones: the question is not about a few
    return chosen
