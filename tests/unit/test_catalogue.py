"""The page's texts: one catalogue per language with the same keys, and no visible component with a hard-coded
English text (each comes from the catalogue, so it shows in the person's language)."""

import re
import string
from dataclasses import fields

import gradio as gr
import pytest

from engine.fields import label_of
from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import TrainingConfig
from ui.app import build_app
from ui.i18n import LANGUAGES, best_language, catalogue, say

# Texts that are the same in every language: names, and one-word identifiers, ids, paths and metric names
# (top_p, hit@5, Qwen/Qwen3-0.6B).
UNTRANSLATED = re.compile(r"^(Lorag|Weaviate|JSON|GGUF|LoRA|MB|English|Русский|\S*[_@/.\d-]\S*)$")
# Lists of presets show each preset's own label and notes from presets/ (names of models and sampling recipes,
# data files): not texts of the page.
PRESET_LISTS = {"model-preset", "model-preset-notes", "chat-preset", "notebook-preset", "doc-model",
                "doc-reranker"}
# Tables whose columns are the names a file or a score has (question, answer, file, pages; exact, f1, mrr).
IDENTIFIER_COLUMNS = {"eval-table", "eval-gen-rows"}
TEXT_PROPS = ("label", "info", "placeholder")
VALUE_SHOWN = ("Markdown", "Button", "UploadButton", "DownloadButton")


def format_fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_is_in_every_language():
    keys = {language: set(catalogue(language)) for language in LANGUAGES}
    for language in LANGUAGES:
        assert keys[language] == keys["en"], (language, sorted(keys[language] ^ keys["en"]))


def test_no_text_is_empty_and_every_translation_fills_the_same_fields():
    english = catalogue("en")
    for language in LANGUAGES:
        for key, text in catalogue(language).items():
            assert text.strip(), (language, key)
            assert format_fields(text) == format_fields(english[key]), (language, key, text)


def hard_coded(text, prop: str = "") -> bool:
    """Not from the catalogue. Gradio does not translate Dataframe headers: ui.i18n.headers renders them per
    event, so a header counts as the catalogue's when it is one of its English texts."""
    if text is None or not isinstance(text, str) or "__i18n__" in text:
        return False
    if prop == "header" and text in catalogue("en").values():
        return False
    return bool(re.search("[A-Za-z]", text)) and not UNTRANSLATED.match(text.strip())


def shown_texts(block) -> list[tuple[str, object]]:
    """The texts a component shows as built; one whose value a page-load function fills (rendered per person
    with ui.i18n.say) shows that, not its build-time value."""
    if block.elem_id in PRESET_LISTS:
        return []
    texts = [(prop, getattr(block, prop, None)) for prop in TEXT_PROPS]
    name = type(block).__name__
    if name in VALUE_SHOWN and getattr(block, "load_event_to_attach", None) is None:
        texts.append(("value", block.value))
    if name == "Dataframe" and block.elem_id not in IDENTIFIER_COLUMNS:
        texts += [("header", header) for header in (block.value or {}).get("headers", [])]
    # A choice given as a bare value (sft, cuda, a recipe's name) shows the value a person also writes in a recipe
    # or a flag; a (label, value) choice shows a text.
    texts += [("choice", label) for label, value in getattr(block, "choices", None) or [] if label != value]
    return [(prop, str(text) if text is not None and not isinstance(text, str) else text) for prop, text in texts]


def test_the_training_form_shows_the_engine_s_own_field_texts_in_english():
    """The form's labels and help come from the catalogue, so the engine's help strings, written for the CLI and
    docs, have their English copy there: a changed help string fails here until the catalogue has it too."""
    english = catalogue("en")
    for field in fields(TrainingConfig):
        assert english[f"field.training.{field.name}.label"] == label_of(field)
        assert english[f"field.training.{field.name}.info"] == field.metadata["help"]


# Without Weaviate the Documents tab shows only a note, so the page is built both ways. The remote URL is never
# called while the page is built.
@pytest.fixture(scope="module", params=[{"no_weaviate": True}, {"weaviate_url": "http://127.0.0.1:9"}],
                ids=["no-weaviate", "weaviate"])
def app(tmp_path_factory, request):
    return build_app(Studio(Settings(data_dir=tmp_path_factory.mktemp("catalogue") / "data", **request.param)))


def test_no_visible_component_has_a_hard_coded_english_text(app):
    found = [f"{type(block).__name__} #{block.elem_id or block._id} {prop}: {text!r}"
             for block in app.blocks.values() for prop, text in shown_texts(block) if hard_coded(text, prop)]
    assert found == [], "\n".join(found)


def test_the_hard_coded_check_catches_an_english_label():
    with gr.Blocks() as blocks:
        gr.Textbox(label="Your name")
    assert [text for block in blocks.blocks.values() for _, text in shown_texts(block) if hard_coded(text)] == [
        "Your name"]


def test_a_table_and_a_message_render_in_the_language_asked_for():
    assert headers_in(["table.job.job", "table.job.eta"], "ru") == ["Задача", "Осталось"]
    assert say("status.model", "ru", model="Qwen3") == "Модель: Qwen3"
    assert say("status.model", "en", model="Qwen3") == "Model: Qwen3"


def headers_in(keys: list[str], language: str) -> list[str]:
    return [say(key, language) for key in keys]


@pytest.mark.parametrize(("header", "language"), [("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("en-US,en;q=0.9", "en"),
                                                  ("de-DE,de;q=0.9,ru;q=0.5", "ru"), ("fr", "en"), ("", "en")])
def test_the_browser_s_first_language_that_lorag_speaks(header, language):
    assert best_language(header) == language
