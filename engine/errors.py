"""The one error type a person can cause, with a message written for that person."""

from __future__ import annotations

from typing import Any


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
