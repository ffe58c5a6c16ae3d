"""One result per page: the chunks of one page share its place, joined in reading order."""

from engine.rag.pages import by_page, page_key


def row(uid, document, pages, index, text, score):
    return uid, {"document_id": document, "pages": pages, "chunk_index": index, "text": text,
                 "page_starts": [0] if len(pages) == 1 else []}, score, [0.0]


def test_a_page_keeps_the_place_of_its_best_chunk_and_its_other_chunks_join_in_reading_order():
    rows = [row("b", "d1", [7], 4, "second half", 0.9), row("x", "d2", [7], 1, "other file", 0.8),
            row("a", "d1", [7], 3, "first half", 0.7), row("y", "d1", [8], 5, "next page", 0.6)]
    hits = by_page(rows, 10)
    assert [h[0] for h in hits] == ["b", "x", "y"]
    assert hits[0][1]["text"] == "first half\nsecond half"
    assert hits[0][2] == 0.9
    assert hits[1][1]["text"] == "other file"


def test_k_counts_pages_not_chunks():
    rows = [row(f"c{i}", "d", [i // 3], i, f"t{i}", 1 - i / 100) for i in range(30)]
    hits = by_page(rows, 4)
    assert [h[1]["pages"] for h in hits] == [[0], [1], [2], [3]]


def test_chunks_without_pages_are_each_their_own_result():
    rows = [row("a", "d", [], 0, "one", 0.9), row("b", "d", [], 1, "two", 0.8)]
    assert [h[0] for h in by_page(rows, 5)] == ["a", "b"]
    assert page_key("a", rows[0][1]) != page_key("b", rows[1][1])


def test_a_chunk_over_two_pages_stays_a_result_of_its_own():
    rows = [row("a", "d", [3, 4], 0, "spans", 0.9), row("b", "d", [3, 4], 1, "also spans", 0.8)]
    assert [h[1]["text"] for h in by_page(rows, 5)] == ["spans", "also spans"]


def test_the_overlap_a_split_chunk_repeats_is_written_once():
    first = "A long paragraph that was split in two right here and goes on"
    second = "split in two right here and goes on to its end."
    rows = [row("a", "d", [1], 0, first, 0.9), row("b", "d", [1], 1, second, 0.8)]
    assert by_page(rows, 5)[0][1]["text"] == "A long paragraph that was split in two right here and goes on to its end."
