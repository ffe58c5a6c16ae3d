"""Drop a file into the chat, in a real browser against the real studio (managed Weaviate, the demo SmolLM2):
a PDF dropped on the message box with a question is indexed into the chat's own collection with its progress
in the chat, then the question is answered with a source from that file; the collection is listed in the
Documents tab; a file that is not what its name says is reported in the chat in words; a reload keeps it all.
Screenshots in test-output/."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import need_shared
from tests.support.browser import open_tab, short_answers, wait_text
from tests.support.studio_process import running

pytestmark = [pytest.mark.browser, pytest.mark.weaviate, pytest.mark.slow]
PDF = "pdflatex-4-pages.pdf"
QUESTION = "What does the blind text give you information about?"
COLLECTION = "chat-What-does-the-blind-text-give-you-informati"
STATS = "#chat-stats"

# A real drop: the file travels in a DataTransfer through dragenter, dragover and drop on the message box.
DROP = """
([name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  const target = document.querySelector('#chat-input textarea');
  for (const kind of ['dragenter', 'dragover', 'drop'])
    target.dispatchEvent(new DragEvent(kind, {dataTransfer: transfer, bubbles: true, cancelable: true}));
}
"""

# Every title the chat shows, as it shows it (a small file may be indexed between two polls of the test).
RECORD_TITLES = """
() => {
  window.seenTitles = new Set();
  const note = () => document.querySelectorAll('#chatbot .message').forEach(m => window.seenTitles.add(
      m.innerText.split('\\n')[0]));
  new MutationObserver(note).observe(document.querySelector('#chatbot'), {subtree: true, childList: true,
                                                                          characterData: true});
}
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smollm2_dir):
    with running(tmp_path_factory.mktemp("e2e-chat-files") / "data", ["--model", str(smollm2_dir)]) as server:
        yield server


def drop(page, name: str, data: bytes, mime: str = "application/pdf") -> None:
    page.evaluate(DROP, [name, mime, base64.b64encode(data).decode()])
    wait_text(page, "#chat-attached", f"Attached: {name}. Send indexes it")   # uploaded: named under the box


def test_a_pdf_dropped_with_a_question_is_indexed_then_answers_it(studio, page, test_output):
    page.goto(studio.url, wait_until="load")
    wait_text(page, "#chat-model", "SmolLM2", timeout=60_000)
    page.locator("#chat-new").click()
    short_answers(page)

    drop(page, PDF, need_shared("pdfs", PDF).read_bytes())
    page.locator("#chat-input textarea").fill(QUESTION)
    page.evaluate(RECORD_TITLES)
    page.locator("#chat-send").click()
    wait_text(page, "#chatbot", f"Indexing {PDF}")
    page.screenshot(path=str(test_output / "chat-files-1-indexing.png"), full_page=True)
    assert page.locator("#chat-input textarea").input_value() == ""            # the box is empty again
    assert page.locator("#chat-input [aria-label='File thumbnail']").count() == 0
    assert PDF not in page.locator("#chat-attached").inner_text()

    wait_text(page, "#chatbot", f"Indexed {PDF} into {COLLECTION}", timeout=120_000)
    wait_text(page, STATS, "tok/s", timeout=120_000)                           # then the question's answer
    wait_text(page, "#chatbot", f"{PDF} p")                                    # with a source from the file (p. or pp.)
    listed = page.locator("#chat-sources-list label")
    listed.first.wait_for(timeout=20_000)
    assert listed.first.inner_text().startswith(f"[1] {PDF} · p")
    titles = page.evaluate("() => [...window.seenTitles]")
    assert any(t.startswith(f"Indexing {PDF}: ") for t in titles), titles
    assert page.locator("#chat-collection input").input_value().startswith(COLLECTION)
    assert page.locator("#tab-chat").get_by_text("Error", exact=True).count() == 0
    page.screenshot(path=str(test_output / "chat-files-2-answer.png"), full_page=True)

    # A file that is not what its name says: dropped alone, it is reported in words and nothing is answered.
    answers = page.locator("#chatbot [data-testid=bot]").count()
    drop(page, "notes.pdf", b"These are plain notes, not a PDF at all.\n" * 4)
    page.locator("#chat-send").click()
    wait_text(page, "#chatbot", "Not indexed: notes.pdf: the name says PDF but the content is text")
    page.wait_for_timeout(1500)
    assert page.locator("#chatbot [data-testid=bot]").count() == answers + 1   # its block, no answer
    assert page.locator("#chat-attached").inner_text().strip() == ""
    assert page.locator("#chat-collection input").input_value().startswith(COLLECTION)   # still the chat's
    page.screenshot(path=str(test_output / "chat-files-3-not-indexed.png"), full_page=True)

    # The Documents tab lists the chat's collection like any other; after a reload the chat shows it all.
    page.reload(wait_until="load")
    wait_text(page, "#chatbot", f"Indexed {PDF} into {COLLECTION}")
    wait_text(page, "#chatbot", "Not indexed: notes.pdf")
    wait_text(page, "#chatbot", f"{PDF} p")
    open_tab(page, "Documents")
    page.locator("#doc-collection input").click()
    page.get_by_role("option", name=COLLECTION).first.wait_for()
    page.screenshot(path=str(test_output / "chat-files-4-documents-tab.png"), full_page=True)


def test_a_reload_follows_the_indexing_and_stop_cancels_it(studio, page, test_output):
    report = "GeoTopo-komprimiert.pdf"     # 117 pages: long enough to reload and stop mid-way
    page.goto(studio.url, wait_until="load")
    page.locator("#chat-new").click()
    drop(page, report, need_shared("pdfs", report).read_bytes())
    page.locator("#chat-send").click()
    wait_text(page, "#chatbot", f"Indexing {report}: ", timeout=60_000)

    page.reload(wait_until="load")                                    # the chat picks the running job up again
    wait_text(page, "#chatbot", f"Indexing {report}: ", timeout=20_000)
    page.evaluate(RECORD_TITLES)
    page.wait_for_function("(n) => [...window.seenTitles].filter(t => t.startsWith(n)).length >= 2",
                           arg=f"Indexing {report}: ", timeout=30_000)   # and its progress moves on
    page.screenshot(path=str(test_output / "chat-files-5-after-reload.png"), full_page=True)
    page.locator("#chat-stop").click()
    wait_text(page, "#chatbot", f"Indexing cancelled: {report}", timeout=30_000)
    page.screenshot(path=str(test_output / "chat-files-6-stopped.png"), full_page=True)
