"""The shapes people's files really have: role/content or from/value turns under `messages` or `conversations`,
other tools' role names, rows inside a top-level object, row-numbered problems in JSON arrays, preference files,
and LLaMA-Factory's dataset_info.json column mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.training.datasets import DatasetStore, load_dataset
from engine.training.encoding import Encoder
from engine.training.preview import analyze
from tests.conftest import need_shared

BIG = 1 << 30


def write(path: Path, rows) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def turns(style: tuple[str, str], *pairs: tuple[str, str]) -> list[dict[str, str]]:
    role, content = style
    return [{role: who, content: text} for who, text in pairs]


@pytest.mark.parametrize("field, style", [("conversations", ("role", "content")), ("messages", ("from", "value")),
                                          ("conversations", ("from", "value")), ("messages", ("role", "content"))])
def test_both_key_styles_under_both_list_names(tmp_path, field, style):
    rows = [{field: turns(style, ("system", "Be brief."), ("user", "hi"), ("assistant", "hello"))}] * 2
    loaded = load_dataset(write(tmp_path / "rows.jsonl", rows), "rows.jsonl", BIG)
    assert loaded.report.valid == 2 and loaded.report.error_count == 0, loaded.report.summary()
    assert [m["role"] for m in loaded.examples[0].messages] == ["system", "user", "assistant"]
    assert f"`{style[0]}`/`{style[1]}` keys" in loaded.report.summary()


def test_role_names_of_other_tools_are_mapped_and_named(tmp_path):
    call = json.dumps({"name": "weather", "arguments": {"city": "Paris"}})
    row = {"conversations": turns(("role", "content"), ("human", "Weather?"), ("function_call", call),
                                  ("observation", "sunny"), ("bot", "Sunny."), ("user", "And tomorrow?"),
                                  ("model", "Rain."), ("function", "{}"), ("gpt", "Still rain."))}
    loaded = load_dataset(write(tmp_path / "roles.jsonl", [row]), "roles.jsonl", BIG)
    messages = loaded.examples[0].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user", "assistant", "tool",
                                             "assistant"]
    assert messages[1]["tool_calls"][0]["function"] == {"name": "weather", "arguments": {"city": "Paris"}}
    summary = loaded.report.summary()
    for mapped in ("human → user", "gpt → assistant", "bot → assistant", "model → assistant", "observation → tool",
                   "function → tool", "function_call → assistant tool call"):
        assert mapped in summary


def test_an_unknown_speaker_names_the_turn_and_the_expected_roles(tmp_path):
    row = {"conversations": [{"role": "user", "content": "q"}, {"role": "narrator", "content": "a"}]}
    report = load_dataset(write(tmp_path / "odd.jsonl", [row]), "odd.jsonl", BIG).report
    assert "line 1: turn 2 is from 'narrator'; expected a role such as user / human" in str(report.errors[0])


def test_issue_file_with_role_content_conversations_is_fully_usable(tmp_path):
    """The issue: ShareGPT `conversations` with role/content keys gave '0 of N rows are usable: turn 1 is from None'."""
    rows = [{"conversations": [{"role": "user", "content": f"question {i}"},
                               {"role": "assistant", "content": f"answer {i}"}]} for i in range(5)]
    report = load_dataset(write(tmp_path / "hf.jsonl", rows), "hf.jsonl", BIG).report
    assert report.format == "sharegpt" and report.valid == 5 and "is from None" not in report.summary()


def test_the_preview_shows_the_mapped_roles_through_the_real_qwen3_template(tmp_path, tiny_qwen3):
    from transformers import AutoTokenizer

    row = {"conversations": [{"from": "human", "value": "What is LoRA?"}, {"from": "gpt", "value": "Low-rank."}]}
    loaded = load_dataset(write(tmp_path / "sg.jsonl", [row]), "sg.jsonl", BIG)
    analysis = analyze(loaded.examples, Encoder(AutoTokenizer.from_pretrained(tiny_qwen3)), 256)
    preview = analysis.preview[0]
    assert preview.renamed == ["human → user", "gpt → assistant"] and preview.place == "line 1"
    rendered = "".join(s.text for s in preview.segments)
    assert "<|im_start|>user\nWhat is LoRA?" in rendered
    assert "".join(s.text for s in preview.segments if s.trained).startswith("Low-rank.")


def test_rows_in_one_list_field_of_an_object_are_read_with_a_note_and_places(tmp_path):
    path = tmp_path / "wrapped.json"
    path.write_text('{"version": "1.0",\n "data": [\n  {"text": "a"},\n  {"text": ""},\n  {"text": "c"}\n ]\n}\n')
    report = load_dataset(path, "wrapped.json", BIG).report
    assert report.valid == 2 and report.records == 3
    assert "The rows are the `data` list of the file's top-level object (its other fields, version, are not used)." \
        in report.summary()
    assert [str(e) for e in report.errors] == ["row 2 (line 4): `text` is empty"]


def test_a_json_array_on_one_line_names_problems_by_row(tmp_path):
    """The issue: a one-line JSON array reported every problem as 'line 1'."""
    path = tmp_path / "oneline.json"
    rows = [{"instruction": "q", "output": "a"}, {"instruction": "q", "output": ""}, {"text": "x"},
            {"instruction": "q", "output": "a"}, 7]
    path.write_text(json.dumps(rows))
    report = load_dataset(path, "oneline.json", BIG).report
    assert [str(e) for e in report.errors] == ["row 2: `output` is empty",
                                               "row 3: this row looks like plain text, but the file is Alpaca",
                                               "row 5: a row must be a JSON object, not int"]
    assert "line 1" not in report.summary()


def test_a_multi_line_json_array_names_row_and_line(tmp_path):
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": 5}], indent=2))
    report = load_dataset(path, "pretty.json", BIG).report
    assert [str(e) for e in report.errors] == ["row 2 (line 5): `text` must be a string"]


def test_a_real_alpaca_array_with_a_broken_row_names_that_row(tmp_path):
    rows = json.loads(need_shared("datasets", "alpaca_en_demo.json").read_text())[:40]
    rows[26]["output"] = ""
    path = tmp_path / "alpaca40.json"
    path.write_text(json.dumps(rows, ensure_ascii=False))
    report = load_dataset(path, "alpaca40.json", BIG).report
    assert report.valid == 39 and [str(e) for e in report.errors] == ["row 27: `output` is empty"]


@pytest.mark.parametrize("shape", ["trl plain", "trl conversational", "trl implicit prompt", "LLaMA-Factory sharegpt",
                                   "LLaMA-Factory alpaca"])
def test_preference_files_are_recognised_not_read_as_sharegpt(tmp_path, shape):
    """The issue: a chosen/rejected file was read as ShareGPT and every row failed."""
    from tests.unit.test_training_preference import PREFERENCE_ROWS

    report = load_dataset(write(tmp_path / "pref.jsonl", [PREFERENCE_ROWS[shape]] * 3), "pref.jsonl", BIG).report
    assert report.format == "preference" and report.valid == 3 and report.error_count == 0, report.summary()
    assert "Preference (chosen / rejected)" in report.summary() and "dpo or orpo" in report.summary()


def test_dataset_info_columns_and_tags_are_honoured_in_either_upload_order(tmp_path):
    store = DatasetStore(tmp_path / "datasets", BIG)
    data = write(tmp_path / "support.jsonl", [{"dialog": [{"speaker": "customer", "text": "My order?"},
                                                           {"speaker": "agent", "text": "It ships today."}],
                                                "persona": "You are a support agent."}] * 3)
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"support": {
        "file_name": "support.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "dialog", "system": "persona"},
        "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "customer", "assistant_tag": "agent"}},
        "hub_only": {"hf_hub_url": "someone/else"}}))
    stored = store.add(data)
    with pytest.raises(LoragError, match="no row looks like a known format"):
        store.load(stored.sha256)
    again, notes = store.add_files([info])
    assert again is None and "support.jsonl" in notes[0]
    loaded = store.load(stored.sha256)
    assert loaded.report.valid == 3 and loaded.report.format == "sharegpt"
    assert [m["role"] for m in loaded.examples[0].messages] == ["system", "user", "assistant"]
    assert "entry `support` of the uploaded dataset_info.json" in loaded.report.summary()


def test_dataset_info_uploaded_with_real_alpaca_rows_under_other_column_names(tmp_path):
    rows = json.loads(need_shared("datasets", "alpaca_en_demo.json").read_text())[:20]
    renamed = [{"question": r["instruction"], "context": r["input"], "answer": r["output"]} for r in rows]
    data = tmp_path / "qa.json"
    data.write_text(json.dumps(renamed, indent=2))
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"qa": {"file_name": "data/qa.json",
                                       "columns": {"prompt": "question", "query": "context", "response": "answer"}}}))
    store = DatasetStore(tmp_path / "datasets", BIG)
    stored, notes = store.add_files([data, info])
    loaded = store.load(stored.sha256)
    assert loaded.report.format == "alpaca" and loaded.report.valid == 20 and notes
    assert loaded.examples[0].messages[-1]["content"] == rows[0]["output"]


def test_dataset_info_alone_through_add_is_refused_with_a_hint(tmp_path):
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"x": {"file_name": "x.json"}}))
    with pytest.raises(LoragError, match="dataset_info.json"):
        DatasetStore(tmp_path / "datasets", BIG).add(info)


def test_dataset_info_ranking_entries_read_preference_rows(tmp_path):
    """LLaMA-Factory's sharegpt preference entry with its own names for the columns."""
    store = DatasetStore(tmp_path / "datasets", BIG)
    data = write(tmp_path / "pairs.jsonl", [{"chat": [{"from": "human", "value": "2+2?"}],
                                             "good": {"from": "gpt", "value": "4"},
                                             "bad": {"from": "gpt", "value": "5"}}] * 2)
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"pairs": {"file_name": "pairs.jsonl", "formatting": "sharegpt", "ranking": True,
                                          "columns": {"messages": "chat", "chosen": "good", "rejected": "bad"}}}))
    stored, _ = store.add_files([data, info])
    loaded = store.load(stored.sha256)
    assert loaded.report.format == "preference" and loaded.report.valid == 2, loaded.report.summary()
    example = loaded.examples[0]
    assert example.messages == [{"role": "user", "content": "2+2?"}]
    assert example.chosen == [{"role": "assistant", "content": "4"}]
    assert example.rejected == [{"role": "assistant", "content": "5"}]
