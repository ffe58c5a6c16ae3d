"""A person in a real browser: load the demo model from the Models tab, chat with a streamed reply, switch the
LoRA adapter between two messages (one adapter appears on disk while the page is open), reload the page and
find the chat, its replies and its adapter still there. Screenshots go to test-output/."""

from __future__ import annotations

import pytest

from tests.support.adapters import make_random_adapter
from tests.support.browser import open_tab
from tests.support.studio_process import StudioProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATS = "#chat-stats"

# Gradio selects the first tab as the page opens, at the same time as the page-load event. Holding back that
# select's answer makes it land last, the order that once reset the reopened chat's adapter under CI load.
HOLD_TAB_SELECT = """
const realFetch = window.fetch;
window.fetch = async (input, init) => {
  let body = null;
  try { body = JSON.parse(init?.body); } catch (e) {}
  const dep = (window.gradio_config?.dependencies || []).find(d => d.id === body?.fn_index);
  const response = await realFetch(input, init);
  if (dep?.api_name === "on_tab_select") {
    await new Promise(resolve => setTimeout(resolve, 1500));
    window.heldTabSelect = (window.heldTabSelect || 0) + 1;
  }
  return response;
};
"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smollm2_dir):
    data = tmp_path_factory.mktemp("e2e-chat") / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / smollm2_dir.name).symlink_to(smollm2_dir)    # the demo model, converted once per machine
    make_random_adapter(smollm2_dir, data / "adapters" / "pirate", seed=1, rank=8, scale=0.3,
                        base_label="SmolLM2-135M-Instruct")
    server = StudioProcess(data, args=["--no-weaviate"]).start()
    yield server
    server.stop()


def stats_text(page) -> str:
    return page.locator(STATS).inner_text()


def send(page, text: str) -> None:
    page.locator("#chat-input textarea").fill(text)
    page.locator("#chat-send").click()


def test_load_chat_switch_adapter_reload(studio, page, test_output, smollm2_dir):
    page.goto(studio.url, wait_until="load")
    page.locator("#chat-new").wait_for()

    open_tab(page, "Models")
    page.locator("#model-load").click()
    page.wait_for_function("() => document.querySelector('#model-progress')?.innerText?.includes('Loaded')",
                           timeout=120_000)
    page.get_by_text("Loaded: SmolLM2-135M-Instruct").wait_for()
    page.screenshot(path=str(test_output / "chat-1-model-loaded.png"), full_page=True)

    open_tab(page, "Chat")
    page.locator("#chat-new").click()
    page.get_by_text("Sampling").click()  # greedy, so the answer does not depend on the sampling draw
    page.locator("#chat-preset input").click()
    page.get_by_role("option", name="Deterministic (greedy)").click()
    page.wait_for_timeout(300)
    send(page, "What is the capital of France?")
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('generating')",
                           timeout=120_000)                                  # the reply is streaming
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('tok/s')", timeout=120_000)
    first_stats = stats_text(page)
    assert "adapter: none" in first_stats
    assert "Paris" in page.locator("#chatbot").inner_text()
    page.screenshot(path=str(test_output / "chat-2-first-reply.png"), full_page=True)

    # A new adapter lands on disk while the page is open (as training writes one): the dropdown lists it.
    make_random_adapter(smollm2_dir, studio.data_dir / "adapters" / "formal", seed=2, rank=8, scale=0.3,
                        base_label="SmolLM2-135M-Instruct")
    page.locator("#chat-adapter input").click()
    page.get_by_role("option", name="formal").click()
    page.wait_for_timeout(500)
    send(page, "And what is the capital of Germany?")
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('adapter: formal')",
                           timeout=120_000)
    page.screenshot(path=str(test_output / "chat-3-adapter-switched.png"), full_page=True)
    before_reload = page.locator("#chatbot").inner_text()

    page.add_init_script(HOLD_TAB_SELECT)
    page.reload(wait_until="load")
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('adapter: formal')",
                           timeout=120_000)
    page.wait_for_function("() => window.heldTabSelect >= 1", timeout=30_000)
    page.wait_for_timeout(1000)                                              # its answer, had it one, lands
    after_reload = page.locator("#chatbot").inner_text()
    assert "What is the capital of France?" in after_reload and "capital of Germany" in after_reload
    assert after_reload.strip() == before_reload.strip()
    assert page.locator("#chat-list").get_by_text("What is the capital of France?").count() == 1
    assert page.locator("#chat-adapter input").input_value() == "formal"
    page.screenshot(path=str(test_output / "chat-4-after-reload.png"), full_page=True)


def ensure_model_loaded(page) -> None:
    open_tab(page, "Models")
    if "Loaded: SmolLM2-135M-Instruct" not in page.locator("#models-status").inner_text():
        page.locator("#model-load").click()
        page.get_by_text("Loaded: SmolLM2-135M-Instruct").wait_for(timeout=120_000)
    open_tab(page, "Chat")


def test_edit_a_question_replaces_it_and_its_answer(studio, page, test_output):
    """Edit a sent question in place: the old question and its answer are gone, a new answer streams, and the
    edited chat is what a reload shows."""
    page.goto(studio.url, wait_until="load")
    page.locator("#chat-new").wait_for()
    ensure_model_loaded(page)
    page.locator("#chat-new").click()
    page.get_by_text("Sampling").click()
    page.locator("#chat-preset input").click()
    page.get_by_role("option", name="Deterministic (greedy)").click()
    page.wait_for_timeout(300)
    send(page, "What is the capital of France?")
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('tok/s')", timeout=120_000)
    assert "Paris" in page.locator("#chatbot").inner_text()

    question = page.locator("#chatbot").get_by_text("What is the capital of France?")
    question.hover()
    page.locator("#chatbot").get_by_role("button", name="Edit").first.click()
    page.locator("#chatbot textarea.edit-textarea").fill("What is the capital of Italy?")
    page.locator("#chatbot").get_by_role("button", name="Submit").click()
    page.wait_for_function("() => document.querySelector('#chatbot')?.innerText?.includes('Rome')", timeout=120_000)
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('tok/s')", timeout=120_000)
    edited = page.locator("#chatbot").inner_text()
    assert "capital of Italy" in edited
    assert "France" not in edited and "Paris" not in edited
    page.locator("#chat-list").get_by_text("What is the capital of Italy?").wait_for()   # its title follows
    page.screenshot(path=str(test_output / "chat-5-edited.png"), full_page=True)

    page.reload(wait_until="load")
    page.wait_for_function("() => document.querySelector('#chatbot')?.innerText?.includes('Rome')", timeout=120_000)
    assert "France" not in page.locator("#chatbot").inner_text()
