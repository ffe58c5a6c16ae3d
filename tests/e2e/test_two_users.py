"""Two people signed in at once (two browser contexts) on one studio serving SmolLM2: each sees only their own
chats, even after a reload or when asking for the other's chat id, and only their own collections plus shared
ones; when both generate, the second sees their place in the model's line; past the rate limit the page says so.
Screenshots go to test-output/."""

from __future__ import annotations

import re

import pytest

from tests.support import browser
from tests.support.browser import failure_shot, open_tab
from tests.support.studio_process import StudioProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USERS = {"ann": "pw-ann-1", "bob": "pw-bob-2"}
STATS = "#chat-stats"


@pytest.fixture(scope="module")
def studio(tmp_path_factory, smollm2_dir):
    data = tmp_path_factory.mktemp("two-users") / "data"
    logins = ",".join(f"{u}:{p}" for u, p in USERS.items())
    server = StudioProcess(data, args=["--auth", logins, "--model", str(smollm2_dir), "--rate-limit", "3"]).start()
    yield server
    server.stop()


def sign_in(browser, url: str, user: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    page.locator("[data-testid=status-user]").wait_for()
    page.wait_for_function("() => document.querySelector('#chat-model')?.innerText?.includes('SmolLM2')",
                           polling=250)
    page.get_by_text("Sampling").click()                   # (after the page's load event filled the controls)
    return context, page


def set_sampling(page, max_tokens: int, temperature: float) -> None:
    for label, value in (("Max new tokens", max_tokens), ("Temperature (0 = greedy)", temperature)):
        box = page.get_by_label(f"number input for {label}")
        box.fill(str(value))
        box.press("Enter")
        page.wait_for_timeout(200)
        assert float(box.input_value()) == value


def send(page, text: str) -> None:
    page.bring_to_front()
    page.locator("#chat-input textarea").fill(text)
    page.locator("#chat-send").click()


def wait_stats(page, text: str, timeout: float = 120_000) -> None:
    page.wait_for_function(f"() => document.querySelector('{STATS}')?.innerText?.includes('{text}')",
                           timeout=timeout, polling=250)


TRACKER = "document.querySelector('#chatbot [data-testid=status-tracker]')"


def click_and_finish(page, selector: str) -> None:
    """Click, then wait until the chatbot's event has run (a click while one runs would be ignored)."""
    page.bring_to_front()
    page.locator(selector).click()
    try:
        page.wait_for_function(f"() => !{TRACKER}.classList.contains('hide')", timeout=10_000, polling=250)
    except Exception:  # noqa: BLE001 - it may have finished before we looked
        pass
    page.wait_for_function(f"() => {TRACKER}.classList.contains('hide')", timeout=120_000, polling=250)


def chat_titles(page) -> list[str]:
    return [label.strip() for label in page.locator("#chat-list label").all_inner_texts()]


def test_two_users_queue_privacy_and_rate_limit(studio, browser, test_output):
    ann_context, ann = sign_in(browser, studio.url, "ann")
    bob_context, bob = sign_in(browser, studio.url, "bob")
    failed = True
    try:
        set_sampling(ann, max_tokens=16, temperature=0)
        set_sampling(bob, max_tokens=16, temperature=0)
        # ann keeps the model busy: the Notebook continues a count (a raw completion that does not stop early)
        open_tab(ann, "Notebook")
        notebook = ann.locator("#tab-notebook")
        notebook.get_by_label("number input for Max new tokens").fill("400")
        notebook.get_by_label("number input for Max new tokens").press("Enter")
        ann.locator("#notebook-text textarea").fill("1, 2, 3, 4, 5, 6, 7, 8, 9, 10,")
        ann.locator("#notebook-generate").click()
        ann.wait_for_function("() => document.querySelector('#notebook-counts')?.innerText?.includes('generating')",
                              polling=250)

        send(bob, "What is the capital of France?")
        # bob sees his place in the model's line (the one API requests join too), not Gradio's page-only queue
        queued = bob.locator("#chatbot").get_by_text(re.compile(r"Waiting for the model: 1 request\(s\) ahead"))
        queued.first.wait_for(timeout=30_000)
        assert "Waiting for the model" in bob.locator(STATS).inner_text()
        bob.screenshot(path=str(test_output / "users-bob-queued.png"), full_page=True)
        ann.bring_to_front()   # a page behind another may draw no frames, and a click waits for one
        ann.locator("#notebook-stop").click()                         # ann stops; bob's turn comes
        wait_stats(bob, "tok/s")
        assert "Paris" in bob.locator("#chatbot").inner_text()

        open_tab(ann, "Chat")
        send(ann, "Name a colour.")
        wait_stats(ann, "tok/s")

        ann.reload()
        bob.reload()
        ann.locator("#chat-list label").first.wait_for()
        bob.locator("#chat-list label").first.wait_for()
        assert chat_titles(ann) == ["Name a colour."]
        assert chat_titles(bob) == ["What is the capital of France?"]
        assert "capital of France" not in ann.locator("#chatbot").inner_text()
        assert "colour" not in bob.locator("#chatbot").inner_text()
        ann.screenshot(path=str(test_output / "users-ann-own-chats.png"), full_page=True)
        for person in (ann, bob):  # the Notebook's text is kept per person too
            open_tab(person, "Notebook")
        ann.wait_for_function("() => document.querySelector('#notebook-text textarea')?.value?.startsWith('1, 2, 3')",
                              polling=250)
        assert "1, 2, 3" not in bob.locator("#notebook-text textarea").input_value()
        for person in (ann, bob):
            open_tab(person, "Chat")

        # Past the limit (3 a minute): bob's regenerations pass until three fall within one minute, and the next
        # is refused. Bob's first answer counts when it is under a minute old (on a slow machine it may not be).
        passed = 0
        while "Too many requests" not in bob.locator("#chat-stats").inner_text():
            assert passed <= 3, "four generations within a minute were not refused"
            click_and_finish(bob, "#chat-regenerate")
            passed += "Too many requests" not in bob.locator("#chat-stats").inner_text()
        assert passed >= 2, passed  # bob had one answer: at least two more passed before the refusal
        bob.get_by_text(re.compile("Too many requests: the limit is 3 generations per minute")).first.wait_for()
        assert "Too many requests" in bob.locator("#chat-stats").inner_text()
        send(bob, "And of Germany?")                                    # refused too; the text stays in the box
        bob.wait_for_timeout(1500)
        assert bob.locator("#chat-input textarea").input_value() == "And of Germany?"
        assert "capital of France" in bob.locator("#chatbot").inner_text()   # the chat stays on the page
        assert "Germany" not in bob.locator("#chatbot").inner_text()
        bob.screenshot(path=str(test_output / "users-bob-rate-limited.png"), full_page=True)
        failed = False
    finally:
        if failed:
            failure_shot(ann, test_output / "FAILED-users-ann.png")
            failure_shot(bob, test_output / "FAILED-users-bob.png")
        ann_context.close()
        bob_context.close()


def test_another_persons_chat_id_is_refused(studio):
    from gradio_client import Client

    ann = Client(studio.url, auth=("ann", USERS["ann"]), verbose=False)
    bob = Client(studio.url, auth=("bob", USERS["bob"]), verbose=False)
    ann_page = ann.predict(api_name="/on_page_load")
    ann_chat = ann_page[0]
    assert ann_chat                                                  # ann's chat from the test above
    try:
        seen = bob.predict(ann_chat, api_name="/pick_chat")
    except Exception as exc:                                          # refused by the list's own validation
        assert "not in the list of choices" in str(exc) or "no longer exists" in str(exc)
        return
    assert seen[0] is None and seen[2] == []                          # bob gets no chat, no messages


def create_collection(page, name: str, shared: bool) -> None:
    browser.create_collection(page, name, shared)


def collection_choices(page) -> list[str]:
    page.locator("#doc-collection input").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = sorted(t.strip().lstrip("✓").strip() for t in options.all_inner_texts())   # (✓ marks the chosen one)
    page.keyboard.press("Escape")
    return texts


def test_collections_are_private_unless_shared(studio, browser, test_output):
    ann_context, ann = sign_in(browser, studio.url, "ann")
    bob_context, bob = sign_in(browser, studio.url, "bob")
    try:
        create_collection(ann, "ann-notes", shared=False)
        ann.locator("#doc-summary").get_by_text("ann-notes").wait_for()
        create_collection(bob, "bob-papers", shared=True)
        bob.locator("#doc-summary").get_by_text("bob-papers").wait_for()
        ann.reload()
        bob.reload()
        for page in (ann, bob):
            page.locator("[data-testid=status-user]").wait_for()
            open_tab(page, "Documents")
        assert collection_choices(ann) == ["ann-notes (private)", "bob-papers (shared by bob)"]
        assert collection_choices(bob) == ["bob-papers (shared)"]
        ann.screenshot(path=str(test_output / "users-ann-collections.png"), full_page=True)

        # Names are per person: bob may have his own private "ann-notes"; ann sees "bob-papers", so she may not.
        create_collection(bob, "ann-notes", shared=False)
        bob.locator("#doc-summary").get_by_text("ann-notes").wait_for()
        assert collection_choices(bob) == ["ann-notes (private)", "bob-papers (shared)"]
        create_collection(ann, "bob-papers", shared=False)
        toast = ann.locator("[data-testid=toast-body]")
        toast.get_by_text("A collection named 'bob-papers' exists already.").wait_for()
        ann.wait_for_timeout(800)                                    # (the toast fades in)
        ann.screenshot(path=str(test_output / "users-ann-name-taken.png"))
        assert collection_choices(ann) == ["ann-notes (private)", "bob-papers (shared by bob)"]
    finally:
        ann_context.close()
        bob_context.close()
