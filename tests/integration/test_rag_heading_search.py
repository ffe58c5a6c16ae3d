"""A question that names a statement ("the cash flow statement") finds the page headed by it, not the discussion
page that says "cash flows" more often."""

from __future__ import annotations

import pytest

from tests.support.pdf_maker import text_pdf
from tests.support.rag import wait_job

pytestmark = pytest.mark.weaviate

PAGES = [
    ["Liquidity and Capital Resources",
     "Cash flows from operating activities rose in the year. Our cash flows from investing activities reflect the "
     "capital expenditures for the new plants, and free cash flow stayed strong; cash flows from financing "
     "activities reflect the dividends. We expect capital expenditures and cash flows to grow next year."],
    ["Consolidated Statement of Cash Flows",
     "Purchases of property, plant and equipment (412) (390) (371). Proceeds from the sale of equipment 12 9 4.",
     "Dividends paid (100) (96) (90). Repayment of debt (250) (0) (120). Net change in cash 35 (12) 48."],
    ["Risk Factors",
     "Demand for our products depends on the economy, on the prices of raw materials and on competition."],
]
QUESTION = "What capital expenditure does the cash flow statement show?"


@pytest.fixture(scope="module")
def report(rag_studio, tmp_path_factory):
    pdf = text_pdf(tmp_path_factory.mktemp("heading-report") / "annual-report.pdf", PAGES)
    rag = rag_studio.rag
    rag.create_collection("heading-report")
    job = wait_job(rag_studio, rag.ingest("heading-report", [pdf]).id)
    assert job.result["files"][0]["status"] == "indexed", job.result
    yield rag
    rag.delete_collection("heading-report")


def test_the_statement_page_outranks_the_discussion_of_cash_flows(report):
    plain = report.search("heading-report", QUESTION, k=3, heading_boost=0)
    headed = report.search("heading-report", QUESTION, k=3)
    assert plain[0].pages == [1], [(h.pages, h.section, h.score) for h in plain]
    assert headed[0].pages == [2] and headed[0].section == "Consolidated Statement of Cash Flows", \
        [(h.pages, h.section, h.score) for h in headed]


def test_a_question_that_names_no_heading_keeps_the_order(report):
    question = "What do prices of raw materials change?"
    plain = report.search("heading-report", question, k=3, heading_boost=0)
    headed = report.search("heading-report", question, k=3)
    assert [h.chunk_id for h in headed] == [h.chunk_id for h in plain]
