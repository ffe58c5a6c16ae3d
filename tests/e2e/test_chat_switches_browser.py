"""A person in a real browser with a Qwen3.8-templated model: "Keep earlier reasoning" and "Reasoning effort" show
in the Chat settings, are set, reach the prompt the model receives ("Show prompt"), and a reload keeps them.
Screenshots go to test-output/."""

from __future__ import annotations

import pytest

from tests.support.browser import short_answers, wait_text
from tests.support.studio_process import StudioProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATS = "#chat-stats"
PRESERVE = "#chat-preserve-thinking input"
EFFORT = "#chat-reasoning-effort input"


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen38):
    data = tmp_path_factory.mktemp("e2e-switches") / "data"
    server = StudioProcess(data, args=["--no-weaviate", "--model", str(tiny_qwen38)]).start()
    yield server
    server.stop()


def send_and_wait(page, text: str, before: str = "") -> str:
    """Send `text` and wait for its reply's stats line (a new one: the prompt's length differs); return it."""
    page.locator("#chat-input textarea").fill(text)
    page.locator("#chat-send").click()
    page.wait_for_function("old => { const s = document.querySelector('#chat-stats')?.innerText || '';"
                           " return s.includes('tok/s') && s !== old; }", arg=before, timeout=60_000)
    return page.locator(STATS).inner_text()


def test_template_switches_are_shown_sent_and_kept(studio, page, test_output):
    page.goto(studio.url, wait_until="load")
    page.locator(PRESERVE).wait_for()                         # shown: the template reads preserve_thinking
    page.locator(EFFORT).wait_for()                           # and reasoning_effort
    assert not page.locator(PRESERVE).is_checked() and page.locator(EFFORT).input_value() == "The model's default"
    page.locator(PRESERVE).check()
    page.locator(EFFORT).click()
    page.get_by_role("option", name="low", exact=True).click()
    short_answers(page)
    page.screenshot(path=str(test_output / "switches-1-set.png"), full_page=True)

    first = send_and_wait(page, "hi")                         # the random model's reply is all reasoning
    send_and_wait(page, "again", first)
    page.locator("#chat-show-prompt").click()
    wait_text(page, "#chat-prompt", "Reasoning effort is set to low")
    prompt = page.locator("#chat-prompt").inner_text()
    assert prompt.count("<think>") == 2, prompt               # the first reply's reasoning went back to the model
    page.screenshot(path=str(test_output / "switches-2-prompt.png"), full_page=True)

    page.reload(wait_until="load")
    wait_text(page, "#chat-list", "hi")
    page.wait_for_function(f"() => document.querySelector('{EFFORT}')?.value === 'low'", timeout=30_000)
    assert page.locator(PRESERVE).is_checked()
    page.screenshot(path=str(test_output / "switches-3-after-reload.png"), full_page=True)
