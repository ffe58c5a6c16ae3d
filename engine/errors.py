"""The one error type a person can cause, with a message written for that person."""


class LoragError(Exception):
    """An error the user can act on. `str(err)` is shown in the UI as is.

    `hint` is an optional next step ("install Go", "use a smaller batch").
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message
