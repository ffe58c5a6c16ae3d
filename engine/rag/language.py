"""The languages a document is written in, and whether a collection's embedding model covers them.

Detection runs py3langid (a naive Bayes model over byte n-grams, shipped in its wheel, deterministic) on a
sample of a document's passages (its elements joined to about 1000 characters), not on all of its text: a
300-page document costs a few tens of milliseconds.
Passages that are mostly digits (tables, references) or that the model is unsure about do not vote.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

SAMPLES = 24               # passages that vote, spread over the document
PASSAGE_CHARS = 1000       # each is cut to this length
MIN_PASSAGE_CHARS = 120    # shorter ones (titles, captions) say too little
MIN_LETTER_SHARE = 0.5     # below this a passage is a table or a formula
MIN_CONFIDENCE = 0.9       # a vote counts only when the model is this sure
SECOND_LANGUAGE_SHARE = 0.2
MULTILINGUAL = "multilingual"


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in identifier.nb_classes if len(code) == 2])  # ISO 639-1 only
    return identifier


def detect_languages(texts: Sequence[str]) -> list[str]:
    """ISO 639-1 codes of the languages of a document's passages, main one first; [] when it cannot tell."""
    votes = Counter(_vote(passage) for passage in _sample(texts))
    votes.pop(None, None)
    if not votes:
        whole = _vote(" ".join(texts)[:PASSAGE_CHARS * 4], min_confidence=0.4, min_chars=1)
        return [whole] if whole else []
    total = sum(votes.values())
    main = votes.most_common(1)[0][0]
    others = [code for code, n in votes.most_common()[1:] if n >= 2 and n / total >= SECOND_LANGUAGE_SHARE]
    return [main, *others]


def _sample(texts: Sequence[str]) -> list[str]:
    passages = [t for t in _passages(texts) if len(t) >= MIN_PASSAGE_CHARS and _letter_share(t) >= MIN_LETTER_SHARE]
    step = max(1, len(passages) / SAMPLES)
    return [passages[int(i * step)] for i in range(min(SAMPLES, len(passages)))]


def _passages(texts: Sequence[str]) -> list[str]:
    """Consecutive texts joined into passages (parsers give lines as well as paragraphs): up to PASSAGE_CHARS
    long, shorter in a short document so that it still has SAMPLES of them."""
    target = min(PASSAGE_CHARS, max(2 * MIN_PASSAGE_CHARS, sum(map(len, texts)) // SAMPLES))
    out, current, size = [], [], 0
    for text in texts:
        current.append(text)
        size += len(text) + 1
        if size >= target:
            out.append(" ".join(current)[:PASSAGE_CHARS])
            current, size = [], 0
    if current:
        out.append(" ".join(current))
    return out


def _letter_share(text: str) -> float:
    return sum(c.isalpha() for c in text) / max(1, len(text))


def _vote(text: str, min_confidence: float = MIN_CONFIDENCE, min_chars: int = MIN_PASSAGE_CHARS) -> str | None:
    if sum(c.isalpha() for c in text) < min_chars:
        return None
    code, confidence = _identifier().classify(text)
    return code if confidence >= min_confidence else None


def language_name(code: str) -> str:
    """'ru' -> 'Russian'; an unknown code comes back as it is."""
    from iso639 import Language, LanguageNotFoundError

    try:
        return Language.from_part1(code).name
    except LanguageNotFoundError:
        return code


def covers(model_languages: Iterable[str] | None, code: str) -> bool:
    """Whether a model trained for `model_languages` (codes, or 'multilingual') embeds text in `code` well.
    A model whose languages are not known is given the benefit of the doubt."""
    languages = list(model_languages or [])
    return not languages or MULTILINGUAL in languages or code in languages


@dataclass
class LanguageWarning:
    """Documents of a collection in languages its embedding model does not cover, and the presets that do."""

    model: str
    model_languages: list[str]
    documents: dict[str, list[str]] = field(default_factory=dict)   # filename -> codes the model misses
    suggestions: list[str] = field(default_factory=list)            # preset names, shipped ones first
    offline: list[str] = field(default_factory=list)                # those of them that need no download

    @property
    def languages(self) -> list[str]:
        return sorted({code for codes in self.documents.values() for code in codes})

    def message(self) -> str:
        known = self.model_languages
        names = (f"{', '.join(language_name(c) for c in known)} only" if len(known) <= 3
                 else f"{len(known)} languages")
        docs = "; ".join(f"{name} ({', '.join(language_name(c) for c in codes)})"
                         for name, codes in sorted(self.documents.items()))
        text = (f"The embedding model {self.model} covers {names}, and {len(self.documents)} document(s) "
                f"are in others: {docs}. Vector search on them is poor (keyword search still works).")
        if not self.suggestions:
            return text
        text += " Switch the collection to a multilingual model and re-index:"
        if self.offline:
            text += f" {', '.join(self.offline)} {'works' if len(self.offline) == 1 else 'work'} offline"
        downloads = [name for name in self.suggestions if name not in self.offline]
        if downloads:
            text += f"{';' if self.offline else ''} {', '.join(downloads)} need a download first"
        return text + "."


def language_warning(model: str, documents: Iterable[Any]) -> LanguageWarning | None:
    """The warning for a collection whose vectors come from `model` (a preset name) over `documents`
    (engine.rag.types.Document, their meta holding "languages"), or None when the model covers them all."""
    from engine.rag.config import embedding_presets

    presets = embedding_presets()
    if model not in presets:
        return None  # a local model folder: its languages are not known
    model_languages = list(presets[model].languages or [])
    missed = {}
    for doc in documents:
        codes = [c for c in (doc.meta or {}).get("languages") or [] if not covers(model_languages, c)]
        if codes:
            missed[doc.filename] = codes
    if not missed:
        return None
    warning = LanguageWarning(model=model, model_languages=model_languages, documents=missed)
    warning.suggestions = _suggestions(presets, warning.languages, model)
    warning.offline = [name for name in warning.suggestions if not presets[name].needs_download]
    return warning


def _suggestions(presets: dict[str, Any], codes: list[str], current: str) -> list[str]:
    fitting = [p for name, p in presets.items()
               if name != current and p.languages and all(covers(p.languages, c) for c in codes)]
    return [p.name for p in sorted(fitting, key=lambda p: (p.needs_download, p.name))]
