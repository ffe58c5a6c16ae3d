"""The page's sign-in (Gradio's /login) with the client's address, so wrong passwords count per login and client.

Gradio calls its `auth` callable with the user name and password only. A small ASGI middleware keeps the
address of the request in a context variable that the (async) check reads: it runs in the same task as the
login route. A short slow-down is waited out inside the request (a person who mistyped once more just waits);
a longer one, or a lock, answers "wrong" at once without checking the password.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Awaitable, Callable

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.access import AccessPlan

WAIT_IN_REQUEST_S = 5.0
_client = contextvars.ContextVar("lorag_login_client", default="")


class RemembersClient:
    """ASGI middleware: the request's client address, for `page_login`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _client.set((scope.get("client") or ("",))[0] or "")
        await self.app(scope, receive, send)


def page_login(access: AccessPlan, wait_limit: float = WAIT_IN_REQUEST_S) -> Callable[[str, str], Awaitable[bool]]:
    """The `auth` callable for Gradio's launch()."""

    async def check(username: str, password: str) -> bool:
        client = _client.get()
        refusal = access.guard.refusal(username, client)
        if refusal is not None and not refusal.locked and refusal.retry_after <= wait_limit:
            await asyncio.sleep(refusal.retry_after)
        return access.check(username, password, client)

    return check


def login_app_kwargs(access: AccessPlan) -> dict:
    """What Gradio's FastAPI app needs for `page_login` (nothing without logins)."""
    return {"middleware": [Middleware(RemembersClient)]} if access.login_required else {}
