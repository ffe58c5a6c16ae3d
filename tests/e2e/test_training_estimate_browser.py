"""Before Start, a person asks how long the run will take: the form shows the tokens, the memory fit and the duration
from a calibration (its progress while it runs); asking again with other hyper-parameters answers from the cache."""

from __future__ import annotations

import pytest

from tests.conftest import need_shared
from tests.support.browser import open_tab, wait_text


@pytest.mark.browser
def test_the_form_estimates_time_and_memory(page, training_studio, test_output):
    identity = need_shared("datasets", "identity.json")
    page.goto(training_studio.url, wait_until="load")
    open_tab(page, "Training")
    page.locator("#training-upload input[type=file]").set_input_files(str(identity))
    page.locator("#training-report").get_by_text("Alpaca (instruction / input / output)").wait_for()
    page.locator("#training-max_steps input").fill("8")
    page.locator("#training-batch_size input").fill("2")
    page.locator("#training-max_length input").fill("128")

    page.locator("#training-estimate-button").click()
    wait_text(page, "#training-estimate", "Calibrating", timeout=120_000)  # a calibration job measures this machine
    wait_text(page, "#training-estimate", "calibrated just now", timeout=240_000)
    text = page.locator("#training-estimate").inner_text()
    assert "over 8 steps" in text and "trained" in text
    assert "LoRA (fp32 base)" in text and "QLoRA (4-bit base)" in text and "fits" in text
    assert "Estimated duration" in text
    page.screenshot(path=str(test_output / "training-estimate.png"), full_page=True)

    page.locator("#training-learning_rate input").fill("0.001")  # no effect on the speed: the cache answers
    page.locator("#training-estimate-button").click()
    wait_text(page, "#training-estimate", "from the cache", timeout=60_000)
    assert "Calibrating" not in page.locator("#training-estimate").inner_text()
