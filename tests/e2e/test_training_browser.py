"""A person fine-tunes an adapter in the browser: upload identity.json, see the format and the preview, start,
watch the loss curve, the adapter lands in data/adapters with its metadata and answers in the Chat tab."""

from __future__ import annotations

import json

import pytest

from tests.conftest import need_shared
from tests.support.browser import open_tab


@pytest.mark.browser
def test_fine_tune_from_the_training_tab(page, training_studio, test_output):
    identity = need_shared("datasets", "identity.json")
    page.goto(training_studio.url, wait_until="load")
    open_tab(page, "Training")
    page.locator("#training-upload input[type=file]").set_input_files(str(identity))

    report = page.locator("#training-report")
    report.get_by_text("Alpaca (instruction / input / output)").wait_for()
    assert "91 of 91 rows are usable" in report.inner_text()
    assert "{{name}}" in report.inner_text()  # the placeholders are pointed out
    preview = page.locator("#lorag-training-preview")
    preview.wait_for(timeout=60_000)
    assert preview.locator("mark.lorag-trained").count() >= 3
    assert "<|im_start|>assistant" in preview.inner_text()
    assert "median" in page.locator("#training-stats").inner_text()

    page.get_by_placeholder("name=Lorag, author=Me").fill("name=Lorag, author=the Lorag team")
    page.get_by_placeholder("name=Lorag, author=Me").press("Enter")
    preview.locator("mark.lorag-trained", has_text="I am Lorag").first.wait_for(timeout=60_000)
    page.screenshot(path=str(test_output / "training-1-preview.png"), full_page=True)

    assert page.get_by_placeholder("my-adapter").input_value() == "identity-lora"  # suggested from the file
    page.get_by_placeholder("my-adapter").fill("identity-browser")
    page.locator("#training-max_steps input").fill("6")
    page.locator("#training-batch_size input").fill("2")
    page.locator("#training-validation_split input").fill("0.1")
    page.locator("#training-show-config").click()
    config = page.locator("#training-config")
    config.get_by_text("identity-browser").first.wait_for()
    assert "max_steps: 6" in config.inner_text()

    page.locator("#training-start").click()
    page.wait_for_function("() => { const c = document.querySelector('#lorag-loss-curve');"
                           " return c && Number(c.dataset.trainPoints) >= 2; }", timeout=180_000)
    assert page.locator("#lorag-loss-curve svg circle.train-point").count() >= 2
    page.screenshot(path=str(test_output / "training-2-running.png"), full_page=True)

    page.locator("#lorag-job-status[data-status=completed]").wait_for(timeout=300_000)
    assert page.locator("#lorag-loss-curve svg circle.eval-point").count() >= 1
    assert "identity-browser" in page.locator("#training-jobs").inner_text()
    page.screenshot(path=str(test_output / "training-3-completed.png"), full_page=True)

    folder = training_studio.data_dir / "adapters" / "identity-browser"
    assert (folder / "adapter_model.safetensors").exists() and (folder / "adapter_config.json").exists()
    meta = json.loads((folder / "lorag.json").read_text())
    assert meta["source"] == "trained" and meta["dataset"]["format"] == "alpaca" and meta["dataset"]["rows"] == 91
    assert meta["params"]["placeholders"] == {"name": "Lorag", "author": "the Lorag team"}
    assert meta["params"]["max_steps"] == 6 and meta["metrics"]["steps"] == 6
    assert meta["chat_template"].startswith("{%- if tools %}")

    # The new adapter is usable in chat at once: load its base, pick it in the Chat tab, get an answer.
    open_tab(page, "Models")
    page.locator("#model-kind").get_by_text("Local folder").click()
    page.locator("#model-folder").locator("textarea, input").first.fill(
        str(training_studio.data_dir / "models" / "tiny-qwen3"))
    page.locator("#model-load").click()
    page.locator("#model-progress").get_by_text("Loaded").wait_for(timeout=120_000)
    open_tab(page, "Chat")
    page.locator("#chat-new").click()
    page.locator("#chat-adapter input").click()
    page.get_by_role("option", name="identity-browser").click()
    page.wait_for_timeout(500)
    page.locator("#chat-input textarea").fill("Who are you?")
    page.locator("#chat-send").click()
    page.wait_for_function("() => { const s = document.querySelector('#chat-stats')?.innerText || '';"
                           " return s.includes('tok/s') && s.includes('adapter: identity-browser'); }",
                           timeout=120_000)
    assert "Who are you?" in page.locator("#chatbot").inner_text()
    page.screenshot(path=str(test_output / "training-4-adapter-in-chat.png"), full_page=True)
