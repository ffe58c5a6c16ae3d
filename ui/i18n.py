"""The page in the person's language: one catalogue per language (ui/locales/<lang>.json, flat key -> text).

Two ways a text reaches the page:
- `t(key)`: a static text of a component (label, info, placeholder, a Button's or Markdown's value). Gradio's own
  i18n (gr.I18n, given to launch) translates it in the browser, in the browser's language or the one Settings set.
- `say(key, **args)`: a text a handler writes (status bar, toasts, tables, errors). Rendered here, in the language
  of the person whose event this is (`current_language`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext
from gradio.i18n import I18nData

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
# What Settings offers: follow the browser, or one language.
BROWSER = "browser"


@cache
def catalogue(language: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


def gradio_i18n() -> gr.I18n:
    return gr.I18n(**{language: catalogue(language) for language in LANGUAGES})


def t(key: str) -> I18nData:
    """A static text for the browser to translate. An unknown key fails when the page is built, not on screen."""
    if key not in catalogue(DEFAULT_LANGUAGE):
        raise KeyError(f"{key} is not in ui/locales/{DEFAULT_LANGUAGE}.json")
    return I18nData(key)


def say(key: str, language: str | None = None, **args: object) -> str:
    """The text of `key` in `language` (default: this event's person's), with `args` filled in."""
    language = language or current_language()
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return text.format(**args) if args else text


def headers(keys: list[str]) -> list[str]:
    """A table's column names in this event's language (Gradio's i18n does not translate Dataframe headers)."""
    return [say(key) for key in keys]


def table(keys: list[str], rows: list[list]) -> dict:
    """A Dataframe's value with its column names in this event's language."""
    return {"headers": headers(keys), "data": rows}


def login_message() -> str:
    """The login page's line in every language at once: Gradio translates its own login texts for the browser,
    but shows a custom message as given (it is rendered before anyone is known)."""
    return " · ".join(dict.fromkeys(say("login.message", language) for language in LANGUAGES))


def best_language(accept_language: str | None) -> str:
    """The first of the browser's languages (an Accept-Language header) that Lorag speaks."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def current_language() -> str:
    """This event's language: the person's choice in Settings, else their browser's (outside an event: English)."""
    request = LocalContext.request.get(None)
    if request is None:
        return DEFAULT_LANGUAGE
    chosen = _chosen_language(request)
    return chosen if chosen in LANGUAGES else best_language(request.headers.get("accept-language"))


def _chosen_language(request: gr.Request) -> str:
    from ui.people import chosen_language  # ui.people imports the engine; keep this module light

    blocks = LocalContext.blocks.get(None)
    studio = getattr(blocks, "lorag_studio", None)
    return chosen_language(studio, request) if studio is not None else BROWSER


def pages_text(pages: list[int]) -> str:
    """engine.rag.types.pages_label in this event's language: 'p. 3', 'pp. 3-5', 'pp. 2, 5'."""
    if not pages:
        return ""
    pages = sorted(set(pages))
    if len(pages) == 1:
        return say("sources.pages_one", page=pages[0])
    if pages == list(range(pages[0], pages[-1] + 1)):
        return say("sources.pages_range", first=pages[0], last=pages[-1])
    return say("sources.pages_list", pages=", ".join(str(p) for p in pages))
