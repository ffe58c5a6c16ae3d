"""Who is on this page: the signed-in user (gr.Request.username) as owner of chats and collections, and the key
their generation requests count against (engine.ratelimit).

With logins on (--auth, --auth-file, the generated --share login) each person sees only their own chats and
collections (plus shared collections). Without logins the studio has one person: they see everything and
what they create belongs to ''.
"""

from __future__ import annotations

import gradio as gr

from engine.ratelimit import RateLimited, person_key
from engine.studio import Studio


def username(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""


def viewer(studio: Studio, request: gr.Request | None) -> str | None:
    """The owner filter for what this page may see: the signed-in user with logins on, else None (everything)."""
    if not studio.access.login_required:
        return None
    return username(request)


def owner(studio: Studio, request: gr.Request | None) -> str:
    """Who owns what this page creates ('' without logins)."""
    return viewer(studio, request) or ""


def language_key(studio: Studio, request: gr.Request | None) -> str:
    """Where this person's language choice is kept (one for everybody without logins)."""
    who = owner(studio, request)
    return f"language.{who}" if who else "language"


def chosen_language(studio: Studio, request: gr.Request | None) -> str:
    """The language this person chose in Settings ('browser': follow the browser's)."""
    return studio.store.get_setting(language_key(studio, request), "browser")


def choose_language(studio: Studio, request: gr.Request | None, language: str) -> None:
    studio.store.set_setting(language_key(studio, request), language)


def rate_key(request: gr.Request | None) -> str:
    client = getattr(request, "client", None) if request is not None else None
    return person_key(username(request), getattr(client, "host", None))


def count_generation(studio: Studio, request: gr.Request | None) -> None:
    """Count one generation against this person's rate limit (raises RateLimited, a LoragError, when over)."""
    studio.limiter.check(rate_key(request))


def over_limit(studio: Studio, request: gr.Request | None) -> RateLimited | None:
    """The refusal the next generation would get, without counting one."""
    return studio.limiter.refusal(rate_key(request))


# One model serves everybody: the Notebook's and Compare's generation events share this concurrency group, so
# Gradio's queue runs one at a time and shows the others their place in the queue.
GENERATION_QUEUE = dict(concurrency_limit=1, concurrency_id="generation")

# Chat replies go straight to the model's own line (engine.models.turns), which API requests join too: Gradio's
# queue would count only the page's events, so a person behind API requests would wait unseen. The bubble says the
# place in the model's line instead ("Waiting for the model: 2 request(s) ahead"); Stop takes a reply out of it.
# The limit only bounds the page's threads that wait in that line.
CHAT_QUEUE = dict(concurrency_limit=16, concurrency_id="chat")
