"""The one error type a person can cause, with a message written for that person."""

from __future__ import annotations

from typing import Any, Iterable


class LoragError(Exception):
    """An error the user can act on. `str(err)` is shown in the UI as is (and the API answers with it, in English).

    `hint` is an optional next step ("install Go", "use a smaller batch"). `key` and `params` name the message in
    the page's catalogues (ui/locales: "error.<key>", filled with `params`), `hint_key` the hint's, so the page
    can say it in the person's language; without a key the page shows the English text.
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
