"""Serving the API on the page's own server (and so through the --share link too).

Gradio's launch() builds its FastAPI app from `app_kwargs`; FastAPI takes a `routes` list, so the API goes in
as one Mount at /v1, registered before any of Gradio's routes and ready the moment the server answers. The
mounted app keeps its own middleware (credentials) and error handlers, so Gradio's routes are untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Mount

if TYPE_CHECKING:
    from engine.studio import Studio

API_PREFIX = "/v1"


def api_enabled(studio: "Studio") -> bool:
    """--api, or an --api-key (nobody sets a key for an API they do not want)."""
    return bool(studio.settings.api or studio.settings.api_key)


def api_routes(studio: "Studio") -> list[BaseRoute]:
    """[Mount('/v1', the API)] when the API is on, else []."""
    if not api_enabled(studio):
        return []
    from engine.api.app import create_api_app

    return [Mount(API_PREFIX, app=create_api_app(studio), name="openai-api")]


def api_app_kwargs(studio: "Studio") -> dict[str, Any]:
    """The `app_kwargs` for Gradio's launch()."""
    routes = api_routes(studio)
    return {"routes": routes} if routes else {}


def api_summary(studio: "Studio", local_url: str, share_url: str = "") -> str:
    """One line for the terminal: where the API is and what it needs."""
    if not api_enabled(studio):
        return ""
    needs = []
    if studio.settings.api_key:
        needs.append("the --api-key as bearer token")
    if studio.access.login_required:
        needs.append("a login (HTTP Basic, or user:password as bearer token)")
    where = f"{local_url.rstrip('/')}{API_PREFIX}"
    if share_url:
        where += f" and {share_url.rstrip('/')}{API_PREFIX}"
    return f"OpenAI-compatible API at {where}: " + (f"needs {' or '.join(needs)}." if needs else
                                                     "no key needed on this machine.")
