"""A person makes data from their documents in the Evaluate tab: with SmolLM2 loaded and a collection holding a
PDF, "Data from documents" writes question/answer rows (each with the PDF's name and page), the person edits one
and saves the rows split into an evaluation set and a training dataset; both land in the data folder, the split
recorded, the edit kept, and the new set is offered in the tab's "Set" list at once."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import need_shared
from tests.support.browser import open_tab, wait_text
from tests.support.rag import make_studio, wait_job
from tests.support.studio_process import running

pytestmark = [pytest.mark.browser, pytest.mark.weaviate, pytest.mark.slow]
PDF = "pdflatex-4-pages.pdf"
EDITED = "Edited by a person"


@pytest.fixture
def studio(tmp_path, smollm2_dir):
    """The studio process over a data folder whose collection 'papers' was indexed beforehand (a studio earlier
    on the same folder, as after a restart)."""
    data = tmp_path / "data"
    earlier = make_studio(data)
    try:
        earlier.rag.create_collection("papers")
        assert wait_job(earlier, earlier.rag.ingest("papers", [need_shared("pdfs", PDF)]).id).status == "completed"
    finally:
        earlier.close()
    with running(data, ["--model", str(smollm2_dir)]) as server:
        yield server


def test_rows_written_from_a_collection_are_edited_and_saved_as_both(page, studio, test_output):
    page.goto(studio.url, wait_until="load")
    open_tab(page, "Evaluate")
    section = page.locator("#eval-generate")
    section.get_by_text("Data from documents").click()
    expect(page.locator("#eval-gen-collection input")).to_have_value("papers")
    section.get_by_label("Chunks (at most)").fill("3")
    page.locator("#eval-gen-start").click()
    page.locator("#eval-gen-status").get_by_text(re.compile(r"completed: \d+ rows|failed")).wait_for(timeout=300_000)
    status = page.locator("#eval-gen-status").inner_text()
    assert re.search(r"completed: [1-9]\d* rows", status), status
    rows = page.locator("#eval-gen-rows")
    assert PDF in rows.inner_text()
    page.screenshot(path=str(test_output / "evaluate-generate-1-rows.png"), full_page=True)

    rows.locator("[data-testid=cell-0-1]").dblclick()   # the first row's answer
    editor = rows.locator("textarea").first
    editor.fill(EDITED)
    editor.press("Enter")
    wait_text(page, "#eval-gen-rows", EDITED)
    section.get_by_text("Split into both").click()
    section.get_by_label("Name").fill("paper-questions")
    page.locator("#eval-gen-save").click()
    wait_text(page, "#eval-gen-status", "Saved:", timeout=60_000)
    expect(page.locator("#eval-set input")).to_have_value(re.compile("paper-questions-eval.jsonl"))   # run it next
    wait_text(page, "#eval-set-report", "with gold pages")
    page.screenshot(path=str(test_output / "evaluate-generate-2-saved.png"), full_page=True)

    metas = [json.loads(p.read_text()) for p in (studio.data_dir / "evalsets").glob("*.meta.json")]
    (meta,) = metas
    assert meta["filename"] == "paper-questions-eval.jsonl" and meta["split"]["training"], meta
    datasets = [p for p in (studio.data_dir / "datasets").rglob("*.jsonl")]
    assert datasets, list((studio.data_dir / "datasets").rglob("*"))
    stored = (studio.data_dir / "evalsets").glob("*.jsonl")
    written = "".join(p.read_text() for p in stored) + "".join(p.read_text() for p in datasets)
    assert EDITED in written and PDF in written
