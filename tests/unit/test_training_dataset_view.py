"""What the Training tab says of an uploaded dataset, in the person's language: in English word for word the
engine's DatasetReport.summary(), in Russian from the same report (format, usable rows, problems, placeholders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.training.datasets import load_dataset
from engine.training.formats import FORMATS
from ui.i18n import LANGUAGES, catalogue
from ui.tabs.training_dataset_view import dataset_text

BIG = 50 * 1024 * 1024
ROWS = [{"messages": [{"role": "user", "content": "Hi {{name}}"}, {"role": "assistant", "content": "Hello"}]},
        {"messages": []}] + [{"instruction": "x"}] * 25


def report(tmp_path: Path, rows: list):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return load_dataset(path, "data.jsonl", BIG).report


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], [{"text": "plain"}], [{"prompt": "a", "completion": "b"}]])
def test_in_english_the_dataset_report_is_the_engine_s_summary(tmp_path, rows):
    loaded = report(tmp_path, rows)
    assert dataset_text(loaded) == loaded.summary()


def test_every_format_has_its_label_and_description_in_every_catalogue():
    for language in LANGUAGES:
        for key in FORMATS:
            assert f"training.format.{key}.label" in catalogue(language), (language, key)
            assert f"training.format.{key}.description" in catalogue(language), (language, key)
    for key, fmt in FORMATS.items():
        assert catalogue("en")[f"training.format.{key}.label"] == fmt.label
        assert catalogue("en")[f"training.format.{key}.description"] == fmt.description


def test_the_dataset_report_in_russian(tmp_path, monkeypatch):
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    text = dataset_text(report(tmp_path, ROWS))
    assert text.startswith("**data.jsonl**: распознан формат **Чат OpenAI (messages)** (`messages` с репликами")
    assert "Пригодно строк: 1 из 27." in text
    assert "Строк с ошибками: 26 (показаны первые 20):\n- line 2: " in text
    assert text.endswith("В строках есть подстановки {{name}}: заполните их ниже, иначе они обучатся как написаны.")


def plans():
    from engine.training.targets import LoraPlan

    return [LoraPlan({"q_proj": 28, "v_proj": 28}, 2_293_760, 596_049_920),
            LoraPlan({"in_proj_qkv": 18, "experts.gate_up_proj": 6}, 12_000_000, 2_000_000_000,
                     layer_types={"linear_attention": 18, "full_attention": 6},
                     memory={"LoRA (bf16 base)": 6_400_000_000, "QLoRA (4-bit base)": 2_900_000_000},
                     note="A note of the engine.")]


def test_the_lora_plan_in_english_is_the_engine_s_summary():
    from ui.tabs.training_dataset_view import lora_plan_text

    for plan in plans():
        assert lora_plan_text(plan) == plan.summary()


def test_the_lora_plan_in_russian(monkeypatch):
    from ui.tabs.training_dataset_view import lora_plan_text

    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    assert lora_plan_text(plans()[1]) == (
        "LoRA на 24 модулях (experts.gate_up_proj ×6, in_proj_qkv ×18): обучается 12,000,000 параметров, 0.60% из "
        "2.00 млрд. Слои: 6 full attention, 18 linear attention. Память: LoRA (база bf16) ≈ 6.4 ГБ; "
        "QLoRA (4-битная база) ≈ 2.9 ГБ. A note of the engine.")
