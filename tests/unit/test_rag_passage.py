"""The page a citation opens: for a chunk that runs over a page break, the page whose part the answer draws on."""

from __future__ import annotations

from engine.rag import answer
from engine.rag.chunk import chunk_elements
from engine.rag.parse import prepare_unstructured
from engine.rag.passage import page_starts_of, passage_page, segments
from engine.rag.pdftext import page_elements
from engine.rag.types import Hit

PAGE_4 = "The orchard cooperative sold pears and apples at the autumn market."
PAGE_5 = "Total revenue of the harbour authority rose to 1,577 million in 2018."


def two_page_chunk():
    prepare_unstructured()
    chunks = chunk_elements(page_elements([PAGE_4, PAGE_5], "report.pdf", first_page=4), 1000, 0, "report.pdf")
    assert len(chunks) == 1 and chunks[0].pages == [4, 5]
    return chunks[0]


def test_a_chunk_knows_where_each_of_its_pages_begins():
    chunk = two_page_chunk()
    assert len(chunk.page_starts) == 2 and chunk.page_starts[0] == 0
    parts = dict(segments(chunk.text, chunk.pages, chunk.page_starts))
    assert PAGE_4 in parts[4] and PAGE_5 in parts[5] and PAGE_5 not in parts[4]


def test_the_passage_page_follows_the_focus_text():
    chunk = two_page_chunk()
    assert passage_page(chunk.text, chunk.pages, chunk.page_starts, "What was the harbour revenue in 2018?") == 5
    assert passage_page(chunk.text, chunk.pages, chunk.page_starts, "Which fruit did the orchard sell?") == 4
    assert passage_page(chunk.text, chunk.pages, chunk.page_starts, "unrelated words only") == 4
    assert passage_page(chunk.text, chunk.pages, [], "harbour revenue") == 4  # no offsets (older chunks)


def test_a_citation_opens_the_page_the_answer_draws_on():
    chunk = two_page_chunk()
    hit = Hit(chunk_id="c1", text=chunk.text, filename="report.pdf", document_id="d", pages=chunk.pages,
              section="", score=1.0, page_starts=chunk.page_starts, page=4)
    [citation] = answer.sources("The harbour authority's revenue rose to 1,577 million [1].", [hit])
    assert citation.pages == [4, 5] and citation.page == 5


def test_page_starts_skip_text_that_is_not_in_the_chunk():
    assert page_starts_of("alpha beta gamma", [(1, "alpha"), (2, "missing"), (3, "gamma")]) == [0, 11]
