"""Debian's Chromium driven by Playwright (never `playwright install`: it downloads a browser and fails here)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    path = os.environ.get("LORAG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError("Debian's chromium is missing: ./test.sh installs it (apt-get install chromium)")
    return path


@contextmanager
def launch_chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def failure_shot(page, path: Path) -> None:
    """A screenshot of a failed test's page, best effort: a page too busy to draw must not hide the failure."""
    try:
        page.bring_to_front()   # of two people's pages, the one behind may draw nothing to take
        page.screenshot(path=str(path), full_page=True, timeout=10_000)
    except Exception as exc:  # the test's own error is the one to see
        print(f"no failure screenshot {path.name}: {exc}")


def wait_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    """Wait until the element's visible text holds `text`."""
    page.wait_for_function("([sel, text]) => document.querySelector(sel)?.innerText?.includes(text)",
                           arg=[selector, text], timeout=timeout)


def short_answers(page) -> None:
    """Greedy and at most 40 new tokens in the Chat tab's sampling settings: short, repeatable answers."""
    page.locator("#tab-chat").get_by_text("Sampling").click()
    for label, value in (("Temperature (0 = greedy)", "0"), ("Max new tokens", "40")):
        box = page.locator("#tab-chat").get_by_label(f"number input for {label}", exact=True)
        box.fill(value)
        box.press("Enter")
    page.wait_for_timeout(300)


def open_tab(page, name: str) -> None:
    """Click a Gradio tab by its label and wait until its panel shows."""
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)


def create_collection(page, name: str, shared: bool | None = None):
    """Create a collection from the Documents tab; returns the tab's panel once its summary names it."""
    open_tab(page, "Documents")
    panel = page.locator("#tab-documents")
    forms = panel.locator("#doc-collection-forms")
    if not forms.get_by_label("New collection name").is_visible():
        forms.get_by_text("New collection, rename, delete").click()
    forms.get_by_label("New collection name").fill(name)
    if shared is not None:
        forms.get_by_label("Shared with everyone who signs in (else private to you)").set_checked(shared)
    forms.get_by_role("button", name="Create collection").click()
    if shared is None:
        panel.locator("#doc-summary").get_by_text(name).wait_for()
    return panel
