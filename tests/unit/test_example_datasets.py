"""The Russian example dataset in presets/datasets: real OpenAI-format chat rows, every one usable, every one in
Russian, trained on the assistant's answers through the real Qwen3 template; the Training tab offers it without
an upload (stored once, by content)."""

from __future__ import annotations

import json
import re

from engine.settings import Settings
from engine.studio import Studio
from engine.training.datasets import load_dataset
from engine.training.encoding import Encoder
from engine.training.preview import analyze
from engine.training.service import EXAMPLES_DIR
from tests.unit.test_training_mask import tokenizer_of

RUSSIAN = EXAMPLES_DIR / "ru_everyday_assistant.jsonl"
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def test_every_row_is_a_russian_request_and_its_answer():
    rows = [json.loads(line) for line in RUSSIAN.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 30
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"]
        request, answer = (m["content"] for m in row["messages"])
        asked_for_english = request.startswith("Переведи на английский")
        assert CYRILLIC.search(request) and (asked_for_english or CYRILLIC.search(answer)), row
    assert len({row["messages"][0]["content"] for row in rows}) == len(rows)   # no repeated request


def test_the_loader_reads_it_as_chat_rows_and_trains_only_the_answers(tiny_qwen3):
    loaded = load_dataset(RUSSIAN, RUSSIAN.name, 1 << 20)
    assert loaded.report.format == "openai" and loaded.report.valid == loaded.report.records >= 30
    assert loaded.report.errors == []
    tok = tokenizer_of(tiny_qwen3)
    analysis = analyze(loaded.examples, Encoder(tok), max_length=512, preview_rows=1)
    assert analysis.error_count == 0 and analysis.stats.over_max_length == 0
    row = analysis.preview[0]
    trained = "".join(s.text for s in row.segments if s.trained)
    assert "ассистент Lorag" in trained and "Ты кто?" not in trained


def test_the_training_tab_offers_the_example_without_an_upload(tmp_path):
    training = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True)).training
    first = training.example_datasets()
    assert [d.filename for d in first] == [RUSSIAN.name]
    assert training.example_datasets() == first and len(training.stored_datasets()) == 1
    assert training.inspect(first[0].sha256).valid >= 30
