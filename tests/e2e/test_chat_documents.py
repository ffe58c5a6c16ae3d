"""Chat over documents in a real browser against the real studio (managed Weaviate, the demo SmolLM2): create
a collection and upload two PDFs in the Documents tab, watch the progress, pick the collection in the Chat
tab (listed without a reload), ask, see the sources under the answer with file name and page, open one
(its text and rendered page), ask something the documents do not hold, and reload: the choice and the
sources are still there. Screenshots in test-output/."""

from __future__ import annotations

import re

import pytest

from tests.conftest import need_shared
from tests.support.browser import create_collection, open_tab, short_answers, wait_text
from tests.support.studio_process import running

pytestmark = [pytest.mark.browser, pytest.mark.weaviate, pytest.mark.slow]
FILES = ["pdflatex-4-pages.pdf", "crazyones-pdfa.pdf"]
COLLECTION = "e2e-chat-docs"
QUESTION = "What does the blind text give you information about?"
STATS = "#chat-stats"


TIMER = re.compile(r"[\d.]+s(/[\d.]+s)?")


def without_timer(text: str) -> str:
    """The chat's text without Gradio's pending-event timer ("0.2s"), which a busy machine can leave showing."""
    return "\n".join(line for line in text.splitlines() if not TIMER.fullmatch(line.strip())).strip()


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smollm2_dir):
    with running(tmp_path_factory.mktemp("e2e-rag-chat") / "data", ["--model", str(smollm2_dir)]) as server:
        yield server


def upload(page, pdfs: list[str], test_output) -> None:
    panel = create_collection(page, COLLECTION)
    panel.locator("#doc-files input[type=file]").set_input_files(pdfs)
    wait_text(page, "#doc-files", "crazyones-pdfa")
    panel.get_by_role("button", name="Index files").click()
    progress = panel.locator("#doc-progress")
    progress.locator(".lorag-job").wait_for(timeout=30_000)
    assert f"Index 2 file(s) into {COLLECTION}" in progress.inner_text()
    try:  # catch it mid-way when the machine is slow enough; small files may finish first
        progress.locator(".lorag-job[data-status=running]").wait_for(timeout=5_000)
    except Exception:
        pass
    page.screenshot(path=str(test_output / "rag-chat-1-progress.png"), full_page=True)
    progress.locator(".lorag-job[data-status=completed]").wait_for(timeout=120_000)
    assert progress.inner_text().count("indexed") >= 2


def send(page, text: str) -> None:
    page.locator("#chat-input textarea").fill(text)
    page.locator("#chat-send").click()


def test_ask_the_documents_open_a_cited_page_and_reload(studio, page, test_output):
    page.goto(studio.url, wait_until="load")
    wait_text(page, "#chat-model", "SmolLM2", timeout=60_000)
    upload(page, [str(need_shared("pdfs", name)) for name in FILES], test_output)

    # The Chat tab lists the new collection without a reload; the choice is the chat's.
    open_tab(page, "Chat")
    page.locator("#chat-new").click()
    page.locator("#chat-collection input").click()
    page.get_by_role("option", name=f"{COLLECTION} (2 docs)").click()
    page.locator("#chat-documents").wait_for()              # "only these documents" appears for a collection
    short_answers(page)

    send(page, QUESTION)
    wait_text(page, STATS, "tok/s", timeout=120_000)
    chatbot = page.locator("#chatbot")
    wait_text(page, "#chatbot", "pdflatex-4-pages.pdf p")   # the sources under the answer: file and page
    listed = page.locator("#chat-sources-list label")
    listed.first.wait_for(timeout=20_000)
    labels = listed.all_inner_texts()
    assert labels[0].startswith("[1] pdflatex-4-pages.pdf · p"), labels
    page.screenshot(path=str(test_output / "rag-chat-2-answer.png"), full_page=True)

    # Open the first source: its text and the rendered page.
    listed.first.click()
    text = page.locator("#chat-sources-text textarea")
    page.wait_for_function("el => el.value.length > 50", arg=text.element_handle(), timeout=20_000)
    assert "blind text" in text.input_value()
    page.locator("#chat-sources-title").get_by_text("pdflatex-4-pages.pdf").wait_for()
    page.locator("#chat-sources-pages img").first.wait_for(timeout=20_000)
    page.locator("#chat-sources-pages").scroll_into_view_if_needed()
    page.screenshot(path=str(test_output / "rag-chat-3-source-open.png"), full_page=True)

    # Nothing relevant: the answer says so, the model is not asked, no sources are listed for it.
    send(page, "What is a good recipe for banana bread with walnuts?")
    wait_text(page, STATS, "the model was not asked")
    wait_text(page, "#chatbot", "could not find anything relevant")
    page.locator("#chat-sources-box").wait_for(state="hidden")
    before = chatbot.inner_text()

    # After a reload the chat, its collection and the first answer's sources are all still there.
    page.reload(wait_until="load")
    wait_text(page, "#chatbot", "could not find anything relevant")
    wait_text(page, "#chatbot", "pdflatex-4-pages.pdf p")
    page.wait_for_function("() => document.querySelector('#chat-collection input')?.value?.startsWith("
                           f"'{COLLECTION}')", timeout=20_000)
    assert without_timer(chatbot.inner_text()) == without_timer(before)
    # A click on the first answer shows its sources again, and they open.
    chatbot.locator(".message:not(.thought) [data-testid=bot]").first.click()
    listed.first.wait_for(timeout=20_000)
    assert listed.first.inner_text().startswith("[1] pdflatex-4-pages.pdf · p")
    listed.first.click()
    page.locator("#chat-sources-pages img").first.wait_for(timeout=20_000)
    assert "blind text" in text.input_value()
    page.screenshot(path=str(test_output / "rag-chat-4-after-reload.png"), full_page=True)
