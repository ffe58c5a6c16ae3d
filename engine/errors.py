"""The one error type a person can cause, with a message written for that person."""

from __future__ import annotations

from typing import Any, Iterable


class LoragError(Exception):
    """An error the user can act on. `str(err)` is shown in the UI as is (and the API answers with it, in English).

    `hint` is an optional next step ("install Go", "use a smaller batch"). `key` and `params` name the message in
    the page's catalogues (ui/locales: "error.<key>", filled with `params`), `hint_key` the hint's, so the page
    can say it in the person's language; without a key the page shows the English text. A param that is itself
    text for the person ("a PNG image", a field's label) is a Phrase, said in the person's language too.
    """

    def __init__(self, message: str, hint: str = "", *, key: str = "", params: dict[str, Any] | None = None,
                 hint_key: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.key = key
        self.params = dict(params or {})
        self.hint_key = hint_key

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def facts(self) -> dict[str, Any]:
        """What the page needs to say this error later in any language, as JSON (a job's per-file table)."""
        if not self.key:
            return {}
        return {"key": self.key, "hint_key": self.hint_key, "params": {k: _fact(v) for k, v in self.params.items()}}

    @classmethod
    def from_facts(cls, text: str, facts: dict[str, Any]) -> "LoragError":
        """The error stored as `text` (its English) and `facts` (see `facts`)."""
        params = {k: _from_fact(v) for k, v in (facts.get("params") or {}).items()}
        return cls(text, key=facts.get("key", ""), params=params, hint_key=facts.get("hint_key", ""))


def _fact(value: Any) -> Any:
    if isinstance(value, Phrases):
        return {"phrases": [_fact(part) for part in value.parts], "separator": value.separator}
    if isinstance(value, Phrase):
        return {"phrase": value.key, "text": str(value), "params": {k: _fact(v) for k, v in value.params.items()}}
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _from_fact(value: Any) -> Any:
    if isinstance(value, dict) and "phrases" in value:
        return Phrases([_from_fact(part) for part in value["phrases"]], value["separator"])
    if isinstance(value, dict) and "phrase" in value:
        return Phrase(value["text"], value["phrase"], {k: _from_fact(v) for k, v in value["params"].items()})
    return value


class Phrase(str):
    """A part of a message that is itself a text for the person ("a PNG image", "Deleting the collection 'x'"):
    the English text, and its key in the catalogues (filled with `params`), so the page says that part in the
    person's language too."""

    key: str
    params: dict[str, Any]

    def __new__(cls, text: str, key: str, params: dict[str, Any] | None = None) -> "Phrase":
        phrase = super().__new__(cls, text)
        phrase.key = key
        phrase.params = dict(params or {})
        return phrase

    def __reduce__(self):
        return Phrase, (str(self), self.key, self.params)


class Phrases(str):
    """Phrases joined into one part of a message ("set epochs or max steps; name the target modules")."""

    parts: tuple[str, ...]
    separator: str

    def __new__(cls, parts: Iterable[str], separator: str = "; ") -> "Phrases":
        parts = tuple(parts)
        joined = super().__new__(cls, separator.join(parts))
        joined.parts = parts
        joined.separator = separator
        return joined

    def __reduce__(self):
        return Phrases, (self.parts, self.separator)
