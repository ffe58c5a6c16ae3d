"""Prompt building, [n] citation parsing and the no-answer path of answer streams (no model, no Weaviate)."""

from engine.rag.answer import AnswerStream, build_messages, cited, cited_numbers
from engine.rag.types import Citation, Hit, pages_label


def hit(n: int, pages: list[int], text: str = "text") -> Hit:
    return Hit(chunk_id=f"c{n}", text=f"{text} {n}", filename=f"file{n}.pdf", document_id=f"d{n}", pages=pages,
               section=f"Section {n}", score=1.0 / n, similarity=0.5)


def test_sources_are_numbered_with_file_and_pages_and_the_rules_are_given():
    hits = [hit(1, [3]), hit(2, [4, 5])]
    messages = build_messages("What is it?", hits, history=[{"role": "user", "content": "hi"},
                                                           {"role": "assistant", "content": "hello"}])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "only the numbered sources" in messages[0]["content"]
    assert "[n]" in messages[0]["content"]
    assert "do not contain" in messages[0]["content"]
    last = messages[-1]["content"]
    assert "[1] (file1.pdf, p. 3, section 'Section 1')\ntext 1" in last
    assert "[2] (file2.pdf, pp. 4-5" in last
    assert last.rstrip().endswith("Question: What is it?")


def test_custom_system_prompt_keeps_the_rules():
    messages = build_messages("q", [hit(1, [1])], system="You are terse.")
    assert messages[0]["content"].startswith("You are terse.")
    assert "only the numbered sources" in messages[0]["content"]


def test_citation_markers_in_every_form():
    assert cited_numbers("A [1]. B [2][3]. C [4, 5] and [6-8]; again [1].") == [1, 2, 3, 4, 5, 6, 7, 8]
    assert cited_numbers("no citations here, just [a] and [ ]") == []


def test_cited_maps_numbers_to_hits_and_ignores_out_of_range():
    hits = [hit(1, [3]), hit(2, [4, 5])]
    found = cited("It is X [2] and Y [7] and Z [1].", hits)
    assert [(c.n, c.chunk_id, c.filename, c.pages) for c in found] == [(2, "c2", "file2.pdf", [4, 5]),
                                                                       (1, "c1", "file1.pdf", [3])]
    assert Citation.from_dict(found[0].to_dict()) == found[0]


def test_nothing_relevant_answers_without_calling_the_model():
    calls = []

    def generate(messages):
        calls.append(messages)
        yield "should not happen"

    stream = AnswerStream("q", hits=[hit(1, [1])], relevant=[], generate=generate, collection="papers")
    text = "".join(stream)
    assert calls == []
    assert "could not find anything relevant" in text and "'papers'" in text
    assert stream.citations == [] and stream.result()["found"] is False


def test_stream_collects_text_and_citations():
    hits = [hit(1, [3]), hit(2, [9])]
    stream = AnswerStream("q", hits=hits, relevant=hits, generate=lambda m: iter(["The answer ", "is 4 [2]."]),
                          collection="papers")
    assert list(stream) == ["The answer ", "is 4 [2]."]
    assert stream.text == "The answer is 4 [2]."
    assert [c.pages for c in stream.citations] == [[9]]
    assert stream.messages[-1]["content"].startswith("Sources:")


def test_pages_label():
    assert pages_label([]) == ""
    assert pages_label([3]) == "p. 3"
    assert pages_label([5, 3, 4]) == "pp. 3-5"
    assert pages_label([2, 5]) == "pp. 2, 5"
