"""A Russian PDF made by the test, indexed into a real Weaviate twice: with the shipped multilingual model a
Russian question finds its page by vector search alone and no language warning shows; with the default English
model the warning names the document and its language, and that model cannot tell a related question from an
unrelated one."""

from __future__ import annotations

import pytest

from engine.rag.language import language_warning
from tests.support.pdf_maker import russian_pdf
from tests.support.rag import files_by_name, wait_job

pytestmark = pytest.mark.weaviate

# Each question, the page of tests.support.pdf_maker.RUSSIAN_PAGES that answers it and the answer's words.
QUESTIONS = [("Какова наибольшая глубина озера?", 1, "тысячу шестьсот сорок два метра"),
             ("Во сколько отправляется поезд в Петербург?", 2, "каждое утро в семь часов"),
             ("Сколько времени выпекают ржаной хлеб?", 3, "Выпекают хлеб в горячей духовке около часа"),
             ("Когда основали библиотеку?", 4, "основана в тысяча восемьсот")]
CHUNK_SIZE = 400  # about two paragraphs: seven chunks for four pages, so finding the right one means something
UNRELATED = ["Кто выиграл чемпионат мира по футболу?", "Сколько стоит ремонт автомобиля?"]


@pytest.fixture
def collections(rag_studio):
    service = rag_studio.rag
    made = [service.create_collection("ru-multilingual", embedding_model="use-multilingual-v3",
                                      chunk_size=CHUNK_SIZE),
            service.create_collection("ru-english", chunk_size=CHUNK_SIZE)]
    yield service
    for collection in made:
        service.delete_collection(collection.id)


def indexed(rag_studio, service, name: str, pdf) -> list:
    job = wait_job(rag_studio, service.ingest(name, [pdf]).id)
    assert files_by_name(job)[pdf.name]["status"] == "indexed", job.result
    return service.documents(name)


def answered(service, name: str) -> list[bool]:
    """For each question: is the first chunk of a vector-only search (alpha=1) on its page, and its answer in the
    first two chunks? (The train page names two departures, morning and evening, each in a chunk of its own.)"""
    out = []
    for question, page, answer in QUESTIONS:
        hits = service.search(name, question, k=2, alpha=1.0)
        out.append(page in hits[0].pages and any(answer in " ".join(h.text.split()) for h in hits))
    return out


def unrelated_counted_relevant(service, name: str) -> list[bool]:
    """For questions the document does not answer: does its best chunk pass the model's relevance threshold?"""
    threshold = service.min_similarity(service.collection(name))
    return [service.search(name, question, k=1, alpha=1.0)[0].similarity >= threshold for question in UNRELATED]


def test_a_russian_pdf_is_found_with_the_multilingual_model_and_warned_about_with_the_english_one(
        rag_studio, collections, tmp_path):
    service = collections
    pdf = russian_pdf(tmp_path / "байкал.pdf")

    docs = indexed(rag_studio, service, "ru-multilingual", pdf)
    assert [d.meta["languages"] for d in docs] == [["ru"]]
    assert language_warning(service.collection("ru-multilingual").index.model, docs) is None
    assert service.count("ru-multilingual") >= 6
    assert answered(service, "ru-multilingual") == [True] * len(QUESTIONS)
    assert unrelated_counted_relevant(service, "ru-multilingual") == [False, False]

    docs = indexed(rag_studio, service, "ru-english", pdf)
    warning = language_warning(service.collection("ru-english").index.model, docs)
    assert warning is not None and warning.documents == {"байкал.pdf": ["ru"]}
    assert warning.suggestions[0] == "use-multilingual-v3"
    # What the warning is about: to the English model every Russian question looks related to the document
    # (cosine 0.34-0.41 over its threshold of 0.3), so the chat would answer from sources that say nothing.
    assert unrelated_counted_relevant(service, "ru-english") == [True, True]
