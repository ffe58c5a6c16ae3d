"""The Documents tab in a real browser: a Russian PDF uploaded into a collection with the default English
embedding model shows its language and a warning that suggests the multilingual presets; switching to the
suggested one and re-indexing clears it. Screenshots in test-output/."""

from __future__ import annotations

import pytest

from tests.e2e.test_documents import wait_text
from tests.support.browser import create_collection
from tests.support.pdf_maker import russian_pdf

pytestmark = [pytest.mark.browser, pytest.mark.weaviate]
COLLECTION = "e2e-russian"


def test_a_russian_pdf_in_an_english_collection_shows_the_language_warning(studio_server, page, test_output,
                                                                           tmp_path):
    pdf = russian_pdf(tmp_path / "байкал.pdf")
    page.goto(studio_server.url)
    panel = create_collection(page, COLLECTION)
    summary = panel.locator("#doc-summary")
    assert "Reranking: off" in summary.inner_text()

    panel.locator("#doc-files input[type=file]").set_input_files(str(pdf))
    wait_text(page, "#doc-files", ["байкал"], timeout=30_000)
    panel.get_by_role("button", name="Index files").click()
    panel.locator("#doc-progress .lorag-job[data-status=completed]").wait_for(timeout=180_000)
    wait_text(page, "#doc-table", ["байкал.pdf", "indexed", "Russian"])
    warning = summary.locator("#doc-language-warning")
    warning.wait_for(timeout=10_000)
    text = warning.inner_text()
    assert "covers English only" in text and "байкал.pdf (Russian)" in text, text
    assert "use-multilingual-v3" in text and "re-index" in text, text
    page.screenshot(path=str(test_output / "documents-language-warning.png"), full_page=True)

    # Take the advice: the suggested model, then a re-index; the warning goes.
    settings = panel.locator("#doc-settings")
    settings.get_by_text("Collection settings").click()
    settings.get_by_label("Embedding model").click()
    page.get_by_role("option", name="USE multilingual v3 (16 languages, offline)").click()
    settings.get_by_role("button", name="Save settings").click()
    summary.get_by_text("needs re-index").wait_for(timeout=10_000)
    panel.get_by_role("button", name="Re-index (all when none is picked)").click()
    summary.get_by_text("use-multilingual-v3").wait_for(timeout=180_000)
    page.wait_for_function("() => !document.querySelector('#doc-language-warning')", timeout=30_000)
    assert "needs re-index" not in summary.inner_text()
    page.screenshot(path=str(test_output / "documents-language-fixed.png"), full_page=True)
