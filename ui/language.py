"""The language switch in Settings: kept per person (ui.people), applied in the browser on every page load.

Gradio picks the page's language from the browser (navigator.language) and keeps no choice of its own across a
reload, so the page-load event reads this person's choice and hands it to Gradio's own locale switch
(`changeLocale`, the one its footer's settings panel uses). A change saves the choice and reloads the page, so
the texts the server writes (status bar, tables, toasts) follow it too.
"""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio
from ui.i18n import BROWSER, DEFAULT_LANGUAGE, LANGUAGES, t
from ui.people import choose_language, chosen_language

# Gradio's frontend module that exports changeLocale has a hashed name: found among the loaded scripts.
APPLY_LOCALE_JS = """
async (choice) => {
  const spoken = %s;
  const browser = (navigator.language || "%s").split("-")[0];
  const locale = choice && choice !== "%s" ? choice : (spoken.includes(browser) ? browser : "%s");
  const core = performance.getEntriesByType("resource").map((e) => e.name)
    .find((name) => /\\/assets\\/core-[^/]+\\.js$/.test(name));
  if (core) { (await import(core)).changeLocale(locale); }
  document.documentElement.setAttribute("data-lorag-locale", locale);
  return choice;
}
""" % (list(LANGUAGES), DEFAULT_LANGUAGE, BROWSER, DEFAULT_LANGUAGE)
RELOAD_JS = "() => { window.location.reload(); }"
NAMES = {"en": "English", "ru": "Русский"}   # each language in its own words, the same on every page


def language_choices() -> list[tuple[object, str]]:
    return [(t("settings.language_browser"), BROWSER), *((NAMES[code], code) for code in LANGUAGES)]


def create_language_control(studio: Studio) -> gr.Dropdown:
    control = gr.Dropdown(choices=language_choices(), value=BROWSER, label=t("settings.language"),
                          info=t("settings.language_info"), elem_id="settings-language")

    def on_open(request: gr.Request) -> str:
        return chosen_language(studio, request)

    def on_choose(request: gr.Request, choice: str) -> None:
        choose_language(studio, request, choice if choice in LANGUAGES else BROWSER)

    gr.on(None, on_open, None, control, queue=False).then(None, control, None, js=APPLY_LOCALE_JS)
    control.input(on_choose, control, None, queue=False).then(None, None, None, js=RELOAD_JS)
    return control
