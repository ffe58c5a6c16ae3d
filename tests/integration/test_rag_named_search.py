"""A question that names a document (its company, on the cover page only) finds that document's page, in one
shared collection of look-alike reports where another company's page matches the question's words better."""

from __future__ import annotations

import pytest

from tests.support.pdf_maker import text_pdf
from tests.support.rag import wait_job

pytestmark = pytest.mark.weaviate

COMPANIES = ["Globex Industries", "Initech Systems", "Umbrella Holdings", "Hooli Networks", "Vandelay Imports",
             "Northwind Traders"]
TARGET = "Northwind Traders"
QUESTION = "What were Northwind Traders' capital expenditures in fiscal 2021?"


def report(company: str) -> list[list[str]]:
    """A cover naming the company, then a cash-flow page that never does (as in a real filing's statements)."""
    cover = [company, f"{company} annual report for the fiscal year ended December 31, 2021.",
             "Form 10-K. Commission file number 001-0000. Incorporated in Delaware. Shares traded on the exchange."]
    if company == TARGET:  # its statement says "capital expenditures" once, the others' say it three times
        flows = "Purchases of property and equipment were 412 million, the capital expenditures of the year."
    else:
        flows = ("Capital expenditures: purchases of property and equipment, that is capital expenditures, were "
                 "390 million; capital expenditures rose with the new plants.")
    statement = ["Consolidated Statement of Cash Flows",
                 f"Cash flows from investing activities. {flows} Proceeds from the sale of equipment were small.",
                 "Cash flows from financing activities. Dividends paid and shares repurchased during the year."]
    return [cover, statement]


@pytest.fixture(scope="module")
def reports(rag_studio, tmp_path_factory):
    folder = tmp_path_factory.mktemp("named-reports")
    files = [text_pdf(folder / f"report-{i}.pdf", report(company)) for i, company in enumerate(COMPANIES)]
    rag = rag_studio.rag
    rag.create_collection("named-reports")
    job = wait_job(rag_studio, rag.ingest("named-reports", files).id)
    assert all(f["status"] == "indexed" for f in job.result["files"]), job.result
    yield rag, f"report-{COMPANIES.index(TARGET)}.pdf"
    rag.delete_collection("named-reports")


def rank(hits, filename: str, page: int) -> int | None:
    return next((i for i, h in enumerate(hits, 1) if h.filename == filename and page in h.pages), None)


def test_the_named_company_s_statement_page_outranks_the_look_alikes(reports):
    rag, target = reports
    plain = rag.search("named-reports", QUESTION, k=10, named_boost=0)
    named = rag.search("named-reports", QUESTION, k=10)
    assert rank(plain, target, 2) is None or rank(plain, target, 2) > 3, [(h.filename, h.pages) for h in plain]
    assert rank(named, target, 2) <= 2, [(h.filename, h.pages) for h in named]
    assert {h.filename for h in named[:2]} == {target}


def test_a_question_naming_no_company_is_searched_as_before(reports):
    rag, _ = reports
    question = "Which capital expenditures are in the statement of cash flows?"
    plain = rag.search("named-reports", question, k=10, named_boost=0)
    named = rag.search("named-reports", question, k=10)
    assert [(h.chunk_id, h.score) for h in named] == [(h.chunk_id, h.score) for h in plain]


def test_every_document_keeps_its_profile_from_its_cover(reports):
    rag, target = reports
    document = next(d for d in rag.documents("named-reports") if d.filename == target)
    assert document.meta["profile"].startswith("report 5\nNorthwind Traders\n")
    assert "Consolidated Statement" not in document.meta["profile"]


def test_each_hit_says_whether_the_question_names_its_document_and_the_documents_tab_says_which(reports):
    from ui.tabs.documents import _results_note

    rag, target = reports
    hits = rag.search("named-reports", QUESTION, k=10)
    assert {h.filename for h in hits if h.named == 1.0} == {target}
    assert all(h.named == 0.0 for h in hits if h.filename != target)
    assert _results_note(hits).endswith(f"The question names {target}: their pages are preferred.")
    plain = rag.search("named-reports", "Which capital expenditures are in the statement of cash flows?", k=10)
    assert "names" not in _results_note(plain) and all(h.named == 0.0 for h in plain)
