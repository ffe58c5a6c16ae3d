"""The language switch in Settings: kept per person (ui.people), applied in the browser on every page load.

Gradio picks the page's language from the browser (navigator.language) and keeps no choice of its own across a
reload, so the page-load event reads this person's choice and hands it to Gradio's own locale switch
(`changeLocale`, the one its footer's settings panel uses). A change saves the choice and reloads the page, so
the texts the server writes (status bar, tables, toasts) follow it too. Gradio's switch re-translates every
component but not the names in a tab bar (only the open tab's): the page load sends those names from the server.
"""

from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData

from engine.studio import Studio
from ui.i18n import BROWSER, DEFAULT_LANGUAGE, LANGUAGES, say, t
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


def relabel_tabs_on_load(studio: Studio, app: gr.Blocks) -> None:
    """With a language chosen in Settings, each tab's name comes from the server on page load."""
    tabs = [block for block in app.blocks.values() if isinstance(block, gr.Tab) and isinstance(block.label, I18nData)]

    def relabel(request: gr.Request) -> list:
        if chosen_language(studio, request) not in LANGUAGES:
            return [gr.skip()] * len(tabs)
        return [gr.update(label=say(tab.label.key)) for tab in tabs]

    app.load(relabel, None, tabs, queue=False, show_progress="hidden")
