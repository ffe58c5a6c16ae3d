"""Dataset files: format detection on the files people really upload, validation by line number, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.training.datasets import DatasetStore, load_dataset, read_records
from tests.conftest import need_shared

BIG = 1 << 30


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("name, fmt, rows", [
    ("alpaca_en_demo.json", "alpaca", 999),
    ("identity.json", "alpaca", 91),
    ("glaive_toolcall_en_demo.json", "sharegpt", 300),
    ("c4_demo.jsonl", "text", 300),
])
def test_shared_datasets_are_detected_and_valid(name, fmt, rows):
    path = need_shared("datasets", name)
    loaded = load_dataset(path, name, BIG)
    assert loaded.report.format == fmt
    assert loaded.report.valid == rows and loaded.report.error_count == 0
    assert fmt.split("_")[0] in loaded.report.summary().lower() or "sharegpt" in loaded.report.summary().lower()


def test_glaive_tool_calls_become_assistant_tool_calls_and_tool_turns():
    loaded = load_dataset(need_shared("datasets", "glaive_toolcall_en_demo.json"), "glaive.json", BIG)
    example = loaded.examples[0]
    calls = [m for m in example.messages if m.get("tool_calls")]
    assert calls and calls[0]["tool_calls"][0]["function"]["name"] == "search_recipes"
    assert any(m["role"] == "tool" for m in example.messages)
    assert example.tools and example.tools[0]["name"] == "search_recipes"


def test_identity_placeholders_are_found_and_filled():
    path = need_shared("datasets", "identity.json")
    assert load_dataset(path, "identity.json", BIG).report.placeholders == ["author", "name"]
    filled = load_dataset(path, "identity.json", BIG, {"name": "Lorag", "author": "Me"})
    assert "Lorag" in filled.examples[0].messages[-1]["content"] and "{{" not in json.dumps(filled.examples[0].messages)


def test_openai_messages_with_tool_roles_and_content_parts(tmp_path):
    row = {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny."}],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {}}}]}
    loaded = load_dataset(write_jsonl(tmp_path / "chat.jsonl", [row]), "chat.jsonl", BIG)
    assert loaded.report.format == "openai" and loaded.report.valid == 1
    messages = loaded.examples[0].messages
    assert messages[1]["content"] == "Weather in Paris?"
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]


def test_each_format_is_detected(tmp_path):
    cases = {
        "openai": {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        "sharegpt": {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        "alpaca": {"instruction": "hi", "input": "", "output": "hello", "system": "s", "history": [["a", "b"]]},
        "prompt_completion": {"prompt": "2+2=", "completion": "4"},
        "text": {"text": "Some text."},
    }
    for fmt, row in cases.items():
        loaded = load_dataset(write_jsonl(tmp_path / f"{fmt}.jsonl", [row, row]), f"{fmt}.jsonl", BIG)
        assert loaded.report.format == fmt and loaded.report.valid == 2, fmt
    alpaca = load_dataset(tmp_path / "alpaca.jsonl", "alpaca.jsonl", BIG).examples[0].messages
    assert [m["role"] for m in alpaca] == ["system", "user", "assistant", "user", "assistant"]


def test_bad_rows_are_reported_by_line_number(tmp_path):
    good = {"instruction": "q", "input": "", "output": "a"}
    rows = [good, good, "{not json", good, {"instruction": "q", "input": ""}, "", {"instruction": "q", "output": ""},
            {"text": "other format"}, [1, 2], good]
    loaded = load_dataset(write_jsonl(tmp_path / "bad.jsonl", rows), "bad.jsonl", BIG)
    report = loaded.report
    assert report.valid == 4
    by_line = {e.line: e.reason for e in report.errors}
    assert set(by_line) == {3, 5, 7, 8, 9}  # line 6 is blank: skipped, not an error
    assert "not valid JSON" in by_line[3]
    assert "looks like no known format" in by_line[5] or "output" in by_line[5]
    assert "`output` is empty" in by_line[7]
    assert "plain text" in by_line[8]
    assert "line 3:" in report.summary()


def test_first_twenty_errors_shown_and_all_counted(tmp_path):
    rows = [{"text": "ok"}] + [{"text": ""} for _ in range(30)]
    report = load_dataset(write_jsonl(tmp_path / "many.jsonl", rows), "many.jsonl", BIG).report
    assert report.error_count == 30 and len(report.errors) == 20
    assert [e.line for e in report.errors] == list(range(2, 22))
    assert "first 20 shown" in report.summary()


def test_json_array_rows_get_their_line_numbers(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": ""},\n  {\n    "text": 5\n  }\n]\n')
    report = load_dataset(path, "rows.json", BIG).report
    assert {e.line: e.reason for e in report.errors} == {3: "`text` is empty", 4: "`text` must be a string"}


@pytest.mark.parametrize("name, content, message", [
    ("empty.jsonl", "", "is empty"),
    ("blank.json", "  \n\n", "is empty"),
    ("broken.json", '[{"text": "a"},', "not valid JSON"),
    ("object.json", '{"version": 1}', "no list of rows"),
    ("two-lists.json", '{"train": [{"text": "a"}], "test": [{"text": "b"}]}', "several lists"),
    ("prose.jsonl", "hello\nworld\n", "not JSON Lines"),
    ("table.csv", "a,b\n", ".jsonl"),
])
def test_unusable_files_get_clear_messages(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LoragError, match=message):
        load_dataset(path, name, BIG)


def test_unknown_format_and_non_utf8_and_oversize(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(LoragError, match="no row looks like a known format"):
        load_dataset(path, "odd.jsonl", BIG)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(LoragError, match="not UTF-8"):
        read_records(latin, "latin.jsonl", BIG)
    with pytest.raises(LoragError, match="limit is"):
        read_records(path, "odd.jsonl", 10)


def test_json_file_written_as_lines_is_read_as_lines(tmp_path):
    path = write_jsonl(tmp_path / "lines.json", [{"text": "a"}, {"text": "b"}])
    assert load_dataset(path, "lines.json", BIG).report.valid == 2


def test_store_is_content_addressed_and_lists_uploads(tmp_path):
    store = DatasetStore(tmp_path / "datasets", BIG)
    src = write_jsonl(tmp_path / "my data.jsonl", [{"text": "a"}])
    first = store.add(src, "my data.jsonl")
    again = store.add(src, "renamed.jsonl")
    assert first.sha256 == again.sha256 and first.filename == "my data.jsonl"
    assert len(list((tmp_path / "datasets").glob("*.jsonl"))) == 1
    assert [d.sha256 for d in store.list()] == [first.sha256]
    assert store.load(first.sha256).report.valid == 1
    with pytest.raises(LoragError, match="is empty"):
        store.add(write_jsonl(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(LoragError, match="no stored dataset"):
        store.get("../etc")
