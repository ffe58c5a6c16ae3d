"""The page as a person first sees it: six tabs with their empty states and a live status bar."""

import re

import pytest

from tests.support.browser import open_tab

pytestmark = pytest.mark.browser

TABS = ["Chat", "Notebook", "Documents", "Training", "Evaluate", "Models", "Settings"]


def test_every_tab_opens_and_status_shows_weaviate(studio_server, page, test_output):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(studio_server.url, wait_until="load")
    status = page.locator("[data-testid=status-weaviate]")
    status.wait_for()
    assert re.search(r"Weaviate 1\.39\.0: running \(managed", status.inner_text())
    assert "none loaded" in page.locator("[data-testid=status-model]").inner_text()
    tabs = [t.strip() for t in page.get_by_role("tab").all_inner_texts()]
    assert tabs[: len(TABS)] == TABS
    for name in TABS:
        open_tab(page, name)
        panel = page.locator(f"#tab-{name.lower()}")
        panel.wait_for(state="visible")
        assert panel.inner_text().strip(), f"{name} tab is empty"
        page.screenshot(path=str(test_output / f"shell-{name.lower()}.png"), full_page=True)
    assert errors == []


def test_settings_tab_shows_weaviate_and_restarts_it(studio_server, page):
    page.goto(studio_server.url, wait_until="load")
    open_tab(page, "Settings")
    report = page.locator("#weaviate-report")
    assert "running" in report.inner_text()
    page.get_by_role("button", name="Restart Weaviate").click()
    page.wait_for_timeout(500)
    report.get_by_text(re.compile(r"Weaviate 1\.39\.0: running")).wait_for(timeout=60_000)


def test_sending_without_a_model_says_so_and_keeps_the_text(studio_server, page, test_output):
    """The first thing many people try. A warning says what to do; the question stays in the box, and no
    "Error" badge covers the chat or the box (as a gr.Error on this event would)."""
    page.goto(studio_server.url, wait_until="load")
    page.locator("#chat-new").wait_for()
    page.wait_for_timeout(500)
    page.locator("#chat-input textarea").fill("hello")
    page.locator("#chat-send").click()
    toast = page.locator("[data-testid=toast-body]")
    toast.get_by_text("No model is loaded. Load one in the Models tab.").wait_for()
    assert page.locator("#chat-input textarea").input_value() == "hello"
    page.locator("#chat-input textarea").press("Enter")          # Enter sends too: the same answer
    page.wait_for_timeout(1500)
    assert page.locator("#chat-input textarea").input_value().strip() == "hello"
    assert page.locator("#tab-chat").get_by_text("Error", exact=True).count() == 0
    page.screenshot(path=str(test_output / "shell-send-without-model.png"))
    page.locator("#chat-input textarea").fill("")
    page.locator("#chat-send").click()
    toast.get_by_text("Write a message first.").wait_for()


def warned_without_badges(page, tab: str) -> str:
    """The first toast's text, once it shows; and no "Error" badge anywhere on the tab."""
    toast = page.locator("[data-testid=toast-body]").first
    toast.wait_for()
    page.wait_for_timeout(500)
    assert page.locator(f"#tab-{tab}").get_by_text("Error", exact=True).count() == 0
    return toast.inner_text()


def test_starting_training_with_an_empty_form_warns_and_keeps_the_form(studio_server, page):
    page.goto(studio_server.url, wait_until="load")
    open_tab(page, "Training")
    page.locator("#training-start").click()
    assert "The adapter name is empty." in warned_without_badges(page, "training")


def test_loading_a_missing_folder_warns_and_keeps_the_models_tab(studio_server, page, tmp_path):
    page.goto(studio_server.url, wait_until="load")
    open_tab(page, "Models")
    page.locator("#model-kind").get_by_text("Local folder").click()
    page.locator("#model-folder").locator("textarea, input").first.fill(str(tmp_path / "no-such-model"))
    page.locator("#model-load").click()
    assert "no-such-model" in warned_without_badges(page, "models")
    assert "none loaded" in page.locator("[data-testid=status-model]").inner_text()
