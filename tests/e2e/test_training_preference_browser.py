"""A person brings files from other tools to the Training tab: a ShareGPT file with its own column names and
LLaMA-Factory's dataset_info.json uploaded together, then a preference file trained with DPO, whose reward-margin
curve appears beside the loss curve."""

from __future__ import annotations

import json

import pytest

from tests.support.browser import open_tab


def write_rows(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


@pytest.mark.browser
def test_other_tools_files_and_dpo_from_the_training_tab(page, training_studio, tmp_path, test_output):
    support = write_rows(tmp_path / "support.jsonl", [{"dialog": [{"speaker": "customer", "text": "Where is it?"},
                                                                  {"speaker": "agent", "text": "On its way."}]}] * 3)
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"support": {"file_name": "support.jsonl", "formatting": "sharegpt",
                                            "columns": {"messages": "dialog"},
                                            "tags": {"role_tag": "speaker", "content_tag": "text",
                                                     "user_tag": "customer", "assistant_tag": "agent"}}}))
    page.goto(training_studio.url, wait_until="load")
    open_tab(page, "Training")
    upload = page.locator("#training-upload input[type=file]")
    upload.set_input_files([support, str(info)])
    report = page.locator("#training-report")
    report.get_by_text("3 of 3 rows are usable").wait_for(timeout=60_000)
    assert "entry support of the uploaded dataset_info.json" in report.inner_text()  # `support` shows as code

    preferences = write_rows(tmp_path / "prefs.jsonl", [
        {"conversations": [{"from": "human", "value": "What colour is the sky?"}],
         "chosen": {"from": "gpt", "value": "Blue."}, "rejected": {"from": "gpt", "value": "Green."}}] * 4)
    page.reload(wait_until="load")  # a fresh form, as when the person comes back later
    open_tab(page, "Training")
    upload.set_input_files(preferences)
    report.get_by_text("Preference (chosen / rejected)").wait_for(timeout=60_000)
    preview = page.locator("#lorag-training-preview")
    preview.locator("mark.lorag-rejected", has_text="Green.").first.wait_for(timeout=60_000)
    assert preview.locator("mark.lorag-trained", has_text="Blue.").count() >= 1
    page.screenshot(path=str(test_output / "training-preference-preview.png"), full_page=True)

    page.locator("#training-method").get_by_text("dpo", exact=True).click()
    page.get_by_placeholder("my-adapter").fill("prefs-dpo")
    page.locator("#training-max_steps input").fill("4")
    page.locator("#training-batch_size input").fill("2")
    page.locator("#training-validation_split input").fill("0")
    page.locator("#training-start").click()
    page.locator("#lorag-job-status[data-status=completed]").wait_for(timeout=300_000)
    page.wait_for_function("() => { const c = document.querySelector('#lorag-margin-curve');"
                           " return c && Number(c.dataset.trainPoints) >= 2; }", timeout=60_000)
    page.screenshot(path=str(test_output / "training-preference-dpo.png"), full_page=True)
    meta = json.loads((training_studio.data_dir / "adapters" / "prefs-dpo" / "lorag.json").read_text())
    assert meta["params"]["method"] == "dpo" and meta["dataset"]["format"] == "preference"
    assert "verdict" in meta["metrics"]
