"""The refusals a person reads come in their language: each LoragError with a message key has that key in every
catalogue, the English catalogue says exactly what the engine says (the API keeps the engine's English), and the
page renders the Russian text from the real error's parameters."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.settings import Settings
from engine.studio import Studio
from engine.training.datasets import DatasetStore, load_dataset, read_records
from ui.errors import person_message
from ui.i18n import LANGUAGES, catalogue

ROOT = Path(__file__).resolve().parents[2]
BIG = 50 * 1024 * 1024


def keys_in_engine() -> set[str]:
    keys = set()
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LoragError":
                keys |= {kw.value.value for kw in node.keywords
                         if kw.arg in ("key", "hint_key") and isinstance(kw.value, ast.Constant)}
    return keys


def test_every_message_key_of_the_engine_is_in_every_catalogue():
    keys = keys_in_engine()
    assert len(keys) >= 30
    for language in LANGUAGES:
        assert sorted(k for k in keys if f"error.{k}" not in catalogue(language)) == [], language


def raised(call, *args) -> LoragError:
    with pytest.raises(LoragError) as info:
        call(*args)
    return info.value


def dataset_errors(tmp_path: Path) -> list[LoragError]:
    files = {"empty.jsonl": "", "broken.json": '[{"text": "a"},', "prose.jsonl": "hello\nworld\n",
             "table.csv": "a,b\n", "odd.jsonl": json.dumps({"question": "q", "answer": "a"}) + "\n",
             "info.json": json.dumps({"alpaca": {"file_name": "a.json", "columns": {"prompt": "instruction"}}})}
    errors = []
    for name, content in files.items():
        (tmp_path / name).write_text(content)
        errors.append(raised(load_dataset, tmp_path / name, name, BIG))
    (tmp_path / "latin.jsonl").write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    errors.append(raised(read_records, tmp_path / "latin.jsonl", "latin.jsonl", BIG))
    errors.append(raised(read_records, tmp_path / "odd.jsonl", "odd.jsonl", 10))
    errors.append(raised(DatasetStore(tmp_path / "datasets", BIG).get, "0" * 64))
    return errors


def test_the_english_catalogue_says_what_the_engine_says_and_russian_is_rendered_from_the_same_facts(tmp_path):
    errors = dataset_errors(tmp_path)
    assert all(exc.key for exc in errors), [str(exc) for exc in errors if not exc.key]
    ru = catalogue("ru")
    for exc in errors:
        assert person_message(exc, "en") == str(exc)
        russian = person_message(exc, "ru")
        assert russian.startswith(ru[f"error.{exc.key}"].format(**exc.params)), exc.key
        assert russian != str(exc)


def test_a_message_without_a_key_stays_as_the_engine_wrote_it():
    exc = LoragError("Something only the engine knows.", hint="Try again.")
    assert person_message(exc, "ru") == "Something only the engine knows. Try again."


def test_a_refusal_from_the_documents_store_in_russian(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    exc = raised(studio.rag.collection, "nowhere")
    assert str(exc) == "There is no collection 'nowhere'. Create it in the Documents tab."
    assert person_message(exc, "ru") == "Коллекции 'nowhere' нет. Создайте её во вкладке «Документы»."
