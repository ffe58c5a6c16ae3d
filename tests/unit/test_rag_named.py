"""Which documents a question names: BM25 over each document's title and first page."""

from types import SimpleNamespace

from engine.rag.named import PROFILE_CHARS, ProfileIndex, boosted, document_profile

COVERS = {
    "acme18": "ACME 2018 10K\nACME Corporation\nAnnual report for the fiscal year ended December 31, 2018",
    "acme22": "ACME 2022 10K\nACME Corporation\nAnnual report for the fiscal year ended December 31, 2022",
    "globex18": "GLOBEX 2018 10K\nGlobex Industries, Inc.\nAnnual report for the fiscal year ended December 31, 2018",
    "initech20": "INITECH 2020 10K\nInitech LLC\nAnnual report for the fiscal year ended December 31, 2020",
    "umbrella21": "UMBRELLA 2021 10Q\nUmbrella Holdings\nQuarterly report for the period ended June 30, 2021",
    "hooli19": "HOOLI 2019 10K\nHooli Inc.\nAnnual report for the fiscal year ended December 31, 2019",
}


def element(text, page):
    return SimpleNamespace(text=text, metadata=SimpleNamespace(page_number=page))


def test_the_profile_is_the_title_and_the_first_page_only():
    elements = [element("ACME Corporation", 1), element("Form 10-K", 1), element("Risk factors", 2)]
    assert document_profile("ACME 2018 10K", elements) == "ACME 2018 10K\nACME Corporation\nForm 10-K"
    long = [element("word " * 1000, 1), element("more", 1)]
    assert len(document_profile("T", long)) <= PROFILE_CHARS + 2


def test_a_plain_text_file_has_no_pages_and_its_opening_is_the_profile():
    assert document_profile("notes", [element("Harbour notes", None), element("Blue ledger", None)]) == \
        "notes\nHarbour notes\nBlue ledger"


def test_a_question_naming_a_company_and_a_year_names_that_report_first():
    named = ProfileIndex(COVERS).named("What is the FY2018 capital expenditure amount for ACME?")
    assert named["acme18"] == 1.0
    assert set(named) <= {"acme18", "acme22", "globex18"}  # the same company, the same year: weaker
    assert all(weight < 1.0 for doc, weight in named.items() if doc != "acme18")


def test_a_company_named_in_other_words_than_the_file_name_is_found_on_the_cover():
    named = ProfileIndex(COVERS).named("Does Globex Industries have positive working capital?")
    assert list(named) == ["globex18"]


def test_a_question_that_names_no_document_names_none():
    index = ProfileIndex(COVERS)
    assert index.named("What drove the change in gross margin?") == {}
    assert index.named("") == {}
    # "annual report" is on five of six covers: a common phrase, not a name.
    assert index.named("Summarise the annual report") == {}


def test_a_single_document_is_never_named():
    assert ProfileIndex({"only": COVERS["acme18"]}).named("ACME 2018") == {}


def test_named_documents_rise_and_each_chunk_counts_once():
    rows = [("a", {"document_id": "other"}, 0.9, []), ("b", {"document_id": "acme18"}, 0.6, []),
            ("b", {"document_id": "acme18"}, 0.7, []), ("c", {"document_id": "acme22"}, 0.5, [])]
    out = boosted(rows, {"acme18": 1.0, "acme22": 0.5}, 1.0)
    assert [(uid, round(score, 3)) for uid, _, score, _ in out] == [("b", 1.4), ("a", 0.9), ("c", 0.75)]
