"""Qwen's prompts follow the page's language: a chat written on a Russian page gets a system prompt asking for
Russian, and its answers from documents get the rules, the sources and the question in Russian, with the same
[n] citations; an English page keeps the English prompts (and the model's own default system prompt). Rendered
with the real Qwen3 template and the real Qwen tokenizer."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from engine.chats import ChatStore
from engine.prompts import FOLDER, prompt
from engine.rag.answer import NOTHING_FOUND, RULES, Grounding, build_messages, cited
from engine.rag.types import Hit
from engine.store import Store
from tests.conftest import need_shared

HIT = Hit(chunk_id="c1", text="Байкал — самое глубокое озеро мира: 1642 метра.", filename="байкал.pdf",
          document_id="d1", pages=[3], section="География", score=1.0, similarity=0.9)


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen3):
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    tokenizer.chat_template = need_shared("fixtures", "chat-templates", "qwen3_nonthinking.jinja").read_text()
    return tokenizer


def rendered(tokenizer, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def test_every_language_has_every_prompt():
    import yaml

    english = set(yaml.safe_load((FOLDER / "en.yaml").read_text()))
    for path in FOLDER.glob("*.yaml"):
        assert set(yaml.safe_load(path.read_text())) == english, path.name


def test_answers_from_documents_are_asked_for_in_russian_and_cited_the_same_way(tokenizer):
    prompt_ru = rendered(tokenizer, build_messages("Какая глубина у Байкала?", [HIT], language="ru"))
    assert "<|im_start|>system\n" + prompt("rag_system", "ru") in prompt_ru
    assert "Отвечай на вопрос по-русски" in prompt_ru and "[1] или [2][3]" in prompt_ru
    assert "Источники:\n\n[1] (байкал.pdf, p. 3, раздел 'География')\nБайкал" in prompt_ru
    assert "Вопрос: Какая глубина у Байкала?<|im_end|>\n<|im_start|>assistant\n" in prompt_ru
    assert "Sources:" not in prompt_ru and RULES not in prompt_ru
    assert [c.filename for c in cited("Глубина — 1642 метра [1].", [HIT])] == ["байкал.pdf"]


def test_an_english_page_keeps_the_english_prompts(tokenizer):
    prompt_en = rendered(tokenizer, build_messages("How deep is Baikal?", [HIT]))
    assert RULES in prompt_en and "Sources:\n\n[1] (байкал.pdf, p. 3, section 'География')" in prompt_en
    assert "Question: How deep is Baikal?" in prompt_en and "Источники" not in prompt_en


def test_nothing_found_is_said_in_the_chat_s_language():
    assert Grounding.build("?", [], [], "озёра", language="ru").nothing_found.startswith(
        "В документах коллекции 'озёра' я не нашёл")
    assert Grounding.build("?", [], [], "lakes").nothing_found == NOTHING_FOUND.format(collection="lakes")


def test_a_chat_from_a_russian_page_asks_qwen_to_answer_in_russian(tmp_path, tokenizer):
    chats = ChatStore(Store(tmp_path / "lorag.sqlite"))
    russian = chats.create(settings={"language": "ru"})
    chats.append(russian.id, "user", "Привет! Что ты умеешь?")
    english = chats.create(settings={"language": "en"})
    chats.append(english.id, "user", "Hi! What can you do?")
    own = chats.create(settings={"language": "ru", "system_prompt": "Be brief."})
    chats.append(own.id, "user", "Привет")
    assert rendered(tokenizer, chats.history(russian.id)).startswith(
        "<|im_start|>system\n" + prompt("chat_system", "ru") + "<|im_end|>\n<|im_start|>user\nПривет!")
    assert rendered(tokenizer, chats.history(english.id)).startswith("<|im_start|>user\nHi!")
    assert chats.history(own.id)[0] == {"role": "system", "content": "Be brief."}
