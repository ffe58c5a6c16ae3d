"""The Documents tab in a real browser against the real studio: create a collection, upload two PDFs, watch
the per-file progress, search, and open a source with its text and page image. Screenshots in test-output/."""

from __future__ import annotations

import re

import pytest

from tests.conftest import need_shared
from tests.support.browser import create_collection, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.weaviate]
FILES = ["pdflatex-4-pages.pdf", "minimal-document.pdf"]


def wait_text(page, selector: str, texts: list[str], timeout: float = 20_000) -> None:
    """Wait until the element's visible text holds every one of `texts` (Gradio renders cells twice)."""
    page.wait_for_function("([sel, texts]) => { const el = document.querySelector(sel);"
                           " return el && texts.every(t => el.innerText.includes(t)); }",
                           arg=[selector, texts], timeout=timeout)


def test_create_upload_progress_search_and_open_a_source(studio_server, page, test_output):
    pdfs = [str(need_shared("pdfs", name)) for name in FILES]
    page.goto(studio_server.url)
    open_tab(page, "Documents")
    panel = page.locator("#tab-documents")

    create_collection(page, "e2e-papers")
    summary = panel.locator("#doc-summary")
    assert "0 document(s)" in summary.inner_text()

    panel.locator("#doc-files input[type=file]").set_input_files(pdfs)
    # The file list shows stem and extension apart.
    wait_text(page, "#doc-files", [name.removesuffix(".pdf") for name in FILES], timeout=30_000)
    panel.get_by_role("button", name="Index files").click()

    progress = panel.locator("#doc-progress")
    progress.locator(".lorag-job").wait_for(timeout=30_000)
    try:  # catch it mid-way when the machine is slow enough; small files may finish first
        progress.locator(".lorag-job[data-status=running]").wait_for(timeout=5_000)
    except Exception:
        pass
    page.screenshot(path=str(test_output / "documents-progress.png"), full_page=True)
    text = progress.inner_text()
    assert re.search(r"Index 2 file\(s\) into e2e-papers", text), text
    assert all(name in text for name in FILES), text
    progress.locator(".lorag-job[data-status=completed]").wait_for(timeout=180_000)
    assert progress.inner_text().count("indexed") >= 2

    wait_text(page, "#doc-table", [*FILES, "indexed"])
    summary.get_by_text("2 document(s)").wait_for(timeout=10_000)

    panel.locator("#doc-query textarea").fill("how the letters are written and an impression of the look")
    panel.get_by_role("button", name="Search", exact=True).click()
    results = panel.locator("#doc-results-list")
    first = results.locator("label").first
    first.wait_for(timeout=30_000)
    assert "page(s), best first" in panel.locator("#doc-results-note").inner_text()
    labels = results.locator("label").all_inner_texts()
    assert labels[0].startswith("[1] pdflatex-4-pages.pdf · p") and "score" in labels[0], labels
    page.screenshot(path=str(test_output / "documents-search.png"), full_page=True)

    first.click()
    source_text = panel.locator("#doc-results-text textarea")
    page.wait_for_function("el => el.value.length > 50", arg=source_text.element_handle(), timeout=20_000)
    assert "impression of the look" in source_text.input_value()
    panel.locator("#doc-results-title").get_by_text("pdflatex-4-pages.pdf").wait_for()
    panel.locator("#doc-results-pages img").first.wait_for(timeout=20_000)
    page.screenshot(path=str(test_output / "documents-source.png"), full_page=True)

    # A reload re-attaches: the collection, its documents and the last job's report come back.
    page.reload()
    open_tab(page, "Documents")
    wait_text(page, "#doc-table", FILES)
    page.locator("#doc-progress .lorag-job").wait_for(timeout=10_000)
