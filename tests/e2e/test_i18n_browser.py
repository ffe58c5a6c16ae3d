"""The page in the browser's language: with a Russian browser every tab shows the Russian catalogue's texts, with
an English one the English catalogue's; the language chosen in Settings is kept per person, across reloads.
Screenshots of every tab go to test-output/."""

from __future__ import annotations

import pytest

from tests.support.studio_process import StudioProcess
from ui.i18n import catalogue

pytestmark = pytest.mark.browser

TABS = ["chat", "notebook", "documents", "training", "evaluate", "models", "settings"]
TAB_KEYS = ["chat.chat", "notebook.notebook", "documents.documents", "training.training", "evaluate.evaluate",
            "models.models", "settings.settings"]
# Texts each tab shows as it opens: labels, buttons, info texts, placeholders, headings, table headers, and the
# texts the server writes for the person (status lines, tables).
SHOWN = {
    "chat": ["chat.send", "chat.stop", "chat.regenerate", "chat.chats", "chat_settings.system_prompt",
             "chat_documents.answer_from_documents", "chat_settings.swapped_in_for", "chat_view.no_model"],
    "notebook": ["notebook.text", "notebook.generate", "notebook.sampling_preset", "notebook.temperature_0_greedy"],
    "documents": ["documents.collection", "documents.create_collection", "documents.index_files",
                  "documents.files_pdf_txt", "documents.query", "table.doc.chunks", "table.doc.ocr_pages"],
    "training": ["training.start_training", "training.2_base_model", "field.training.lora_rank.label",
                 "field.training.learning_rate.info", "training.show_config", "table.job.progress"],
    "evaluate": ["evaluate.run_the_matrix", "evaluate.base_model", "evaluate.no_documents",
                 "evaluate.llm_judge_or"],
    "models": ["models.load", "models.unload", "models.load_from", "models.kind_folder", "models.no_model",
               "table.adapter.fits", "models_adapters.import_folder"],
    "settings": ["settings.language", "settings.restart_weaviate", "settings.login_none"],
}
PLACEHOLDERS = {"chat": "chat_files.message_enter_to", "documents": "documents.what_does_the"}


def visible_text(text: str) -> str:
    """A catalogue text as the page shows it: the Markdown's own marks and heading hashes are not shown."""
    return text.lstrip("#").replace("**", "").strip()


def open_page(browser, url: str, locale: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url, wait_until="load")
    page.locator("[data-testid=status-model]").wait_for()
    page.wait_for_timeout(1000)
    return context, page


def tab_names(page) -> list[str]:
    return [name.strip() for name in page.get_by_role("tab").all_inner_texts()][: len(TABS)]


@pytest.mark.parametrize(("locale", "language"), [("ru-RU", "ru"), ("en-US", "en")])
def test_every_tab_shows_the_catalogue_of_the_browser_s_language(studio_server, browser, test_output, locale,
                                                                 language):
    texts = catalogue(language)
    context, page = open_page(browser, studio_server.url, locale)
    try:
        assert tab_names(page) == [texts[key] for key in TAB_KEYS]
        status = page.locator("#lorag-status").inner_text()
        assert texts["status.model"].format(model=texts["status.no_model"]) in status
        for tab, key in zip(TABS, TAB_KEYS, strict=True):
            page.get_by_role("tab", name=texts[key], exact=True).click()
            panel = page.locator(f"#tab-{tab}")
            panel.wait_for(state="visible")
            page.wait_for_timeout(500)
            shown = panel.inner_text()
            missing = [key for key in SHOWN[tab] if visible_text(texts[key]) not in shown]
            assert missing == [], (tab, missing)
            if tab in PLACEHOLDERS:
                assert panel.get_by_placeholder(texts[PLACEHOLDERS[tab]]).count() >= 1
            page.screenshot(path=str(test_output / f"i18n-{language}-{tab}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    data = tmp_path_factory.mktemp("i18n-people") / "data"
    server = StudioProcess(data, args=["--no-weaviate", "--auth", "ann:pw-ann-1,bob:pw-bob-2"]).start()
    yield server
    server.stop()


def sign_in(browser, url: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.locator("[data-testid=status-user]").wait_for()
    page.wait_for_timeout(1000)
    return context, page


def test_the_language_chosen_in_settings_is_kept_per_person_across_reloads(two_people, browser):
    ru, en = catalogue("ru"), catalogue("en")
    ann, ann_page = sign_in(browser, two_people.url, "ann", "pw-ann-1")
    bob, bob_page = sign_in(browser, two_people.url, "bob", "pw-bob-2")
    try:
        ann_page.get_by_role("tab", name=en["settings.settings"]).click()
        choice = ann_page.locator("#settings-language input")
        choice.click()
        ann_page.get_by_role("option", name="Русский").click()
        ann_page.wait_for_event("load")                  # a choice reloads the page
        for _ in range(2):                               # and every later reload keeps it
            ann_page.get_by_role("tab", name=ru["chat.chat"], exact=True).wait_for()
            ann_page.wait_for_function("() => document.documentElement.dataset.loragLocale === 'ru'")
            assert tab_names(ann_page) == [ru[key] for key in TAB_KEYS]
            assert ru["status.signed_in"].format(user="ann") in ann_page.locator("#lorag-status").inner_text()
            ann_page.reload(wait_until="load")
            ann_page.locator("[data-testid=status-user]").wait_for()
        bob_page.reload(wait_until="load")               # the other person keeps their browser's language
        bob_page.locator("[data-testid=status-user]").wait_for()
        bob_page.wait_for_function("() => document.documentElement.dataset.loragLocale === 'en'")
        assert tab_names(bob_page) == [en[key] for key in TAB_KEYS]
        assert en["status.signed_in"].format(user="bob") in bob_page.locator("#lorag-status").inner_text()
    finally:
        ann.close()
        bob.close()


def test_the_login_page_speaks_russian_to_a_russian_browser(two_people, browser):
    """Gradio translates its own login form; Lorag's line under it is shown in both languages (Gradio shows a
    custom login message as given, before anyone is known)."""
    context = browser.new_context(locale="ru-RU")
    try:
        page = context.new_page()
        page.goto(two_people.url, wait_until="load")
        page.get_by_role("button", name="Войти").wait_for()
        assert catalogue("ru")["login.message"] in page.inner_text("body")
    finally:
        context.close()
