"""A person runs a small matrix from the Evaluate tab: upload a set, pick {none, an adapter} x {no documents}, run,
read the table, open one question side by side, export CSV."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.adapters import make_random_adapter
from tests.support.browser import open_tab
from tests.support.rag import wait_for
from tests.support.studio_process import StudioProcess


@pytest.fixture
def eval_studio(tmp_path, smollm2_dir):
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / "smollm2").symlink_to(smollm2_dir, target_is_directory=True)
    make_random_adapter(smollm2_dir, data / "adapters" / "random-lora", scale=0.5, base_label=str(smollm2_dir))
    studio = StudioProcess(data, args=["--no-weaviate"]).start()
    yield studio
    studio.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_a_matrix_from_the_evaluate_tab(page, eval_studio, tmp_path, test_output):
    questions = tmp_path / "capitals.jsonl"
    questions.write_text("\n".join(json.dumps(r) for r in [
        {"id": "france", "question": "What is the capital of France?", "answer": "Paris"},
        {"id": "germany", "question": "What is the capital of Germany?", "answer": "Berlin"}]) + "\n")
    page.goto(eval_studio.url, wait_until="load")
    open_tab(page, "Evaluate")
    page.locator("#eval-upload input[type=file]").set_input_files(str(questions))
    page.locator("#eval-set-report").get_by_text("2 questions").wait_for()
    page.locator("#eval-adapters").get_by_text("random-lora").click()
    page.locator("#eval-max-tokens input").fill("12")
    page.locator("#eval-run").click()
    page.locator("#eval-run-status").get_by_text(re.compile("completed|failed|cancelled")).wait_for(timeout=300_000)
    assert "completed" in page.locator("#eval-run-status").inner_text(), page.locator("#eval-run-status").inner_text()
    table = page.locator("#eval-table")
    page.wait_for_function("() => document.querySelector('#eval-table').innerText"
                           ".includes('random-lora × no documents')")
    assert "none × no documents" in table.inner_text()
    assert page.locator("#eval-chart-bars .eval-bar[data-metric=contains]").count() == 2
    page.screenshot(path=str(test_output / "evaluate-1-table.png"), full_page=True)

    page.locator("#eval-question input").click()
    page.get_by_role("option", name="france: What is the capital of France?").click()
    view = page.locator("#eval-question-view")
    view.wait_for()
    assert view.locator(".eval-card").count() == 2
    assert "Reference: Paris" in view.inner_text()
    assert "PASS" in view.locator(".eval-card").first.inner_text()   # SmolLM2 knows Paris
    page.screenshot(path=str(test_output / "evaluate-2-question.png"), full_page=True)

    page.locator("#eval-export").click()
    run = next((eval_studio.data_dir / "jobs").glob("evaluate-*"))
    wait_for(lambda: (run / "results.json").exists(), timeout=60)
    page.wait_for_function("() => (document.querySelector('#eval-exports').textContent.match(/results/g) || [])"
                           ".length >= 2")   # Gradio splits a file's name into name and extension
    page.screenshot(path=str(test_output / "evaluate-3-exported.png"), full_page=True)
    assert "france" in (run / "results.csv").read_text()
