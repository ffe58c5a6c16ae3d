"""Word stems for keyword search: "cash flow statement" finds "Statement of Cash Flows", "отчёты" finds "отчет".

Weaviate's BM25 matches whole tokens and does not stem, so each chunk also stores its words reduced to their
Snowball stems (the `stems` property, searched instead of the raw text), and a question is stemmed the same way.
The stemmer is chosen by each word's script (Cyrillic: Russian, else English): documents and questions go through
the same function, so they meet on the same stems even where a language's own stemmer would differ.
"""

from __future__ import annotations

import functools
import re

WORD = re.compile(r"\w+")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@functools.lru_cache(maxsize=1)
def _stemmers():
    import snowballstemmer

    return snowballstemmer.stemmer("english"), snowballstemmer.stemmer("russian")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    english, russian = _stemmers()
    word = word.lower().replace("ё", "е")
    return (russian if CYRILLIC.search(word) else english).stemWord(word)


def stem_text(text: str) -> str:
    """The text's words as stems, separated by spaces (what BM25 indexes and is queried with)."""
    return " ".join(stem(w) for w in WORD.findall(text or ""))
